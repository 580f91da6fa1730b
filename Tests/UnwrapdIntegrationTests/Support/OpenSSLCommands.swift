import Foundation

/// The `openssl` invocations behind the test PKI: key generation and certificate issuance from a small config
/// file per certificate (so extensions are exactly what the test asked for, not the system openssl.cnf's).
enum OpenSSLCommands {
    static let rootCAExtensions = [
        "basicConstraints = critical, CA:TRUE", "keyUsage = critical, keyCertSign, cRLSign",
        "subjectKeyIdentifier = hash",
    ]
    static let intermediateCAExtensions = [
        "basicConstraints = critical, CA:TRUE, pathlen:0", "keyUsage = critical, keyCertSign, cRLSign",
        "subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid:always",
    ]

    /// Extensions of a leaf certificate: TLS server or client, with optional DNS subjectAltNames.
    static func leafExtensions(
        server: Bool, keyType: KeyType, dnsNames: [String], ocspResponder: String? = nil, mustStaple: Bool = false
    ) -> [String] {
        var extensions = [
            "basicConstraints = critical, CA:FALSE",
            "keyUsage = critical, digitalSignature" + (keyType == .rsa2048 ? ", keyEncipherment" : ""),
            "extendedKeyUsage = " + (server ? "serverAuth" : "clientAuth"),
            "subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid",
        ]
        if !dnsNames.isEmpty {
            extensions.append("subjectAltName = " + dnsNames.map { "DNS:\($0)" }.joined(separator: ", "))
        }
        if let ocspResponder { extensions.append("authorityInfoAccess = OCSP;URI:\(ocspResponder)") }
        if mustStaple { extensions.append("tlsfeature = status_request") }
        return extensions
    }

    /// Writes a new private key (PKCS#8 PEM).
    static func generateKey(_ type: KeyType, to path: String) throws {
        let parameters =
            switch type {
            case .rsa2048: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
            case .ecdsaP256: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
            }
        try run("generate a \(type) key", ["genpkey"] + parameters + ["-out", path])
    }

    /// Issues a certificate for `key` with subject CN `subject` (nil: no CN, only O), signed by `issuer`
    /// (certificate, key) or self-signed, valid from now for `days`.
    static func issue(
        subject: String?, extensions: [String], key: String, issuer: (certificate: String, key: String)?,
        days: Int, to path: String, configDirectory: String
    ) throws {
        let config = try writeConfig(subject: subject, extensions: extensions, for: path, in: configDirectory)
        var arguments = ["req", "-x509", "-new", "-config", config, "-key", key, "-days", String(days), "-out", path]
        if let issuer { arguments += ["-CA", issuer.certificate, "-CAkey", issuer.key] }
        try run("issue \(path)", arguments)
    }

    /// Issues a certificate valid only in January 2020 (expired), through `openssl ca`, the one command of
    /// OpenSSL 3.0 that takes explicit validity dates.
    static func issueExpired(
        subject: String?, extensions: [String], key: String, issuer: (certificate: String, key: String),
        to path: String, configDirectory: String
    ) throws {
        let config = try writeConfig(subject: subject, extensions: extensions, for: path, in: configDirectory)
        let request = path + ".csr"
        try run("make a request for \(path)", ["req", "-new", "-config", config, "-key", key, "-out", request])
        let database = path + ".index"
        try "".write(toFile: database, atomically: false, encoding: .utf8)
        let caConfig = path + ".ca.cnf"
        try """
        [ca]
        default_ca = test_ca
        [test_ca]
        database = \(database)
        new_certs_dir = \(configDirectory)
        rand_serial = yes
        default_md = sha256
        policy = any_policy
        unique_subject = no
        copy_extensions = none
        [any_policy]
        organizationName = optional
        commonName = optional

        """.write(toFile: caConfig, atomically: false, encoding: .utf8)
        try run(
            "issue expired \(path)",
            [
                "ca", "-batch", "-notext", "-config", caConfig, "-cert", issuer.certificate, "-keyfile", issuer.key,
                "-in", request, "-out", path, "-startdate", "200101000000Z", "-enddate", "200201000000Z",
                "-extfile", config, "-extensions", "ext",
            ])
    }

    private static func writeConfig(
        subject: String?, extensions: [String], for path: String, in directory: String
    ) throws -> String {
        let config = path + ".cnf"
        let commonName = subject.map { "CN = \($0)\n" } ?? ""
        try """
        [req]
        distinguished_name = dn
        prompt = no
        x509_extensions = ext
        [dn]
        O = unwrapd tests
        \(commonName)[ext]
        \(extensions.joined(separator: "\n"))

        """.write(toFile: config, atomically: false, encoding: .utf8)
        return config
    }

    private static func run(_ what: String, _ arguments: [String]) throws {
        do {
            try CommandLineTools.openssl(arguments, timeout: .seconds(30)).requireSuccess()
        } catch let failure as ProcessFailure {
            throw CertificateError(what: what, failure: failure)
        }
    }
}

/// Creating a test certificate failed; the message holds the openssl command and its stderr.
struct CertificateError: Error, CustomStringConvertible {
    let what: String
    let failure: ProcessFailure
    var description: String { "could not \(what): \(failure)" }
}
