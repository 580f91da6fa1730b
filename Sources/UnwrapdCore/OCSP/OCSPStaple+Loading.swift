import COpenSSL
import CUnwrapdShims
import Glibc

extension OCSPStaple {
    /// Reads the response at `path` for the certificate loaded into `context` and checks it: a DER OCSP response
    /// the responder answered successfully, holding a status for this very certificate (found through the
    /// certificate that issued it, which the PEM file's chain must hold), and with `verify` (`ocsp-verify-staple`)
    /// signed by a responder that chains to the system's trust store (`SSL_CERT_FILE`, `SSL_CERT_DIR`, as hitch).
    /// Any of these failing is a one-line error naming the files. A certificate the response calls revoked or
    /// unknown, and a response already past its nextUpdate, are logged; the last is never sent.
    static func load(
        from path: String, for context: OpaquePointer, certificatePath: String, verify: Bool
    ) throws(StartupError) -> UnsafeMutablePointer<OCSPStaple> {
        let origin = "pem-file \(certificatePath): ocsp-resp-file \(path)"
        let bytes: [UInt8]
        do {
            bytes = try readFile(path)
        } catch {
            throw .system(
                SystemError("pem-file \(certificatePath): ocsp-resp-file: cannot read", path, code: error.code))
        }
        let status = try check(bytes, for: context, certificatePath: certificatePath, origin: origin, verify: verify)
        if status.code != V_OCSP_CERTSTATUS_GOOD {
            Log.error("\(origin): the response calls the certificate \(status.text); it is stapled as it is")
        }
        let response = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        response.copyBytes(from: bytes)
        let staple = UnsafeMutablePointer<OCSPStaple>.allocate(capacity: 1)
        staple.initialize(to: OCSPStaple(response: response, nextUpdate: status.nextUpdate, path: path))
        _ = staple.pointee.isCurrentOrLogged(at: time(nil))  // an expired one is named now, not by each worker
        return staple
    }

    /// Checks `bytes` as the OCSP response for the certificate loaded into `context`: a DER OCSP response the
    /// responder answered successfully, holding a status for this very certificate (found through the certificate
    /// that issued it, which the PEM file's chain must hold), and with `verify` signed by a responder that chains to
    /// the system's trust store. Returns that status; a failed check is a one-line error starting with `origin`.
    static func check(
        _ bytes: [UInt8], for context: OpaquePointer, certificatePath: String, origin: String, verify: Bool
    ) throws(StartupError) -> OCSPCertificateStatus {
        let parsed: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_OCSP_RESPONSE(nil, &cursor, buffer.count)
        }
        guard let parsed, bytes.count > 0 else {
            ERR_clear_error()
            throw .invalid("\(origin): not a DER-encoded OCSP response")
        }
        defer { OCSP_RESPONSE_free(parsed) }
        let responseStatus = OCSP_response_status(parsed)
        guard responseStatus == OCSP_RESPONSE_STATUS_SUCCESSFUL, let basic = OCSP_response_get1_basic(parsed) else {
            let answer = String(cString: OCSP_response_status_str(Int(responseStatus)))
            throw .invalid("\(origin): the responder answered \"\(answer)\", not a certificate status")
        }
        defer { OCSP_BASICRESP_free(basic) }
        guard let certificate = SSL_CTX_get0_certificate(context) else {
            throw .invalid("pem-file \(certificatePath): no certificate found")
        }
        let chain = unwrapd_SSL_CTX_get0_chain_certs(context)
        guard let issuer = issuer(of: certificate, in: chain) else {
            throw .invalid(
                "\(origin): the PEM file holds no certificate that issued its own, which tells whether the response "
                    + "is for it (add the chain)")
        }
        guard let status = OCSPCertificateStatus(of: certificate, issuedBy: issuer, in: basic) else {
            throw .invalid("\(origin): the response holds no status for this certificate")
        }
        if verify {
            let store = X509_STORE_new()
            defer { X509_STORE_free(store) }
            guard X509_STORE_set_default_paths(store) == 1, OCSP_basic_verify(basic, chain, store, 0) == 1 else {
                throw .openSSL(OpenSSLError("\(origin): ocsp-verify-staple: the response does not verify"))
            }
        }
        ERR_clear_error()
        return status
    }

    /// The certificate in `chain` that issued `certificate`.
    static func issuer(of certificate: OpaquePointer, in chain: OpaquePointer?) -> OpaquePointer? {
        guard let chain else { return nil }
        for index in 0..<OPENSSL_sk_num(chain) {
            guard let candidate = OPENSSL_sk_value(chain, index).map(OpaquePointer.init) else { continue }
            if X509_check_issued(candidate, certificate) == X509_V_OK { return candidate }
        }
        return nil
    }
}

/// What an OCSP response says about one certificate.
struct OCSPCertificateStatus {
    /// `V_OCSP_CERTSTATUS_GOOD`, `_REVOKED` or `_UNKNOWN`.
    let code: Int32
    /// Its nextUpdate in seconds since the epoch, if it has one.
    let nextUpdate: Int?

    /// "good", "revoked" or "unknown".
    var text: String { String(cString: OCSP_cert_status_str(Int(code))) }

    /// The status `response` holds for `certificate`, looked up by its certificate ID with SHA-1 (what responders
    /// and `openssl ocsp` use by default) or SHA-256; nil if it holds none.
    init?(of certificate: OpaquePointer, issuedBy issuer: OpaquePointer, in response: OpaquePointer) {
        for digest in [EVP_sha1(), EVP_sha256()] {
            guard let id = OCSP_cert_to_id(digest, certificate, issuer) else { continue }
            defer { OCSP_CERTID_free(id) }
            var code: Int32 = -1
            var reason: Int32 = -1
            var nextUpdate: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>? = nil
            guard OCSP_resp_find_status(response, id, &code, &reason, nil, nil, &nextUpdate) == 1 else { continue }
            self.code = code
            self.nextUpdate = nextUpdate.flatMap { secondsSinceEpoch($0) }
            return
        }
        ERR_clear_error()
        return nil
    }
}
