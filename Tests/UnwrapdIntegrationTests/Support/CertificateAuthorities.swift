import Foundation
import Glibc
import Synchronization

/// The costly, shareable part of the test PKI, created once per test process with the `openssl` CLI: a root
/// CA, an intermediate CA under it (server certificates are issued by the intermediate, so a server must send
/// its chain), a separate client CA, and one RSA-2048 key reused by every RSA leaf certificate (RSA key
/// generation is the slow step). Kept in a private directory removed when the process exits.
struct CertificateAuthorities: Sendable {
    let directory: String
    let rootCertificate: String
    let rootKey: String
    let intermediateCertificate: String
    let intermediateKey: String
    let clientCACertificate: String
    let clientCAKey: String
    let rsaLeafKey: String

    private static let shared = Mutex<CertificateAuthorities?>(nil)

    /// The process's authorities, created on first use (other callers wait for the first one).
    static func get() throws -> CertificateAuthorities {
        try shared.withLock { cached in
            if let cached { return cached }
            let created = try create()
            cached = created
            return created
        }
    }

    private static func create() throws -> CertificateAuthorities {
        var template = Array("/tmp/unwrapd-pki-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SystemCallError("mkdtemp(/tmp/unwrapd-pki-XXXXXX)")
        }
        let directory = String(cString: made)
        chmod(directory, 0o755)
        removeAtExit(directory)
        let file = { (name: String) in "\(directory)/\(name)" }

        try OpenSSLCommands.generateKey(.ecdsaP256, to: file("root.key"))
        try OpenSSLCommands.issue(
            subject: "unwrapd test root CA", extensions: OpenSSLCommands.rootCAExtensions,
            key: file("root.key"), issuer: nil, days: 3650, to: file("root.crt"), configDirectory: directory)

        try OpenSSLCommands.generateKey(.ecdsaP256, to: file("intermediate.key"))
        try OpenSSLCommands.issue(
            subject: "unwrapd test intermediate CA", extensions: OpenSSLCommands.intermediateCAExtensions,
            key: file("intermediate.key"), issuer: (file("root.crt"), file("root.key")), days: 3650,
            to: file("intermediate.crt"), configDirectory: directory)

        try OpenSSLCommands.generateKey(.ecdsaP256, to: file("client-ca.key"))
        try OpenSSLCommands.issue(
            subject: "unwrapd test client CA", extensions: OpenSSLCommands.rootCAExtensions,
            key: file("client-ca.key"), issuer: nil, days: 3650, to: file("client-ca.crt"),
            configDirectory: directory)

        try OpenSSLCommands.generateKey(.rsa2048, to: file("rsa-leaf.key"))
        return CertificateAuthorities(
            directory: directory, rootCertificate: file("root.crt"), rootKey: file("root.key"),
            intermediateCertificate: file("intermediate.crt"), intermediateKey: file("intermediate.key"),
            clientCACertificate: file("client-ca.crt"), clientCAKey: file("client-ca.key"),
            rsaLeafKey: file("rsa-leaf.key"))
    }

    private static let directoryToRemove = Mutex<String?>(nil)

    private static func removeAtExit(_ directory: String) {
        directoryToRemove.withLock { $0 = directory }
        atexit {
            if let directory = CertificateAuthorities.directoryToRemove.withLock({ $0 }) {
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
    }
}
