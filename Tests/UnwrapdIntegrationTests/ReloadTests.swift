import Foundation
import Glibc
import Testing

/// SIGHUP reloads the configuration (design §1): the parent reads the command line and config file again, starts
/// new workers with them and retires the old ones, which finish their connections. A configuration that does not
/// load leaves the running one in place. Each reload is awaited on systemd's protocol (`RELOADING=1`, then
/// `READY=1` with the outcome in `STATUS=`), as systemd itself waits for it.
@Suite struct ReloadTests {
    /// The common name of the certificate the frontend serves a client that sends no SNI name.
    private func servedName(_ fixture: RelayFixture, port: UInt16? = nil) throws -> String? {
        let client = try TLSTestClient(port: port ?? fixture.port)
        defer { client.close() }
        try client.handshake()
        return client.peerCommonName
    }

    /// `site.pem` in the fixture's directory, holding a copy of `source`.
    private func install(_ source: String, in fixture: RelayFixture) throws -> String {
        try fixture.directory.write(try String(contentsOfFile: source, encoding: .utf8), to: "site.pem")
    }

    @Test func aReloadServesTheNewCertificateWhileOpenConnectionsGoOn() throws {
        let fixture = try RelayFixture("reload-cert")
        defer { fixture.stop() }
        let site = try install(fixture.pem, in: fixture)
        let daemon = try DaemonProcess.start(
            [
                "--frontend=\(fixture.frontendName)", "--backend=\(fixture.backend.hitchAddress)", "-n", "2", "-L", "2",
                site,
            ], in: fixture.directory)
        defer { daemon.kill() }
        let replaced = daemon.childPIDs()
        let open = try fixture.connectedClient()
        #expect(try open.roundTrip("before") == "before")

        _ = try install(try fixture.certificates.server(["b.example"]).pemFile, in: fixture)
        let status = try daemon.reload()
        #expect(status.hasPrefix("listening on \(fixture.frontendName)"), "STATUS=\(status)")

        #expect(try servedName(fixture) == "b.example")
        #expect(!daemon.logContains("did not confirm"), "the replaced workers confirmed: \(daemon.stderr)")
        #expect(open.peerCommonName == "a.example")
        #expect(try open.roundTrip("after") == "after", "a connection of a replaced worker goes on")
        let current = daemon.childPIDs().filter { !replaced.contains($0) }
        #expect(current.count == 2, "workers: \(daemon.childPIDs()), replaced: \(replaced)")

        open.close()
        try waitUntil(
            "the replaced workers \(replaced) to exit once their connections ended", timeout: .seconds(5),
            details: daemon.stderr
        ) { !daemon.childPIDs().contains(where: replaced.contains) }
        #expect(daemon.logLines(containing: "of the configuration a reload replaced exited with status 0").count == 2)
        #expect(daemon.childPIDs() == current.sorted())
        #expect(try daemon.stop() == .exited(0))
        #expect(daemon.survivorsAtExit.isEmpty)
    }

    /// The listening sockets of addresses still configured are the same ones (clients waiting in their queues are
    /// not lost), and so are the session-ticket keys and the shared session cache: a session from before the reload
    /// resumes after it, by a TLS 1.3 ticket, and with `--session-tickets=off` by a TLS 1.2 session ID.
    @Test(arguments: [(TLSVersion.tls13, true), (.tls12, false)])
    func aReloadKeepsTheListeningSocketsAndResumesEarlierSessions(version: TLSVersion, tickets: Bool) throws {
        let fixture = try RelayFixture("reload-keep")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["-n", "2", "--session-tickets=\(tickets ? "on" : "off")"])
        defer { daemon.kill() }
        let sockets = TCPSocketTable.listeningInodes(localPort: fixture.port)
        #expect(sockets.count == 2, "one listening socket per worker slot")
        let options = TLSClientOptions(
            serverName: "a.example", minVersion: version, maxVersion: version, sessionTickets: tickets)
        let first = try TLSTestClient(port: fixture.port, options: options)
        try first.handshake()
        let session = try first.resumableSession()
        #expect(session.hasTicket == tickets)
        #expect(try first.roundTrip("first") == "first")
        first.close()

        #expect(try daemon.reload().hasPrefix("listening on"))

        #expect(TCPSocketTable.listeningInodes(localPort: fixture.port) == sockets)
        var resuming = options
        resuming.session = session
        let second = try TLSTestClient(port: fixture.port, options: resuming)
        defer { second.close() }
        try second.handshake()
        #expect(second.sessionReused, "a session made before the reload resumes after it")
        #expect(try second.roundTrip("resumed") == "resumed")
    }

    @Test func aReloadThatFailsKeepsTheRunningConfiguration() throws {
        let fixture = try RelayFixture("reload-fail")
        defer { fixture.stop() }
        let site = try install(fixture.pem, in: fixture)
        let config = try DaemonProcess.configArgument(
            [
                "frontend = \"\(fixture.frontendName)\"", "backend = \"\(fixture.backend.hitchAddress)\"",
                "pem-file = \"\(site)\"",
            ], in: fixture.directory)
        let daemon = try DaemonProcess.start([config, "-n", "2"], in: fixture.directory)
        defer { daemon.kill() }
        let workers = daemon.childPIDs()

        _ = try fixture.directory.write("not a certificate\n", to: "site.pem")
        let status = try daemon.reload()
        #expect(status.hasPrefix("reload failed: "), "STATUS=\(status)")
        let lines = daemon.logLines(containing: "reload failed")
        #expect(lines.count == 1 && lines[0].contains(site), "the line names the file: \(lines)")
        #expect(lines.first?.hasSuffix("still serving the previous configuration") == true, "\(lines)")

        _ = try install(fixture.pem, in: fixture)
        _ = try fixture.directory.write(
            "frontend = \"\(fixture.frontendName)\"\nworkers = none\n", to: "unwrapd.conf")
        #expect(try daemon.reload().hasPrefix("reload failed: "))
        #expect(daemon.logContains("unwrapd.conf:2"), "the line names file and line: \(daemon.stderr)")

        #expect(daemon.childPIDs() == workers, "the running workers stay")
        #expect(try servedName(fixture) == "a.example")
        #expect(try fixture.exchange("still served") == "still served")
        #expect(try daemon.stop() == .exited(0))
    }

    @Test func replacedWorkersEndWhatIsLeftAfterTheDrainTimeout() throws {
        let fixture = try RelayFixture("reload-drain")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["--drain-timeout=1", "-L", "2"])
        defer { daemon.kill() }
        let replaced = daemon.childPIDs()
        let open = try fixture.connectedClient()
        #expect(try open.roundTrip("before") == "before")

        #expect(try daemon.reload().hasPrefix("listening on"))
        #expect(replaced.allSatisfy(DaemonProcess.isAlive), "the replaced worker serves its connection on")
        let end = try open.readToEnd(timeout: .seconds(5)).end
        #expect(end == .eof, "the replaced worker closes the connection once the drain timeout passed")
        try waitUntil("the replaced worker \(replaced) to exit", timeout: .seconds(5)) {
            !replaced.contains(where: DaemonProcess.isAlive)
        }
        #expect(daemon.logContains("after --drain-timeout: closing them"))
        #expect(try fixture.exchange("new") == "new")
    }

    /// With fewer workers after the reload, a replaced worker's listening socket closes with it: the clients still
    /// waiting in its queue are taken by it first, not reset. The replaced workers are stopped (SIGSTOP) while the
    /// clients connect, so that some of the 16 wait in the queue of the socket that goes (the kernel spreads them
    /// over both sockets by their addresses).
    @Test func clientsWaitingInTheQueueOfASocketThatGoesAreServed() throws {
        let fixture = try RelayFixture("reload-queue")
        defer { fixture.stop() }
        func configure(workers: Int) throws -> String {
            try DaemonProcess.configArgument(
                [
                    "frontend = \"\(fixture.frontendName)\"", "backend = \"\(fixture.backend.hitchAddress)\"",
                    "pem-file = \"\(fixture.pem)\"", "workers = \(workers)",
                ], in: fixture.directory)
        }
        let daemon = try DaemonProcess.start([try configure(workers: 2)], in: fixture.directory)
        defer { daemon.kill() }
        let replaced = daemon.childPIDs()
        #expect(replaced.count == 2)
        for worker in replaced { kill(worker, SIGSTOP) }
        let waiting = try (0..<16).map { _ in try TLSTestClient(port: fixture.port) }
        defer { for client in waiting { client.close() } }

        _ = try configure(workers: 1)
        let status = try daemon.reload()
        for worker in replaced { kill(worker, SIGCONT) }
        #expect(status.hasPrefix("listening on"), "STATUS=\(status)")
        // Stopped, they could not confirm that they accept no more: the reload waited its 5 s and said so.
        #expect(daemon.logContains("did not confirm within 5.0 s that they stopped accepting"), "\(daemon.stderr)")
        for (index, client) in waiting.enumerated() {
            try client.handshake()
            #expect(try client.roundTrip("waited \(index)") == "waited \(index)")
        }
        try waitUntil("the socket of the second worker to close", timeout: .seconds(5)) {
            TCPSocketTable.listeningInodes(localPort: fixture.port).count == 1
        }
    }

    /// `--daemon` moves the parent to `/`; a reload still reads a relative PEM path from where the daemon started
    /// (here the test's directory, through `sh -c 'cd DIR && exec unwrapd ...'`).
    @Test func aDetachedDaemonReloadsRelativePathsFromWhereItStarted() throws {
        let fixture = try RelayFixture("reload-detached")
        defer { fixture.stop() }
        let log = fixture.directory.file("unwrapd.log")
        let relativePEM = String(fixture.pem.dropFirst(fixture.directory.path.count + 1))
        try #require(!relativePEM.hasPrefix("/") && access(fixture.directory.file(relativePEM), R_OK) == 0)
        let detached = try DetachedDaemon.launch(
            [
                "-c", "cd \"$0\" && exec \"$@\"", fixture.directory.path, DaemonProcess.binaryPath,
                "--frontend=\(fixture.frontendName)", "--backend=\(fixture.backend.hitchAddress)", "--daemon",
                "--log-filename=\(log)", "-L", "2", relativePEM,
            ],
            in: fixture.directory, executable: "/bin/sh")
        defer { detached.kill() }
        let workers = detached.childPIDs()

        try detached.sendSignal(SIGHUP)
        let outcome = {
            fixture.directory.read("unwrapd.log").split(separator: "\n")
                .first { $0.contains("reloaded:") || $0.contains("reload failed") }
        }
        try waitUntil(
            "the reload's outcome in \(log)", timeout: .seconds(10), details: fixture.directory.read("unwrapd.log")
        ) { outcome() != nil }
        #expect(outcome()?.contains("reloaded: listening on \(fixture.frontendName)") == true, "\(outcome() ?? "")")
        try waitUntil("the replaced worker \(workers) to be gone", timeout: .seconds(5)) {
            !detached.childPIDs().contains(where: workers.contains)
        }
        #expect(try fixture.exchange("detached") == "detached")
        try detached.sendSignal(SIGTERM)
        #expect(detached.waitForExit(timeout: .seconds(5)))
    }

    /// What the reload changes takes effect: a frontend moved to another port (the old port closes once the
    /// replaced worker is gone), the number of workers, and the log level of the new workers (`log-level = 3`: a
    /// line per completed handshake).
    @Test func aReloadMovesTheFrontendAndChangesTheWorkerCount() throws {
        let fixture = try RelayFixture("reload-move")
        defer { fixture.stop() }
        func configure(port: UInt16, workers: Int, logLevel: Int) throws -> String {
            try DaemonProcess.configArgument(
                [
                    "frontend = \"[127.0.0.1]:\(port)\"", "backend = \"\(fixture.backend.hitchAddress)\"",
                    "pem-file = \"\(fixture.pem)\"", "workers = \(workers)", "log-level = \(logLevel)",
                ], in: fixture.directory)
        }
        let daemon = try DaemonProcess.start(
            [try configure(port: fixture.port, workers: 1, logLevel: 1)], in: fixture.directory)
        defer { daemon.kill() }
        let replaced = daemon.childPIDs()

        let moved = try Ports.freeTCPPort()
        #expect(try fixture.exchange("before") == "before")
        #expect(!daemon.logContains("handshake complete"))
        _ = try configure(port: moved, workers: 2, logLevel: 3)
        #expect(try daemon.reload().hasPrefix("listening on [127.0.0.1]:\(moved)"))
        try waitUntil("the replaced worker \(replaced) to exit", timeout: .seconds(5)) {
            !daemon.childPIDs().contains(where: replaced.contains)
        }

        #expect(daemon.childPIDs().count == 2)
        #expect(TCPSocketTable.listeningInodes(localPort: moved).count == 2)
        #expect(TCPSocketTable.listeningInodes(localPort: fixture.port).isEmpty, "the old port is closed")
        #expect(try fixture.exchange("moved", port: moved) == "moved")
        try daemon.waitForLog(containing: "handshake complete")
        #expect(try daemon.stop() == .exited(0))
    }

    /// New workers that cannot start undo the reload (here setgroups(2) fails in them, by an LD_PRELOAD library):
    /// they are stopped, the socket opened for the new configuration is closed, and the running workers serve on,
    /// an open connection included. Once workers can start again, the same reload succeeds.
    @Test func aReloadWhoseWorkersCannotStartLeavesTheRunningOnesInPlace() throws {
        let fixture = try RelayFixture("reload-undo")
        defer { fixture.stop() }
        let library = try PreloadLibrary.compile("setgroups_refuser.c", in: fixture.directory)
        let flag = fixture.directory.file("refuse-setgroups")
        func configure(port: UInt16) throws -> String {
            try DaemonProcess.configArgument(
                [
                    "frontend = \"[127.0.0.1]:\(port)\"", "backend = \"\(fixture.backend.hitchAddress)\"",
                    "pem-file = \"\(fixture.pem)\"", "workers = 2",
                ], in: fixture.directory)
        }
        let daemon = try DaemonProcess.start(
            [try configure(port: fixture.port)], in: fixture.directory,
            environment: ["LD_PRELOAD": library, "UNWRAPD_REFUSE_SETGROUPS_IF": flag])
        defer { daemon.kill() }
        try daemon.waitForChildren(count: 2)
        let running = daemon.childPIDs()
        let open = try fixture.connectedClient()
        #expect(try open.roundTrip("before\n") == "before\n")

        let moved = try Ports.freeTCPPort()
        _ = try configure(port: moved)
        try fixture.directory.write("", to: "refuse-setgroups")
        #expect(try daemon.reload() == "reload failed: the new workers did not start")
        #expect(
            daemon.logContains("reload failed: the new workers did not start; still serving the previous configuration")
        )
        #expect(daemon.logContains("setgroups"), "the worker's own reason: \(daemon.stderr)")
        try waitUntil("only the running workers", timeout: .seconds(5), details: daemon.stderr) {
            daemon.childPIDs() == running
        }
        #expect(TCPSocketTable.listeningInodes(localPort: moved).isEmpty, "the new configuration's socket is closed")
        #expect(try open.roundTrip("after\n") == "after\n")
        #expect(try fixture.exchange("still") == "still")

        #expect(unlink(flag) == 0)
        #expect(try daemon.reload().hasPrefix("listening on [127.0.0.1]:\(moved)"))
        #expect(try fixture.exchange("moved", port: moved) == "moved")
    }
}
