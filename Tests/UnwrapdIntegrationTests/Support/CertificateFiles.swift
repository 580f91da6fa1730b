/// A private key and certificate written by `TestCertificates`, as separate files and as the one PEM file
/// hitch's `pem-file` wants (key, then certificate, then chain).
struct CertificateFiles: Sendable {
    let keyFile: String
    /// The certificate alone.
    let certificateFile: String
    /// The intermediate certificates that chain it to its root (empty file name when self-signed/none).
    let chainFile: String?
    /// Key + certificate + chain in one file.
    let pemFile: String
    /// The subject CN (nil when the certificate has none).
    let commonName: String?
    /// The subjectAltName DNS names (empty when the certificate has no SAN).
    let dnsNames: [String]
}

/// The kind of key a test certificate gets.
enum KeyType: Sendable, CustomStringConvertible {
    case rsa2048
    case ecdsaP256

    var description: String {
        switch self {
        case .rsa2048: "RSA-2048"
        case .ecdsaP256: "ECDSA P-256"
        }
    }
}
