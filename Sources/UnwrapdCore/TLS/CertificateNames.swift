import COpenSSL
import CUnwrapdShims

/// The names a certificate answers to for SNI: its subjectAltName DNS entries, or its subject CN when it has none
/// (RFC 6125), lowercased.
enum CertificateNames {
    /// The names of the certificate loaded into `context`.
    static func of(context: OpaquePointer, path: String) throws(StartupError) -> [String] {
        guard let certificate = SSL_CTX_get0_certificate(context) else {
            throw .invalid("pem-file \(path): no certificate found")
        }
        var names: [String] = []
        withUnsafeMutablePointer(to: &names) { pointer in
            _ = unwrapd_x509_visit_dns_names(certificate, collectName, pointer)
        }
        return names
    }
}

/// `unwrapd_x509_visit_dns_names` visitor: appends one name to the `[String]` behind `context`.
private func collectName(_ name: UnsafePointer<CChar>?, _ length: Int32, _ context: UnsafeMutableRawPointer?) {
    guard let name, let context, length > 0 else { return }
    let bytes = UnsafeRawBufferPointer(start: name, count: Int(length))
    let text = String(decoding: bytes, as: UTF8.self).lowercased()
    context.assumingMemoryBound(to: [String].self).pointee.append(text)
}
