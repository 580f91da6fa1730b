import Foundation

/// The command-line TLS tools tests compare the daemon with or drive it by: `openssl` (s_client, verify, ...)
/// and `curl`, run to completion with stdin bytes and a timeout (`ProcessOutput`: status, stdout, stderr).
///
/// Remember that `openssl s_client` closes the connection when its stdin ends unless given `-ign_eof` (or
/// `-quiet`, which implies it): with `-ign_eof` it waits for the server to close.
enum CommandLineTools {
    /// The absolute path of `name` found in PATH; throws if it is not installed.
    static func locate(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw SystemCallError("\(name): not found in PATH (\(path)); install it (Debian: `make deps`)", errno: ENOENT)
    }

    /// `openssl ARGUMENTS...`.
    static func openssl(
        _ arguments: [String], stdin: [UInt8] = [], timeout: Duration = .seconds(10)
    ) throws -> ProcessOutput {
        try ProcessRunner.run(try locate("openssl"), arguments, stdin: stdin, timeout: timeout)
    }

    /// `openssl s_client -connect HOST:PORT [-servername NAME] EXTRA...` (e.g. `["-tls1"]`, `["-alpn", "h2"]`,
    /// `["-CAfile", ca, "-verify_return_error"]`), with `stdin` as what to send.
    static func opensslSClient(
        connectingTo endpoint: Endpoint,
        serverName: String? = nil,
        _ extra: [String] = [],
        stdin: [UInt8] = [],
        timeout: Duration = .seconds(10)
    ) throws -> ProcessOutput {
        var arguments = ["s_client", "-connect", endpoint.hostPort]
        if let serverName { arguments += ["-servername", serverName] }
        return try openssl(arguments + extra, stdin: stdin, timeout: timeout)
    }

    /// `curl ARGUMENTS...`.
    static func curl(_ arguments: [String], stdin: [UInt8] = [], timeout: Duration = .seconds(10)) throws
        -> ProcessOutput
    {
        try ProcessRunner.run(try locate("curl"), arguments, stdin: stdin, timeout: timeout)
    }

    /// `curl -sS --resolve NAME:PORT:ADDRESS https://NAME:PORT/PATH` trusting `caFile` (or `-k` without one):
    /// an HTTPS request to `endpoint` under the host name `name` (sent as SNI and Host).
    static func curlHTTPS(
        _ name: String,
        at endpoint: Endpoint,
        path: String = "/",
        caFile: String?,
        extra: [String] = [],
        timeout: Duration = .seconds(10)
    ) throws -> ProcessOutput {
        guard case .tcp(let host, let port) = endpoint else {
            throw SystemCallError("curlHTTPS needs a TCP endpoint, got \(endpoint)", errno: EINVAL)
        }
        let address = host.contains(":") ? "[\(host)]" : host
        var arguments = [
            "-sS", "--max-time", String(max(1, Int(timeout.seconds.rounded(.up)))),
            "--resolve", "\(name):\(port):\(address)",
        ]
        arguments += caFile.map { ["--cacert", $0] } ?? ["-k"]
        return try curl(arguments + extra + ["https://\(name):\(port)\(path)"], timeout: timeout + .seconds(2))
    }
}
