import COpenSSL
import Glibc

/// When a served certificate is valid, checked as the configuration loads (at start, with `-t`, at every reload):
/// the operator reads in the daemon's log that a certificate expired, or expires within `warningDays`, or is not
/// valid yet, before clients refuse it. The certificate is served all the same, as hitch serves it.
struct CertificateValidity: Equatable {
    /// Seconds since the epoch.
    let notBefore: Int
    let notAfter: Int

    /// From how many days before it expires a certificate is named.
    static let warningDays = 14

    /// The validity of `certificate`; nil if OpenSSL cannot read its dates.
    init?(of certificate: OpaquePointer) {
        guard let notBefore = X509_get0_notBefore(certificate).flatMap(secondsSinceEpoch),
            let notAfter = X509_get0_notAfter(certificate).flatMap(secondsSinceEpoch)
        else { return nil }
        self.init(notBefore: notBefore, notAfter: notAfter)
    }

    init(notBefore: Int, notAfter: Int) {
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    /// What to tell the operator at `now` about the certificate of `path` (named `name`), or nil when it is valid
    /// for more than `warningDays`.
    func warning(at now: Int, path: String, name: String) -> String? {
        let subject = "pem-file \(path): the certificate (\(name))"
        if now >= notAfter { return "\(subject) expired at \(utcText(notAfter)); clients refuse it" }
        if now < notBefore { return "\(subject) is not valid before \(utcText(notBefore)); clients refuse it" }
        let days = (notAfter - now + 86_399) / 86_400
        guard days <= Self.warningDays else { return nil }
        return "\(subject) expires at \(utcText(notAfter)), in \(days) day\(days == 1 ? "" : "s")"
    }
}
