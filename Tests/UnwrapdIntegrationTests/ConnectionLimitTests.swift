import Glibc
import Testing

/// `--max-connections`: at most N clients are served at once over all workers; the next one waits in the
/// kernel's queue (its TCP connection is accepted by the kernel, its TLS handshake is not answered) until one of
/// the N closes.
@Suite struct ConnectionLimitTests {
    @Test(arguments: [1, 2])
    func theNextClientIsServedOnlyOnceOneOfTheFirstNCloses(workers: Int) throws {
        let limit = 3
        let fixture = try RelayFixture("limit")
        defer { fixture.stop() }
        let backend = fixture.backend
        let port = fixture.port
        let daemon = try fixture.startDaemon(["--max-connections=\(limit)", "--workers=\(workers)"])
        defer { daemon.kill() }

        var served: [TLSTestClient] = []
        for index in 0..<limit {
            let client = try TLSTestClient(port: port, options: TLSClientOptions(serverName: "a.example"))
            try client.handshake()
            try client.write("client \(index)\n")
            #expect(try client.read(exactly: 9) == Array("client \(index)\n".utf8))
            served.append(client)
        }

        // One more: the kernel completes its TCP connection, the daemon does not take it.
        let waitTime = Duration.milliseconds(750)
        let waiting = try TLSTestClient(
            port: port, options: TLSClientOptions(serverName: "a.example", ioTimeout: waitTime))
        let refused = #expect(throws: TLSClientError.self) { try waiting.handshake() }
        #expect(refused?.reason == .timedOut, "\(String(describing: refused))")
        #expect(backend.acceptedCount == limit)
        let paused = try daemon.waitForLog(
            containing: "not accepting new connections for now: the connection limit is reached")
        #expect(!paused.isEmpty)

        // The served ones are still served meanwhile.
        for (index, client) in served.enumerated() {
            try client.write("again \(index)\n")
            #expect(try client.read(exactly: 8) == Array("again \(index)\n".utf8))
        }

        // One of them leaves: the waiting client's handshake goes on and completes.
        try served[0].sendCloseNotify()
        #expect(try served[0].readToEnd(timeout: .seconds(5)).end == .closeNotify)
        served[0].close()
        try waiting.handshake()
        try waiting.write("finally\n")
        #expect(try waiting.read(exactly: 8) == Array("finally\n".utf8))
        #expect(backend.acceptedCount == limit + 1)
        #expect(try daemon.stop() == .exited(0))
    }

    /// While the cap holds and a client waits, the pause is one event: logged once, not again at every retry of
    /// the accept (the worker retries every 100 ms).
    @Test func aPauseThatLastsIsLoggedOnce() throws {
        let fixture = try RelayFixture("limit-log")
        defer { fixture.stop() }
        let port = fixture.port
        let daemon = try fixture.startDaemon(["--max-connections=1"])
        defer { daemon.kill() }

        let served = try TLSTestClient(port: port)
        try served.handshake()
        try served.write("x")
        #expect(try served.read(exactly: 1) == Array("x".utf8))
        let waiting = try TLSTestClient(port: port, options: TLSClientOptions(ioTimeout: .seconds(1)))
        #expect(throws: TLSClientError.self) { try waiting.handshake() }

        let lines = daemon.logLines(containing: "not accepting new connections")
        #expect(lines.count == 1, "\(lines.count) lines in 1 s at the cap:\n\(lines.prefix(4).joined(separator: "\n"))")
    }
}
