import Glibc
import Testing

/// The kit's pieces together, as integration tests will use them, with `RelayStandIn` in unwrapd's place.
@Suite struct KitCompositionTests {
    /// Starts the stand-in relay in front of `backend`; returns it and its frontend port.
    private func startRelay(
        to backend: TestBackend, in directory: TestDirectory, certificates: TestCertificates
    ) throws -> (DaemonProcess, UInt16) {
        let pem = try certificates.server(["a.example"]).pemFile
        let port = try Ports.freeTCPPort()
        let relay = try DaemonProcess.start(
            RelayStandIn.arguments(
                pem: pem, frontend: "[127.0.0.1]:\(port)", backend: backend.hitchAddress,
                in: directory),
            in: directory, executable: NotifyingStandIn.python)
        return (relay, port)
    }

    @Test func bytesRelayBothWaysAndHalfCloseFollows() throws {
        let directory = try TestDirectory("kit-relay")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(.echo)
        defer { backend.stop() }
        let (relay, port) = try startRelay(to: backend, in: directory, certificates: certificates)
        defer { relay.kill() }

        let client = try TLSTestClient(
            port: port, options: TLSClientOptions(serverName: "a.example", trustedCAFile: certificates.caFile))
        try client.handshake()
        #expect(client.peerCommonName == "a.example")
        let (sent, received) = try client.echoInLockstep(count: 4 << 20)
        #expect(sent == received)
        try client.sendCloseNotify()
        let (rest, end) = try client.readToEnd(timeout: .seconds(5))
        #expect(rest.isEmpty)
        #expect(end == .closeNotify)

        let connection = try backend.waitForConnection()
        #expect(try connection.waitForEOF().receivedSHA256 == sent)
        #expect(try relay.stop() == .exited(0))
    }

    @Test func largeOneWayTransfersAreCheckedByHash() throws {
        let size = 16 << 20
        let directory = try TestDirectory("kit-large")
        let certificates = try TestCertificates(in: directory)
        let download = try TestBackend(.sendPseudoRandom(count: size, seed: 9), keepLimit: 0)
        defer { download.stop() }
        let (relay, port) = try startRelay(to: download, in: directory, certificates: certificates)
        defer { relay.kill() }

        let client = try TLSTestClient(port: port)
        try client.handshake()
        try client.writePseudoRandom(count: 256 << 10, seed: 2)
        try client.sendCloseNotify()
        let received = try client.readAndHashToEnd(timeout: .seconds(20))
        #expect(received.byteCount == size)
        #expect(received.sha256 == PseudoRandomStream.sha256(count: size, seed: 9))
        #expect(received.end == .closeNotify)
        let final = try download.waitForConnection().waitUntilClosed()
        #expect(final.receivedSHA256 == PseudoRandomStream.sha256(count: 256 << 10, seed: 2))
        #expect(final.received.isEmpty)
    }

    @Test func aRefusedHandshakeNeverReachesTheBackend() throws {
        let directory = try TestDirectory("kit-refused")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(.record)
        defer { backend.stop() }
        let (relay, port) = try startRelay(to: backend, in: directory, certificates: certificates)
        defer { relay.kill() }

        let client = try TLSTestClient(port: port, options: TLSClientOptions(maxVersion: .tls11))
        let error = #expect(throws: TLSClientError.self) { try client.handshake() }
        #expect(error?.receivedAlert == .protocolVersion)
        try relay.waitForLog(containing: "handshake failed")
        #expect(backend.acceptedCount == 0)

        let plain = try PlainClient(port: port)
        try plain.send("GET / HTTP/1.0\r\n\r\n")
        #expect([StreamEnd.eof, .reset].contains(try plain.waitForClose(timeout: .seconds(5))))
        #expect(backend.acceptedCount == 0)
    }
}
