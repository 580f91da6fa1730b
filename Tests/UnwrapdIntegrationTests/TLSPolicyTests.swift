import Glibc
import Testing

/// Which TLS the daemon speaks: protocol versions (default and `tls-protos`), no client-initiated renegotiation,
/// no compression, and what happens to clients that do not speak TLS at all.
@Suite struct TLSPolicyTests {
    /// Expects `client`'s handshake to fail with a `protocol_version` alert from the daemon.
    private func expectProtocolVersionRefused(
        _ client: TLSTestClient, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let error = #expect(throws: TLSClientError.self, sourceLocation: sourceLocation) { try client.handshake() }
        #expect(
            error?.receivedAlert == .protocolVersion, "\(String(describing: error))", sourceLocation: sourceLocation)
    }

    // MARK: - Protocol versions

    @Test(arguments: [TLSVersion.tls12, .tls13])
    func modernVersionsAreServedByDefault(version: TLSVersion) throws {
        let fixture = try RelayFixture("policy-default")
        defer { fixture.stop() }
        let (backend, port) = (fixture.backend, fixture.port)
        let daemon = try fixture.startDaemon()
        defer { daemon.kill() }

        let client = try TLSTestClient(
            port: port, options: TLSClientOptions(serverName: "a.example", minVersion: version, maxVersion: version))
        try client.handshake()
        #expect(client.version == version)
        #expect(try client.roundTrip("hello \(version)\n") == "hello \(version)\n")
        #expect(try backend.waitForConnection().waitForText("hello \(version)\n") == "hello \(version)\n")
    }

    @Test(arguments: [TLSVersion.tls10, .tls11])
    func oldVersionsAreRefusedBeforeTheBackend(version: TLSVersion) throws {
        let directory = try TestDirectory("policy-old")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(.record)
        defer { backend.stop() }
        let (daemon, port) = try DaemonProcess.startUnwrapd(
            [try certificates.server(["a.example"], keyType: .rsa2048).pemFile], backend: backend, in: directory)
        defer { daemon.kill() }

        // The kit lowers the client's security level for TLS 1.0/1.1, so the client really offers them.
        let client = try TLSTestClient(port: port, options: TLSClientOptions(minVersion: version, maxVersion: version))
        expectProtocolVersionRefused(client)

        let lines = try daemon.waitForLog(forClientPort: client.localPort, containing: "handshake failed")
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.contains("unsupported protocol") == true, "\(lines)")
        #expect(backend.acceptedCount == 0)

        let modern = try TLSTestClient(port: port)
        try modern.handshake()
        #expect(modern.version == .tls13)
    }

    /// `tls-protos` as a flag or in the config file: TLS 1.3 only refuses a TLS 1.2 client.
    @Test(arguments: ["flag", "config file"])
    func tlsProtosNarrowsTheVersions(source: String) throws {
        let fixture = try RelayFixture("policy-protos")
        defer { fixture.stop() }
        let (backend, port) = (fixture.backend, fixture.port)
        let setting =
            source == "flag"
            ? "--tls-protos=TLSv1.3"
            : try DaemonProcess.configArgument(["tls-protos = TLSv1.3"], in: fixture.directory)
        let daemon = try fixture.startDaemon([setting])
        defer { daemon.kill() }

        let old = try TLSTestClient(port: port, options: TLSClientOptions(maxVersion: .tls12))
        expectProtocolVersionRefused(old)
        try daemon.waitForLog(forClientPort: old.localPort, containing: "unsupported protocol")

        let current = try TLSTestClient(port: port, options: TLSClientOptions(maxVersion: .tls13))
        try current.handshake()
        #expect(current.version == .tls13)
        #expect(try current.roundTrip("1.3 only\n") == "1.3 only\n")
        #expect(backend.acceptedCount == 1)
    }

    /// The set can widen too: TLS 1.1 and 1.2 (with a cipher list at security level 0, which OpenSSL 3 needs for
    /// TLS 1.1) serves a TLS 1.1 client, and refuses one that insists on TLS 1.3.
    @Test func tlsProtosCanEnableAnOlderVersion() throws {
        let directory = try TestDirectory("policy-tls11")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(.echo)
        defer { backend.stop() }
        let (daemon, port) = try DaemonProcess.startUnwrapd(
            [
                "--tls-protos=TLSv1.1 TLSv1.2", "--ciphers=DEFAULT:@SECLEVEL=0",
                try certificates.server(["a.example"], keyType: .rsa2048).pemFile,
            ], backend: backend, in: directory)
        defer { daemon.kill() }

        let old = try TLSTestClient(port: port, options: TLSClientOptions(minVersion: .tls11, maxVersion: .tls11))
        try old.handshake()
        #expect(old.version == .tls11)
        #expect(try old.roundTrip("eleven\n") == "eleven\n")

        let newest = try TLSTestClient(port: port, options: TLSClientOptions(minVersion: .tls13))
        expectProtocolVersionRefused(newest)
        #expect(backend.acceptedCount == 1)
    }

    // MARK: - Renegotiation and compression

    /// A TLS 1.2 client asking to renegotiate is refused; what it sent before still reached the backend, and the
    /// connection does not go on under a renegotiated session.
    @Test func clientInitiatedRenegotiationIsRefused() throws {
        let fixture = try RelayFixture("policy-reneg")
        defer { fixture.stop() }
        let (backend, port) = (fixture.backend, fixture.port)
        let daemon = try fixture.startDaemon(["--log-level=3"])
        defer { daemon.kill() }

        let client = try TLSTestClient(port: port, options: TLSClientOptions(maxVersion: .tls12))
        try client.handshake()
        #expect(client.version == .tls12)
        #expect(try client.roundTrip("before\n") == "before\n")

        let error = #expect(throws: TLSClientError.self) { try client.renegotiate() }
        #expect(error?.receivedAlert == .noRenegotiation, "\(String(describing: error))")

        let connection = try backend.waitForConnection()
        let final = try connection.waitUntilClosed()
        #expect(String(decoding: final.received, as: UTF8.self) == "before\n")
        #expect(backend.acceptedCount == 1)
        let lines = try daemon.waitForLog(forClientPort: client.localPort, containing: "client connection failed")
        #expect(lines.filter { $0.contains("handshake complete") }.count == 1, "\(lines)")
    }

    /// A client offering DEFLATE before "no compression" gets a ServerHello without compression. (On an OpenSSL
    /// built without zlib the daemon could not compress anyway; there this checks that such an offer is served.)
    @Test func compressionIsNeverChosen() throws {
        let fixture = try RelayFixture("policy-compress", backend: .record)
        defer { fixture.stop() }
        let port = fixture.port
        let daemon = try fixture.startDaemon()
        defer { daemon.kill() }

        let client = try PlainClient(port: port)
        try client.send(
            RawTLSHello.clientHello(compressionMethods: [RawTLSHello.deflate, RawTLSHello.nullCompression]))
        let reply = try RawTLSHello.readReply(from: client)
        guard case .serverHello(let version, _, let compression) = reply else {
            Issue.record("expected a ServerHello, got \(reply)")
            return
        }
        #expect(version == 0x0303)
        #expect(compression == RawTLSHello.nullCompression)
    }

    // MARK: - Clients that do not speak TLS

    @Test(arguments: [
        ("plain HTTP", Array("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n".utf8), "http request"),
        (
            "garbage", Array("\u{1}\u{2}not TLS at all, just bytes\r\n".utf8) + [0xff, 0xfe, 0xfd],
            "wrong version number"
        ),
    ])
    func nonTLSClientsAreClosedAndLogged(kind: String, bytes: [UInt8], reason: String) throws {
        let fixture = try RelayFixture("policy-garbage")
        defer { fixture.stop() }
        let (backend, port) = (fixture.backend, fixture.port)
        let daemon = try fixture.startDaemon()
        defer { daemon.kill() }

        let plain = try PlainClient(port: port)
        try plain.send(bytes)
        let end = try plain.waitForClose(timeout: .seconds(5))
        #expect([StreamEnd.eof, .reset].contains(end))
        let lines = try daemon.waitForLog(forClientPort: plain.localPort, containing: reason)
        #expect(lines.count == 1, "\(kind): \(lines)")
        #expect(lines.first?.contains("[127.0.0.1]:\(plain.localPort)") == true)
        #expect(backend.acceptedCount == 0)

        let next = try TLSTestClient(port: port)
        try next.handshake()
        #expect(try next.roundTrip("still serving\n") == "still serving\n")
        #expect(backend.acceptedCount == 1)
    }

    /// A port probe (connect, close, send nothing) is not an error: nothing is logged at the default level, while
    /// at level 2 the same probe is an info line (so the probe did reach the daemon).
    @Test(arguments: [1, 2])
    func aSilentProbeIsNotAnError(logLevel: Int) throws {
        let fixture = try RelayFixture("policy-probe")
        defer { fixture.stop() }
        let (backend, port) = (fixture.backend, fixture.port)
        let daemon = try fixture.startDaemon(logLevel == 1 ? [] : ["--log-level=\(logLevel)"])
        defer { daemon.kill() }

        let probe = try PlainClient(port: port)
        let probePort = probe.localPort
        probe.close()

        // Later connections on the same (single) worker: once the garbage one is logged, the probe's end, which was
        // readable before they even connected, has been handled.
        let served = try TLSTestClient(port: port)
        try served.handshake()
        #expect(try served.roundTrip("after the probe\n") == "after the probe\n")
        served.close()
        let garbage = try PlainClient(port: port)
        try garbage.send("hello?\r\n")
        try daemon.waitForLog(forClientPort: garbage.localPort, containing: "handshake failed")

        let probeLines = daemon.logLines(forClientPort: probePort)
        if logLevel == 1 {
            #expect(probeLines.isEmpty, "\(probeLines)")
        } else {
            let line = try daemon.waitForLog(forClientPort: probePort)
            #expect(line.count == 1, "\(line)")
            #expect(line.first?.contains("before starting a TLS handshake") == true, "\(line)")
        }
        #expect(backend.acceptedCount == 1)
    }
}
