import COpenSSL
import Glibc

/// An ASN.1 time (a certificate's validity, an OCSP response's nextUpdate) in seconds since the epoch; nil if
/// OpenSSL cannot read it.
func secondsSinceEpoch(_ time: UnsafePointer<ASN1_TIME>) -> Int? {
    var parts = tm()
    guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
    return timegm(&parts)
}
