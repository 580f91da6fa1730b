import COpenSSL
import CUnwrapdShims
import Glibc

/// The TLS session's details as the PROXY v2 TLVs report them, read from OpenSSL without copying: ALPN, SNI,
/// version, cipher, and the client certificate (presence, verification, CN, and optionally its PEM).
enum TLSProxyDetails {
    /// Calls `body` with a `ProxyV2Connection` whose views point into OpenSSL's memory (and a stack buffer for
    /// the CN); they are valid only during the call.
    static func withConnection<Result>(
        ssl: OpaquePointer, source: SocketAddress, destination: SocketAddress, includeAuthority: Bool,
        includeCertificatePEM: Bool,
        _ body: (ProxyV2Connection) -> Result
    ) -> Result {
        var connection = ProxyV2Connection(source: source, destination: destination)
        var alpn: UnsafePointer<UInt8>? = nil
        var alpnLength: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &alpn, &alpnLength)
        if let alpn { connection.alpn = UnsafeRawBufferPointer(start: alpn, count: Int(alpnLength)) }
        if includeAuthority { connection.authority = view(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) }
        connection.tlsVersion = view(SSL_get_version(ssl))
        if let cipher = SSL_get_current_cipher(ssl) { connection.cipher = view(SSL_CIPHER_get_name(cipher)) }

        guard let certificate = SSL_get0_peer_certificate(ssl) else { return body(connection) }
        connection.clientFlags =
            unwrapd_SSL_session_reused(ssl) != 0
            ? [.ssl, .certificateInSession] : [.ssl, .certificateInConnection, .certificateInSession]
        connection.verifyResult = UInt32(truncatingIfNeeded: SSL_get_verify_result(ssl))
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { name in
            let length = unwrapd_x509_subject_common_name(certificate, name.baseAddress, Int32(name.count))
            if length > 0 {
                connection.clientCommonName = UnsafeRawBufferPointer(start: name.baseAddress, count: Int(length))
            }
            guard includeCertificatePEM else { return body(connection) }
            return withPEM(of: certificate) { pem in
                connection.clientCertificatePEM = pem
                return body(connection)
            }
        }
    }

    /// The certificate in PEM, in a memory BIO that lives for the call.
    private static func withPEM<Result>(
        of certificate: OpaquePointer, _ body: (UnsafeRawBufferPointer?) -> Result
    ) -> Result {
        guard let bio = BIO_new(BIO_s_mem()) else { return body(nil) }
        defer { BIO_free(bio) }
        guard PEM_write_bio_X509(bio, certificate) == 1 else { return body(nil) }
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = unwrapd_BIO_get_mem_data(bio, &data)
        return body(data.map { UnsafeRawBufferPointer(start: $0, count: length) })
    }

    private static func view(_ text: UnsafePointer<CChar>?) -> UnsafeRawBufferPointer? {
        text.map { UnsafeRawBufferPointer(start: $0, count: strlen($0)) }
    }
}
