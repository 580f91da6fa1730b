import Foundation
import Synchronization

/// Certificates for one test, written into its directory with the `openssl` CLI: server PEM files (key +
/// certificate + chain, as hitch's `pem-file` wants) for DNS names, CN-only, wildcard, expired; client
/// certificates from a client CA and an untrusted self-signed one; and broken PEMs (key/certificate mismatch,
/// garbage). RSA-2048 or ECDSA P-256.
///
/// Server certificates are issued by an intermediate CA under a root (`caFile`): clients trust the root, so the
/// server must send the chain. Client certificates come from `clientCAFile`. The CAs and the RSA key are
/// created once per process (`CertificateAuthorities`); each leaf costs one or two `openssl` runs.
final class TestCertificates: Sendable {
    let directory: TestDirectory
    /// The root CA certificate: what clients trust (`TLSClientOptions.trustedCAFile`, curl `--cacert`).
    let caFile: String
    /// The intermediate CA certificate that issues server certificates.
    let intermediateFile: String
    /// The CA certificate that issues client certificates: what the daemon verifies clients against.
    let clientCAFile: String
    let authorities: CertificateAuthorities
    private let counter = Mutex(0)

    init(in directory: TestDirectory) throws {
        self.directory = directory
        authorities = try CertificateAuthorities.get()
        caFile = try TestCertificates.copy(authorities.rootCertificate, to: directory.file("ca.crt"))
        intermediateFile = try TestCertificates.copy(
            authorities.intermediateCertificate, to: directory.file("intermediate.crt"))
        clientCAFile = try TestCertificates.copy(authorities.clientCACertificate, to: directory.file("client-ca.crt"))
    }

    // MARK: - Servers

    /// A server certificate for `dnsNames` (subjectAltName), CN `commonName` (default: the first name), valid from
    /// now for `validDays`, naming `ocspResponder` (a URL) in its authorityInfoAccess if given, and demanding a
    /// stapled OCSP response ("OCSP Must-Staple") with `mustStaple`.
    func server(
        _ dnsNames: [String], commonName: String? = nil, keyType: KeyType = .ecdsaP256, validDays: Int = 30,
        ocspResponder: String? = nil, mustStaple: Bool = false
    ) throws -> CertificateFiles {
        let commonName = commonName ?? dnsNames.first
        return try leaf(
            named: commonName ?? "server", commonName: commonName, dnsNames: dnsNames, server: true,
            keyType: keyType, issuer: intermediate, days: validDays, ocspResponder: ocspResponder,
            mustStaple: mustStaple)
    }

    /// A server certificate with only a subject CN, no subjectAltName (older clients' matching rules).
    func serverWithoutSAN(commonName: String, keyType: KeyType = .ecdsaP256) throws -> CertificateFiles {
        try leaf(
            named: commonName, commonName: commonName, dnsNames: [], server: true, keyType: keyType,
            issuer: intermediate)
    }

    /// A wildcard certificate for `*.domain`.
    func wildcard(_ domain: String = "example.com", keyType: KeyType = .ecdsaP256) throws -> CertificateFiles {
        try server(["*.\(domain)"], keyType: keyType)
    }

    /// A server certificate that expired in February 2020.
    func expiredServer(_ dnsNames: [String], keyType: KeyType = .ecdsaP256) throws -> CertificateFiles {
        let base = fileBase("expired-\(dnsNames.first ?? "server")")
        let key = try makeKey(keyType, base: base)
        try OpenSSLCommands.issueExpired(
            subject: dnsNames.first,
            extensions: OpenSSLCommands.leafExtensions(server: true, keyType: keyType, dnsNames: dnsNames),
            key: key, issuer: intermediate, to: base + ".crt", configDirectory: directory.path)
        return try assemble(
            base: base, key: key, chain: intermediateFile, commonName: dnsNames.first,
            dnsNames: dnsNames)
    }

    /// A self-signed server certificate no client trusts.
    func selfSignedServer(_ dnsNames: [String], keyType: KeyType = .ecdsaP256) throws -> CertificateFiles {
        try leaf(
            named: "self-signed-\(dnsNames.first ?? "server")", commonName: dnsNames.first,
            dnsNames: dnsNames, server: true, keyType: keyType, issuer: nil)
    }

    // MARK: - Clients

    /// A client certificate with CN `commonName` (and `dnsNames` as subjectAltNames), issued by `clientCAFile`.
    func client(commonName: String, keyType: KeyType = .ecdsaP256, dnsNames: [String] = []) throws -> CertificateFiles {
        try leaf(
            named: "client-\(commonName)", commonName: commonName, dnsNames: dnsNames, server: false,
            keyType: keyType, issuer: (authorities.clientCACertificate, authorities.clientCAKey))
    }

    /// A self-signed client certificate: no CA the daemon knows issued it.
    func untrustedClient(commonName: String, keyType: KeyType = .ecdsaP256) throws -> CertificateFiles {
        try leaf(
            named: "untrusted-client-\(commonName)", commonName: commonName, dnsNames: [], server: false,
            keyType: keyType, issuer: nil)
    }

    // MARK: - Broken PEMs

    /// A PEM file whose private key does not belong to its certificate; returns its path.
    func mismatchedKeyPEM(name: String = "mismatch.pem") throws -> String {
        let first = try server(["mismatch-a.example"])
        let second = try server(["mismatch-b.example"])
        let pem =
            try String(contentsOfFile: second.keyFile, encoding: .utf8)
            + String(contentsOfFile: first.certificateFile, encoding: .utf8)
            + String(contentsOfFile: intermediateFile, encoding: .utf8)
        return try directory.write(pem, to: name)
    }

    /// A file that looks like PEM but is not; returns its path.
    func garbagePEM(name: String = "garbage.pem") throws -> String {
        try directory.write(
            """
            -----BEGIN PRIVATE KEY-----
            this is not base64 at all !!!
            -----END PRIVATE KEY-----
            -----BEGIN CERTIFICATE-----
            MIIBnotAcertificate====
            -----END CERTIFICATE-----

            """, to: name)
    }

    // MARK: - Checking

    /// `openssl verify` of `files` against `caFile` (default: the server root), with its chain as untrusted
    /// intermediates; `purpose` e.g. "sslserver"/"sslclient". Returns the output (status 0: verified).
    func verify(_ files: CertificateFiles, caFile: String? = nil, purpose: String? = nil) throws -> ProcessOutput {
        var arguments = ["verify", "-CAfile", caFile ?? self.caFile]
        if let chain = files.chainFile { arguments += ["-untrusted", chain] }
        if let purpose { arguments += ["-purpose", purpose] }
        return try CommandLineTools.openssl(arguments + [files.certificateFile])
    }

    // MARK: - Helpers

    private var intermediate: (certificate: String, key: String) {
        (authorities.intermediateCertificate, authorities.intermediateKey)
    }

    private func leaf(
        named name: String, commonName: String?, dnsNames: [String], server: Bool, keyType: KeyType,
        issuer: (certificate: String, key: String)?, days: Int = 30, ocspResponder: String? = nil,
        mustStaple: Bool = false
    ) throws -> CertificateFiles {
        let base = fileBase(name)
        let key = try makeKey(keyType, base: base)
        try OpenSSLCommands.issue(
            subject: commonName,
            extensions: OpenSSLCommands.leafExtensions(
                server: server, keyType: keyType, dnsNames: dnsNames, ocspResponder: ocspResponder,
                mustStaple: mustStaple),
            key: key, issuer: issuer, days: days, to: base + ".crt", configDirectory: directory.path)
        let chain = issuer?.certificate == authorities.intermediateCertificate ? intermediateFile : nil
        return try assemble(base: base, key: key, chain: chain, commonName: commonName, dnsNames: dnsNames)
    }

    /// A fresh ECDSA key, or a copy of the process's RSA key.
    private func makeKey(_ type: KeyType, base: String) throws -> String {
        let key = base + ".key"
        switch type {
        case .ecdsaP256: try OpenSSLCommands.generateKey(.ecdsaP256, to: key)
        case .rsa2048: _ = try TestCertificates.copy(authorities.rsaLeafKey, to: key)
        }
        return key
    }

    private func assemble(
        base: String, key: String, chain: String?, commonName: String?, dnsNames: [String]
    ) throws -> CertificateFiles {
        let certificate = base + ".crt"
        var pem =
            try String(contentsOfFile: key, encoding: .utf8) + String(contentsOfFile: certificate, encoding: .utf8)
        if let chain { pem += try String(contentsOfFile: chain, encoding: .utf8) }
        try pem.write(toFile: base + ".pem", atomically: false, encoding: .utf8)
        return CertificateFiles(
            keyFile: key, certificateFile: certificate, chainFile: chain, pemFile: base + ".pem",
            commonName: commonName, dnsNames: dnsNames)
    }

    /// A unique file name stem in the directory, from `name` made file-safe ("*.example.com" → "wild.example.com").
    private func fileBase(_ name: String) -> String {
        let number = counter.withLock { value in
            value += 1
            return value
        }
        let safe = name.replacingOccurrences(of: "*", with: "wild")
            .map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }
        return directory.file("\(String(safe))-\(number)")
    }

    private static func copy(_ source: String, to target: String) throws -> String {
        try? FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: source, toPath: target)
        return target
    }
}
