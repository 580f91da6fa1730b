import COpenSSL
import CUnwrapdShims

/// What the kit reads from an X.509 certificate: enough to tell which certificate a server presented.
struct CertificateSummary: Sendable, Equatable {
    /// Subject CN (nil without one).
    let commonName: String?
    /// subjectAltName DNS entries (empty without SAN).
    let dnsNames: [String]
    /// Issuer CN.
    let issuerCommonName: String?

    /// Reads `certificate` (an `X509*`, not consumed).
    init(_ certificate: OpaquePointer) {
        commonName = CertificateSummary.commonName(of: X509_get_subject_name(certificate))
        issuerCommonName = CertificateSummary.commonName(of: X509_get_issuer_name(certificate))
        var names: [String] = []
        if let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) {
            let stack = OpaquePointer(raw)
            for index in 0..<OPENSSL_sk_num(stack) {
                guard let entry = OPENSSL_sk_value(stack, index)?.assumingMemoryBound(to: GENERAL_NAME.self),
                    entry.pointee.type == GEN_DNS, let name = entry.pointee.d.dNSName,
                    let bytes = ASN1_STRING_get0_data(name)
                else { continue }
                names.append(
                    String(
                        decoding: UnsafeBufferPointer(start: bytes, count: Int(ASN1_STRING_length(name))), as: UTF8.self
                    ))
            }
            GENERAL_NAMES_free(stack)
        }
        dnsNames = names
    }

    /// Reads the first certificate in the PEM file at `path`; nil if there is none.
    init?(file path: String) {
        guard let bio = BIO_new_file(path, "r") else { return nil }
        defer { BIO_free(bio) }
        guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else {
            OpenSSLErrorQueue.clear()
            return nil
        }
        defer { X509_free(certificate) }
        self.init(certificate)
    }

    private static func commonName(of name: OpaquePointer?) -> String? {
        guard let name else { return nil }
        var buffer = [CChar](repeating: 0, count: 256)
        let length = X509_NAME_get_text_by_NID(name, NID_commonName, &buffer, Int32(buffer.count))
        guard length >= 0 else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

extension TLSTestClient {
    /// The certificate the server presented (after the handshake).
    var peerCertificate: CertificateSummary? {
        guard let certificate = SSL_get1_peer_certificate(opaqueSSL) else { return nil }
        defer { X509_free(certificate) }
        return CertificateSummary(certificate)
    }

    /// Subject CN of the server's certificate.
    var peerCommonName: String? { peerCertificate?.commonName }
    /// subjectAltName DNS names of the server's certificate.
    var peerDNSNames: [String] { peerCertificate?.dnsNames ?? [] }

    /// Every certificate the server sent, leaf first (shows whether it sent its chain).
    var peerChain: [CertificateSummary] {
        guard let stack = SSL_get_peer_cert_chain(opaqueSSL) else { return [] }
        return (0..<OPENSSL_sk_num(stack)).compactMap { index in
            OPENSSL_sk_value(stack, index).map { CertificateSummary(OpaquePointer($0)) }
        }
    }
}
