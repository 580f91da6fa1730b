import Glibc
import Testing

/// Socket activation (`LISTEN_FDS`, as systemd passes a `.socket` unit's sockets): a frontend whose address a passed
/// socket is bound to serves on it, every worker from its one queue, and binds nothing of its own; the socket outlives
/// the daemon, so clients who connect while it restarts are served by the next one.
@Suite struct SocketActivationTests {
    /// `--frontend=[HOST]:PORT --backend=... EXTRA... PEM`, with `sockets` passed as descriptors 3, 4, ...
    private func start(
        _ fixture: RelayFixture, frontend: String, _ extra: [String] = [], passing sockets: [Int32]
    ) throws -> DaemonProcess {
        let daemon = try DaemonProcess(
            ["--frontend=\(frontend)", "--backend=\(fixture.backend.hitchAddress)"] + extra + [fixture.pem],
            in: fixture.directory, passing: sockets)
        try daemon.waitUntilReady()
        return daemon
    }

    /// One round trip through the daemon on a connection made before the handshake is started.
    private func exchange(_ client: TLSTestClient, _ text: String) throws -> String {
        try client.handshake()
        return try client.roundTrip(text)
    }

    @Test func clientsWaitingInThePassedSocketAreServedAcrossARestart() throws {
        let fixture = try RelayFixture("activation")
        defer { fixture.stop() }
        let (socket, port) = try Ports.listeningSocket()
        defer { close(socket) }
        let options = TLSClientOptions(serverName: "a.example", trustedCAFile: fixture.certificates.caFile)

        // Connected before any daemon runs: it waits in the socket's queue.
        let early = try TLSTestClient(port: port, options: options)
        defer { early.close() }
        let first = try start(fixture, frontend: "[127.0.0.1]:\(port)", ["-n", "2"], passing: [socket])
        defer { first.kill() }
        #expect(try exchange(early, "early\n") == "early\n")
        #expect(TCPSocketTable.listeningInodes(localPort: port).count == 1, "only the passed socket listens")
        #expect(first.stderr.isEmpty, "\(first.stderr)")

        #expect(try first.stop() == .exited(0))
        let between = try TLSTestClient(port: port, options: options)
        defer { between.close() }
        let second = try start(fixture, frontend: "[127.0.0.1]:\(port)", passing: [socket])
        defer { second.kill() }
        #expect(try exchange(between, "while restarting\n") == "while restarting\n")
    }

    /// systemd's default for `ListenStream=PORT` is one IPv6 socket that takes IPv4 clients too: it serves both
    /// addresses `[*]:PORT` resolves to.
    @Test func aDualStackSocketServesTheWildcardFrontend() throws {
        let fixture = try RelayFixture("activation-dual")
        defer { fixture.stop() }
        let (socket, port) = try Ports.listeningSocket(host: "::")
        defer { close(socket) }
        let config = try fixture.directory.write("workers = 1\n", to: "activation.conf")
        let daemon = try start(fixture, frontend: "[*]:\(port)", ["-L", "2", "--config=\(config)"], passing: [socket])
        defer { daemon.kill() }
        for host in ["127.0.0.1", "::1"] {
            let client = try TLSTestClient(host: host, port: port, options: TLSClientOptions(serverName: "a.example"))
            defer { client.close() }
            #expect(try exchange(client, "via \(host)\n") == "via \(host)\n")
        }
        #expect(daemon.logContains("serving on the socket systemd passed, [::]:\(port) (descriptor 3)"))

        // A reload keeps it, for every worker the new configuration has.
        try fixture.directory.write("workers = 2\n", to: "activation.conf")
        #expect(try daemon.reload().hasPrefix("listening on [::]:\(port)"))
        try waitUntil("two workers after the reload", timeout: .seconds(5), details: daemon.stderr) {
            daemon.childPIDs().count == 2
        }
        let client = try TLSTestClient(port: port, options: TLSClientOptions(serverName: "a.example"))
        defer { client.close() }
        #expect(try exchange(client, "after the reload\n") == "after the reload\n")
    }

    /// Each a one-line error, exit status 1.
    @Test func aPassedSocketNoFrontendListensOnIsRefused() throws {
        let fixture = try RelayFixture("activation-unused")
        defer { fixture.stop() }
        let (socket, port) = try Ports.listeningSocket()
        defer { close(socket) }
        let daemon = try DaemonProcess(fixture.arguments(), in: fixture.directory, passing: [socket])
        defer { daemon.kill() }
        #expect(try daemon.waitForExit() == .exited(1))
        #expect(
            daemon.stderr.hasSuffix(
                "socket activation: systemd passed a socket on [127.0.0.1]:\(port) (descriptor 3) that no frontend "
                    + "listens on (add a frontend for it, or remove it from the .socket unit)\n"), "\(daemon.stderr)")
    }

    @Test func aPassedDescriptorThatIsNotAListeningSocketIsRefused() throws {
        let fixture = try RelayFixture("activation-udp")
        defer { fixture.stop() }
        let datagram = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(datagram) }
        let daemon = try DaemonProcess(fixture.arguments(), in: fixture.directory, passing: [datagram])
        defer { daemon.kill() }
        #expect(try daemon.waitForExit() == .exited(1))
        #expect(
            daemon.stderr.contains("socket activation: descriptor 3 is not a listening TCP socket"), "\(daemon.stderr)")
    }
}
