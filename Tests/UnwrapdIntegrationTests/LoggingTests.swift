import Foundation
import Glibc
import Testing

/// What the operator reads: one line per failed handshake naming the client, the frontend and the reason; the
/// levels (`-q`, `-L 0`, `-L 2`); `-l FILE` instead of stderr.
///
/// A worker writes a connection's line before it closes the connection, so once a client has seen the close, the
/// line is there or will never be: absence is checked without waiting.
@Suite struct LoggingTests {
    /// How a test client fails its handshake, and what the logged reason must say.
    enum FailedHandshake: String, CaseIterable, CustomStringConvertible {
        /// Plain HTTP to the TLS port.
        case plainHTTP
        /// A TLS client that offers only TLS 1.1 (the daemon accepts 1.2 and 1.3).
        case oldProtocol

        var description: String { rawValue }

        /// A fragment of OpenSSL's reason text.
        var reason: String {
            switch self {
            case .plainHTTP: "http request"
            case .oldProtocol: "unsupported protocol"
            }
        }

        /// Fails a handshake against `fixture`; returns the client's port.
        func provoke(_ fixture: RelayFixture) throws -> UInt16 {
            switch self {
            case .plainHTTP:
                return try fixture.failHandshake()
            case .oldProtocol:
                let client = try TLSTestClient(
                    port: fixture.port, options: TLSClientOptions(serverName: "a.example", maxVersion: .tls11))
                defer { client.close() }
                let port = try Sockets.localPort(of: client.fd)
                #expect(throws: TLSClientError.self) { try client.handshake() }
                // The handshake failed on our side at the daemon's alert; wait for the daemon's close too.
                var byte: UInt8 = 0
                _ = try Sockets.waitFor(client.fd, events: Int16(POLLIN), deadline: .after(.seconds(5)))
                while recv(client.fd, &byte, 1, 0) > 0 {}
                return port
            }
        }
    }

    @Test(arguments: FailedHandshake.allCases)
    func aFailedHandshakeIsOneLineWithClientFrontendAndReason(_ failure: FailedHandshake) throws {
        let fixture = try RelayFixture("log-default")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon()
        defer { daemon.kill() }

        let clientPort = try failure.provoke(fixture)
        let lines = daemon.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 1, "stderr: \(daemon.stderr)")
        let line = lines.first ?? ""
        let prefix = "[127.0.0.1]:\(clientPort) on \(fixture.frontendName): TLS handshake failed: "
        #expect(line.contains(prefix), "\(line)")
        #expect(line.contains(failure.reason), "\(line)")
        #expect(
            line.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z unwrapd\[\d+\]: "#, options: .regularExpression)
                != nil)
        #expect(daemon.stdout.isEmpty, "stdout: \(daemon.stdout)")
        #expect(fixture.backend.acceptedCount == 0)
    }

    /// `-q` is hitch's "be quiet": a client's failed handshake is not worth a line (hitch 1.7.2 logs none with `-q`).
    /// Fails at present: unwrapd maps `-q` to log level 1, its default, so `-q` changes nothing.
    @Test func quietLogsNothingForAFailedHandshake() throws {
        let fixture = try RelayFixture("log-quiet")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["-q"])
        defer { daemon.kill() }

        let clientPort = try fixture.failHandshake()
        #expect(daemon.logLines(containing: "[127.0.0.1]:\(clientPort) ").isEmpty, "log: \(daemon.stderr)")
        #expect(try fixture.exchange("quiet") == "quiet")
    }

    /// `--connection-log-limit`: a client failing in a tight loop writes a few lines a second, and one line counts
    /// the rest: at the end of their second (the timer), and what is left at the worker's end.
    @Test func failuresPastTheLimitAreCountedInOneLine() throws {
        let fixture = try RelayFixture("log-limit")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["--connection-log-limit=2"])
        defer { daemon.kill() }

        let attempts = 30
        for _ in 0..<attempts { try fixture.failHandshake() }
        try waitUntil("a line counting the left-out failures", timeout: .seconds(5), details: daemon.stderr) {
            daemon.logContains("about failed connections")
        }
        #expect(try fixture.exchange("still served") == "still served")
        #expect(try daemon.stop() == .exited(0))

        let written = daemon.logLines(containing: "TLS handshake failed").count
        let reports = daemon.logLines(containing: "about failed connections")
        let leftOut = reports.compactMap { line in
            line.firstMatch(
                of: #/left out (\d+) lines? about failed connections \(connection-log-limit: at most 2 per second\)/#
            )
            .flatMap { Int($0.1) }
        }
        #expect(leftOut.count == reports.count, "a report line not as documented: \(reports)")
        #expect(written + leftOut.reduce(0, +) == attempts, "log: \(daemon.stderr)")
        #expect(written >= 2 && written < attempts, "log: \(daemon.stderr)")
    }

    @Test func levelZeroIsSilent() throws {
        let fixture = try RelayFixture("log-silent")
        defer { fixture.stop() }
        // Also a refused backend connection, an error otherwise logged.
        let deadPort = try Ports.freeTCPPort()
        let daemon = try fixture.startDaemon(["-L", "0", "--backend=[127.0.0.1]:\(deadPort)"])
        defer { daemon.kill() }

        try fixture.failHandshake()
        let client = try fixture.connectedClient()
        _ = try client.readToEnd(timeout: .seconds(5))
        client.close()
        try daemon.sendSignal(SIGHUP)
        #expect(try daemon.stop() == .exited(0))
        #expect(daemon.stderr.isEmpty, "stderr: \(daemon.stderr)")
        #expect(daemon.stdout.isEmpty, "stdout: \(daemon.stdout)")
    }

    @Test func levelTwoLogsTheStartUpSummary() throws {
        let fixture = try RelayFixture("log-info")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["-L", "2", "-n", "2"])
        defer { daemon.kill() }

        // Written before READY=1.
        let lines = daemon.logLines(containing: "listening on")
        #expect(lines.count == 1, "log: \(daemon.stderr)")
        let line = lines.first ?? ""
        #expect(line.contains("unwrapd[\(daemon.pid)]: "), "\(line)")
        #expect(line.contains("listening on \(fixture.frontendName)"), "\(line)")
        #expect(line.contains("backend \(fixture.backend.hitchAddress)"), "\(line)")
        #expect(line.contains("2 workers as nobody:"), "\(line)")
        #expect(try daemon.stop() == .exited(0))
        #expect(daemon.logContains("SIGTERM received"))
    }

    @Test func defaultLevelLogsNoStartUpSummary() throws {
        let fixture = try RelayFixture("log-error")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon()
        defer { daemon.kill() }
        #expect(try fixture.exchange("hello") == "hello")
        #expect(try daemon.stop() == .exited(0))
        #expect(daemon.stderr.isEmpty, "stderr: \(daemon.stderr)")
    }

    @Test func logFileReplacesStderr() throws {
        let fixture = try RelayFixture("log-file")
        defer { fixture.stop() }
        let log = fixture.directory.file("unwrapd.log")
        let daemon = try fixture.startDaemon(["-L", "2", "--log-filename=\(log)"])
        defer { daemon.kill() }

        let clientPort = try fixture.failHandshake()
        #expect(try daemon.stop() == .exited(0))
        let lines = fixture.directory.read("unwrapd.log").split(separator: "\n")
        #expect(lines.contains { $0.contains("listening on \(fixture.frontendName)") }, "log file: \(lines)")
        #expect(
            lines.filter { $0.contains("[127.0.0.1]:\(clientPort) on \(fixture.frontendName): TLS handshake failed") }
                .count == 1, "log file: \(lines)")
        #expect(lines.contains { $0.contains("SIGTERM received") }, "log file: \(lines)")
        #expect(daemon.stderr.isEmpty, "stderr: \(daemon.stderr)")
        #expect(daemon.stdout.isEmpty, "stdout: \(daemon.stdout)")
    }
}
