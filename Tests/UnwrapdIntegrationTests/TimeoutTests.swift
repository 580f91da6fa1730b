import Foundation
import Glibc
import Testing

/// Timeouts and backend failures: clients that never finish a handshake, a backend whose connect hangs or that
/// refuses, and many idle connections that must not starve a new client.
@Suite struct TimeoutTests {
    /// The first bytes of a ClientHello: a handshake record header announcing 512 bytes, of which only the start
    /// of the ClientHello follows.
    static let halfAClientHello: [UInt8] =
        [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]
        + [UInt8](repeating: 0x2a, count: 32)

    @Test(arguments: [false, true])
    func aClientThatStallsInTheHandshakeIsClosedAfterTheHandshakeTimeout(sendsPartOfAClientHello: Bool) throws {
        let fixture = try RelayFixture(sendsPartOfAClientHello ? "tmo-half-hello" : "tmo-silent")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["--ssl-handshake-timeout=1"])
        defer { daemon.kill() }

        let client = try PlainClient(port: fixture.port)
        defer { client.close() }
        let clientPort = client.localPort
        let started = ContinuousClock.now
        if sendsPartOfAClientHello { try client.send(Self.halfAClientHello) }
        let end = try client.waitForClose(timeout: .seconds(5))
        let elapsed = ContinuousClock.now - started

        #expect([StreamEnd.eof, .reset].contains(end))
        #expect(elapsed >= .milliseconds(900), "closed after \(elapsed), before the 1 s timeout")
        #expect(elapsed < .seconds(3), "closed after \(elapsed)")
        let lines = daemon.logLines(containing: "[127.0.0.1]:\(clientPort) ")
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.contains("on \(fixture.frontendName): TLS handshake timed out") == true, "\(lines)")
        #expect(fixture.backend.acceptedCount == 0)
        #expect(try fixture.exchange("still serving") == "still serving")
    }

    @Test func aBackendWhoseConnectHangsIsGivenUpAfterTheConnectTimeout() throws {
        let directory = try TestDirectory("tmo-connect")
        let certificates = try TestCertificates(in: directory)
        let pem = try certificates.server(["a.example"]).pemFile
        let stalled = try StalledBackend()
        defer { stalled.stop() }
        // The technique works here: a connection attempt to it stays pending.
        try #require(try stalled.connectHangs(for: .milliseconds(300)))
        let port = try Ports.freeTCPPort()
        let daemon = try DaemonProcess.start(
            [
                "--frontend=[127.0.0.1]:\(port)", "--backend=\(stalled.hitchAddress)", "--backend-connect-timeout=1",
                "--ssl-handshake-timeout=10", pem,
            ], in: directory)
        defer { daemon.kill() }

        let client = try TLSTestClient(
            port: port, options: TLSClientOptions(serverName: "a.example", ioTimeout: .seconds(5)))
        defer { client.close() }
        let clientPort = try Sockets.localPort(of: client.fd)
        try client.handshake()
        let started = ContinuousClock.now
        try client.write("anyone there?")
        let (bytes, _) = try client.readToEnd(timeout: .seconds(5))
        let elapsed = ContinuousClock.now - started

        #expect(bytes.isEmpty)
        #expect(elapsed >= .milliseconds(800), "closed after \(elapsed), before the 1 s connect timeout")
        #expect(elapsed < .seconds(3), "closed after \(elapsed)")
        let lines = daemon.logLines(containing: "[127.0.0.1]:\(clientPort) ")
        #expect(lines.count == 1, "\(lines)")
        #expect(
            lines.first?.contains("backend \(stalled.hitchAddress): connect timed out") == true, "\(lines)")
        #expect(daemon.isRunning)
    }

    @Test func aRefusingBackendClosesTheClientPromptlyAndServiceResumesWhenItComesUp() throws {
        let fixture = try RelayFixture("tmo-refused")
        defer { fixture.stop() }
        let backendPort = try Ports.freeTCPPort()
        let daemon = try DaemonProcess.start(
            fixture.arguments(["--backend=[127.0.0.1]:\(backendPort)", "--backend-connect-timeout=10"]),
            in: fixture.directory)
        defer { daemon.kill() }

        for attempt in 0..<2 {
            let client = try fixture.connectedClient()
            let clientPort = try Sockets.localPort(of: client.fd)
            let started = ContinuousClock.now
            try client.write("attempt \(attempt)")
            let (bytes, _) = try client.readToEnd(timeout: .seconds(5))
            let elapsed = ContinuousClock.now - started
            client.close()
            #expect(bytes.isEmpty)
            #expect(elapsed < .seconds(1), "closed after \(elapsed)")
            let lines = daemon.logLines(containing: "[127.0.0.1]:\(clientPort) ")
            #expect(lines.count == 1, "\(lines)")
            let line = lines.first ?? ""
            #expect(
                line.contains("on \(fixture.frontendName): backend [127.0.0.1]:\(backendPort): connect: ")
                    && line.hasSuffix("(ECONNREFUSED)"), "\(line)")
        }
        #expect(daemon.isRunning)

        let backend = try TestBackend(.echo, on: .tcp(host: "127.0.0.1", port: backendPort))
        defer { backend.stop() }
        #expect(try fixture.exchange("the backend is up") == "the backend is up")
        #expect(backend.acceptedCount == 1)
    }

    @Test func aThousandIdleConnectionsDoNotStopANewClient() throws {
        let idleCount = 1000
        let limit = OpenFilesLimit.raise(toAtLeast: idleCount + 512)
        try #require(limit >= idleCount + 256, "open-files limit \(limit) is too low for \(idleCount) sockets")
        let fixture = try RelayFixture("tmo-idle")
        defer { fixture.stop() }
        // A listen queue that takes the burst of connects, so none waits for a SYN retransmission.
        let daemon = try fixture.startDaemon(["-n", "1", "--backlog=1024"])
        defer { daemon.kill() }
        let worker = try #require(daemon.childPIDs().first)

        var idle: [PlainClient] = []
        defer { for client in idle { client.close() } }
        for _ in 0..<idleCount {
            idle.append(
                try PlainClient(connectingTo: .tcp(host: "127.0.0.1", port: fixture.port), connectTimeout: .seconds(5)))
        }
        // The worker has accepted them all (they are not just waiting in the listen queue).
        var sockets = 0
        try waitUntil(
            "the worker to hold \(idleCount) client sockets", timeout: .seconds(10), interval: .milliseconds(50),
            details: "it holds \(sockets)"
        ) {
            sockets = Self.socketCount(of: worker)
            return sockets >= idleCount
        }

        let started = ContinuousClock.now
        let client = try fixture.connectedClient(ioTimeout: .seconds(3))
        #expect(try client.roundTrip("through the crowd") == "through the crowd")
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(2), "the new client took \(elapsed)")
        client.close()
        #expect(Self.socketCount(of: worker) >= idleCount, "idle clients were dropped")
        #expect(daemon.isRunning)
    }

    /// The number of sockets among the open descriptors of `pid`.
    private static func socketCount(of pid: pid_t) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return 0 }
        return names.filter { name in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(name)"))?
                .hasPrefix("socket:") == true
        }.count
    }
}
