import COpenSSL
import CUnwrapdShims

/// The DER-encoded OCSP request for the certificate of a context: one certificate ID (SHA-1, what responders index
/// by), found through the issuer in the PEM file's chain, and no nonce, as hitch and `openssl ocsp -no_nonce`
/// send it: CAs answer from pre-signed responses, which a nonce would defeat.
enum OCSPRequest {
    static func der(for context: OpaquePointer) throws(OCSPFetchError) -> [UInt8] {
        guard let certificate = SSL_CTX_get0_certificate(context),
            let issuer = OCSPStaple.issuer(of: certificate, in: unwrapd_SSL_CTX_get0_chain_certs(context))
        else { throw .request("the PEM file holds no certificate that issued its own (add the chain)") }
        guard let request = OCSP_REQUEST_new() else { throw .request("OCSP_REQUEST_new failed") }
        defer { OCSP_REQUEST_free(request) }
        guard let id = OCSP_cert_to_id(nil, certificate, issuer) else {
            throw .request("OCSP_cert_to_id failed")
        }
        guard OCSP_request_add0_id(request, id) != nil else {
            OCSP_CERTID_free(id)
            throw .request("OCSP_request_add0_id failed")
        }
        var der: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_OCSP_REQUEST(request, &der)
        guard length > 0, let der else { throw .request("i2d_OCSP_REQUEST failed") }
        defer { CRYPTO_free(der, nil, 0) }
        return Array(UnsafeBufferPointer(start: der, count: Int(length)))
    }
}
