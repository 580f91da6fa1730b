import COpenSSL

/// The session ID context of a server context: a SHA-256 digest of what a resumed session skips, that is the
/// certificate that authenticated the server and the client-verification policy (mode and trusted CAs).
///
/// OpenSSL resumes a session (session ID or ticket, TLS 1.2 and 1.3) only in an `SSL` whose session ID context
/// equals the one the session was made in, and a resumption checks no client certificate. With one context for all,
/// a client that got a session where no certificate is asked for resumed it where one is required, and reached the
/// backend without one. With this digest a session resumes only under the same certificate and the same policy;
/// elsewhere the client gets a full handshake. Being a digest, not a counter, it names the same thing in every
/// worker and in every run of the same configuration.
enum SessionIDContext {
    /// Sets the session ID context of `context`, after its certificate and client verification are in place.
    static func install(in context: OpaquePointer, clientVerify: ClientVerify) throws(StartupError) {
        var digest = try self.digest(of: context, clientVerify: clientVerify)
        guard SSL_CTX_set_session_id_context(context, &digest, UInt32(digest.count)) == 1 else {
            throw .openSSL(OpenSSLError("set the session ID context"))
        }
    }

    /// SHA-256 over a label, the certificate (DER), the verification mode and, when clients are verified, every
    /// certificate the context trusts for them (DER); each part length-prefixed. 32 bytes, OpenSSL's maximum.
    static func digest(of context: OpaquePointer, clientVerify: ClientVerify) throws(StartupError) -> [UInt8] {
        guard let hash = EVP_MD_CTX_new() else { throw .openSSL(OpenSSLError("create a SHA-256 context")) }
        defer { EVP_MD_CTX_free(hash) }
        guard EVP_DigestInit_ex(hash, EVP_sha256(), nil) == 1 else {
            throw .openSSL(OpenSSLError("start a SHA-256 digest"))
        }
        func add(_ part: [UInt8]) {
            var length = UInt32(part.count).bigEndian
            _ = EVP_DigestUpdate(hash, &length, 4)
            _ = EVP_DigestUpdate(hash, part, part.count)
        }
        add(Array("unwrapd session ID context 1".utf8))
        add(der(of: SSL_CTX_get0_certificate(context)))
        add(Array(clientVerify.rawValue.utf8))
        if clientVerify != .none, let store = SSL_CTX_get_cert_store(context),
            let objects = X509_STORE_get0_objects(store)
        {
            for index in 0..<OPENSSL_sk_num(objects) {
                let object = OpaquePointer(OPENSSL_sk_value(objects, index))
                if let certificate = X509_OBJECT_get0_X509(object) { add(der(of: certificate)) }
            }
        }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(hash, &digest, &length) == 1, Int(length) == Int(SSL_MAX_SID_CTX_LENGTH) else {
            throw .openSSL(OpenSSLError("finish a SHA-256 digest"))
        }
        return Array(digest.prefix(Int(length)))
    }

    /// The DER encoding of `certificate` (empty for none).
    private static func der(of certificate: OpaquePointer?) -> [UInt8] {
        guard let certificate else { return [] }
        let length = i2d_X509(certificate, nil)
        guard length > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            _ = i2d_X509(certificate, &cursor)
        }
        return bytes
    }
}
