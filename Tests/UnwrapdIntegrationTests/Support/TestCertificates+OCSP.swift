import COpenSSL
import Foundation

/// OCSP responses for test certificates, for `ocsp-resp-file`.
///
/// Made as an operator makes them (hitch's documentation: `openssl ocsp ... -respout`): `openssl ocsp` writes a
/// request for the certificate, then answers it from an index that calls the certificate good or revoked, signed
/// by the intermediate CA that issued it, or by the client CA, which nothing trusts to speak for it (to fail
/// `ocsp-verify-staple`). A response whose nextUpdate has passed, which `openssl ocsp` cannot make, is built with
/// OpenSSL's OCSP functions.
extension TestCertificates {
    /// What the response says about the certificate.
    enum OCSPAnswer: String {
        case good = "V"
        case revoked = "R"
    }

    /// Who signs the response.
    enum OCSPSigner {
        /// The intermediate CA that issued the server certificates.
        case issuer
        /// The client CA: a valid signature, from a key no trust store accepts for these certificates.
        case untrusted
    }

    /// Writes `openssl ocsp`'s DER response for the certificate of `files` (issued by the intermediate CA) to
    /// `name` in the test directory; returns its path.
    func ocspResponse(
        for files: CertificateFiles, _ answer: OCSPAnswer = .good, signedBy signer: OCSPSigner = .issuer,
        name: String
    ) throws -> String {
        let request = directory.file("\(name).request")
        try CommandLineTools.openssl([
            "ocsp", "-issuer", intermediateFile, "-cert", files.certificateFile, "-no_nonce", "-reqout", request,
        ]).requireSuccess()
        return try answerOCSPRequest(in: request, for: files, answer, signedBy: signer, name: name)
    }

    /// Answers the DER OCSP request in the file `request` as a responder for the certificate of `files` would:
    /// `openssl ocsp` with an index that holds only that certificate, saying `answer`. Writes the DER response to
    /// `name` in the test directory; returns its path.
    func answerOCSPRequest(
        in request: String, for files: CertificateFiles, _ answer: OCSPAnswer, signedBy signer: OCSPSigner = .issuer,
        name: String
    ) throws -> String {
        let serialLine = try CommandLineTools.openssl(["x509", "-in", files.certificateFile, "-noout", "-serial"])
            .requireSuccess().stdoutText
        let serial = serialLine.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(
            of: "serial=", with: "")
        let revokedAt = answer == .revoked ? "240101000000Z" : ""
        let index = try directory.write(
            "\(answer.rawValue)\t491231235959Z\t\(revokedAt)\t\(serial)\tunknown\t/CN=\(files.commonName ?? "x")\n",
            to: "\(name).index")
        let (signerCertificate, signerKey) =
            switch signer {
            case .issuer: (authorities.intermediateCertificate, authorities.intermediateKey)
            case .untrusted: (authorities.clientCACertificate, authorities.clientCAKey)
            }
        let response = directory.file(name)
        try CommandLineTools.openssl([
            "ocsp", "-index", index, "-CA", intermediateFile, "-rsigner", signerCertificate, "-rkey", signerKey,
            "-reqin", request, "-respout", response, "-ndays", "7",
        ]).requireSuccess()
        return response
    }

    /// Writes a response calling the certificate of `files` good, signed by its issuer, whose nextUpdate was a day
    /// ago, to `name`; returns its path.
    func expiredOCSPResponse(for files: CertificateFiles, name: String) throws -> String {
        let certificate = try Self.readPEM(files.certificateFile) { PEM_read_bio_X509($0, nil, nil, nil) }
        defer { X509_free(certificate) }
        let issuer = try Self.readPEM(authorities.intermediateCertificate) { PEM_read_bio_X509($0, nil, nil, nil) }
        defer { X509_free(issuer) }
        let key = try Self.readPEM(authorities.intermediateKey) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        defer { EVP_PKEY_free(key) }

        let basic = OCSP_BASICRESP_new()
        defer { OCSP_BASICRESP_free(basic) }
        let id = OCSP_cert_to_id(nil, certificate, issuer)
        defer { OCSP_CERTID_free(id) }
        let thisUpdate = X509_gmtime_adj(nil, -2 * 86_400)
        let nextUpdate = X509_gmtime_adj(nil, -86_400)
        defer {
            ASN1_STRING_free(thisUpdate)
            ASN1_STRING_free(nextUpdate)
        }
        guard OCSP_basic_add1_status(basic, id, V_OCSP_CERTSTATUS_GOOD, 0, nil, thisUpdate, nextUpdate) != nil,
            OCSP_basic_sign(basic, issuer, key, EVP_sha256(), nil, 0) == 1,
            let response = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic)
        else { throw OCSPResponseError("build an expired OCSP response") }
        defer { OCSP_RESPONSE_free(response) }
        var der: UnsafeMutablePointer<UInt8>? = nil
        let length = i2d_OCSP_RESPONSE(response, &der)
        guard length > 0, let der else { throw OCSPResponseError("encode the OCSP response") }
        defer { CRYPTO_free(der, nil, 0) }
        return try directory.write(Array(UnsafeBufferPointer(start: der, count: Int(length))), to: name)
    }

    /// The first PEM object in `path`, read from a file BIO with `reader` (`PEM_read_bio_X509`, ...).
    private static func readPEM(_ path: String, _ reader: (OpaquePointer) -> OpaquePointer?) throws -> OpaquePointer {
        guard let bio = BIO_new_file(path, "r") else { throw OCSPResponseError("open \(path)") }
        defer { BIO_free(bio) }
        guard let object = reader(bio) else { throw OCSPResponseError("read \(path)") }
        return object
    }
}

/// Building an OCSP response with OpenSSL's functions failed.
struct OCSPResponseError: Error, CustomStringConvertible {
    let description: String
    init(_ what: String) { description = "could not \(what)" }
}
