import Foundation

/// `openssl s_server` on loopback and a kernel-chosen port: the real TLS peer the kit's own client is tested
/// against. Started through `DaemonProcess` (its stdin is /dev/null, so use a mode that does not read stdin:
/// `-rev` echoes each line reversed, `-www` answers HTTP GET with a status page). Ready when it prints
/// "ACCEPT host:port" (s_server has no readiness signal, so this polls its output).
final class OpenSSLServer {
    let process: DaemonProcess
    let endpoint: Endpoint

    init(
        certificate: CertificateFiles, _ arguments: [String], in directory: TestDirectory, host: String = "127.0.0.1"
    ) throws {
        var certificateArguments = ["-cert", certificate.certificateFile, "-key", certificate.keyFile]
        if let chain = certificate.chainFile { certificateArguments += ["-cert_chain", chain] }
        let accept = host.contains(":") ? "[\(host)]:0" : "\(host):0"
        process = try DaemonProcess(
            ["s_server", "-accept", accept] + certificateArguments + arguments, in: directory,
            executable: try CommandLineTools.locate("openssl"))
        let line = try process.waitForLog(containing: "ACCEPT ").first!
        guard let port = line.split(separator: ":").last.flatMap({ UInt16($0) }) else {
            throw SystemCallError("no port in s_server's \"\(line)\"", errno: EINVAL)
        }
        endpoint = .tcp(host: host, port: port)
    }

    deinit { process.kill() }

    var port: UInt16 { endpoint.port! }

    /// What s_server printed so far (stdout and stderr).
    var output: String { process.stdout + process.stderr }

    func stop() { process.kill() }
}
