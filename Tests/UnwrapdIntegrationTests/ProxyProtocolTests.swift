import Glibc
import Testing

/// What the backend receives before the client's bytes (design §3): our PROXY v1 line, our PROXY v2 header with
/// its TLVs, stud's `--write-ip` octets, or (`--proxy-proxy`) the client's own PROXY header, verbatim.
@Suite struct ProxyProtocolTests {
    /// A client of the daemon that sent `payload` and close_notify, with what the backend received in all.
    struct Exchange {
        let client: TLSTestClient
        /// The client's port, as the daemon sees it.
        let clientPort: UInt16
        /// Everything the backend received, up to its EOF.
        let received: [UInt8]
    }

    static let payload = Array("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n".utf8)

    /// Connects to `endpoint`, handshakes, sends `payload` and close_notify; returns once the backend connection
    /// `index` saw EOF (the recording backend then closes, which the client sees as close_notify).
    private func exchange(
        with endpoint: Endpoint, backend: TestBackend, index: Int = 0,
        options: TLSClientOptions = TLSClientOptions(serverName: "a.example"), payload: [UInt8] = payload
    ) throws -> Exchange {
        let client = try TLSTestClient(connectingTo: endpoint, options: options)
        try client.handshake()
        try client.write(payload)
        try client.sendCloseNotify()
        let final = try backend.waitForConnection(index).waitForEOF()
        #expect(try client.readToEnd(timeout: .seconds(5)).end == .closeNotify)
        return Exchange(client: client, clientPort: client.localPort, received: final.received)
    }

    /// Starts the daemon of `fixture` with `flags`, listening on `host` (a fresh port), and makes one `exchange`
    /// through it; returns the daemon, the frontend and the exchange.
    private func exchange(on host: String, _ fixture: RelayFixture, _ flags: [String]) throws
        -> (daemon: DaemonProcess, frontend: Endpoint, exchange: Exchange)
    {
        let frontend = Endpoint.tcp(host: host, port: try Ports.freeTCPPort(host: host))
        let daemon = try fixture.startDaemon(frontends: [frontend], flags)
        return (daemon, frontend, try exchange(with: frontend, backend: fixture.backend))
    }

    /// A client of `port` that first sends `header` in the clear (itself, or with `sendHeader`), then handshakes and
    /// sends `payload` and close_notify; expects the backend to receive the header and then the payload, verbatim.
    @discardableResult
    private func sendBehindProxyHeader(
        _ header: [UInt8], port: UInt16, backend: TestBackend,
        sourceLocation: SourceLocation = #_sourceLocation, sendHeader: ((TLSTestClient) throws -> Void)? = nil
    ) throws -> TLSTestClient {
        let client = try TLSTestClient(port: port, options: TLSClientOptions(serverName: "a.example"))
        if let sendHeader { try sendHeader(client) } else { try Sockets.sendAll(client.fd, header) }
        try client.handshake()
        try client.write(Self.payload)
        try client.sendCloseNotify()
        #expect(
            try backend.waitForConnection().waitForEOF().received == header + Self.payload,
            sourceLocation: sourceLocation)
        return client
    }

    // MARK: - PROXY v1

    @Test(arguments: ["127.0.0.1", "::1"])
    func writeProxyV1SendsTheExactLineWithClientAndFrontendAddresses(_ host: String) throws {
        let fixture = try RelayFixture("proxy-v1", backend: .record)
        defer { fixture.stop() }
        let (daemon, frontend, exchange) = try exchange(on: host, fixture, ["--write-proxy-v1"])
        defer { daemon.kill() }

        let family = host.contains(":") ? "TCP6" : "TCP4"
        let line = "PROXY \(family) \(host) \(host) \(exchange.clientPort) \(frontend.port!)\r\n"
        #expect(
            String(decoding: exchange.received, as: UTF8.self) == line + String(decoding: Self.payload, as: UTF8.self))
        #expect(exchange.received == Array(line.utf8) + Self.payload)
        #expect(try daemon.stop() == .exited(0))
    }

    // MARK: - PROXY v2

    /// `--write-proxy` is `--write-proxy-v2`.
    @Test(arguments: ["--write-proxy-v2", "--write-proxy"])
    func writeProxyV2SendsAddressesPortsAndTLVs(_ flag: String) throws {
        let fixture = try RelayFixture("proxy-v2", backend: .record)
        defer { fixture.stop() }
        let backend = fixture.backend
        let port = fixture.port
        let daemon = try fixture.startDaemon([flag, "--alpn-protos=h2,http/1.1"])
        defer { daemon.kill() }

        let exchange = try exchange(
            with: .tcp(host: "127.0.0.1", port: port), backend: backend,
            options: TLSClientOptions(serverName: "a.example", alpn: ["http/1.1"]))
        let header = try ProxyV2Header.parse(exchange.received)
        #expect(header.version == 2)
        #expect(header.command == 1)  // PROXY
        #expect(header.familyAndTransport == 0x11)  // TCP over IPv4
        #expect(header.sourceAddress == "127.0.0.1")
        #expect(header.destinationAddress == "127.0.0.1")
        #expect(header.sourcePort == exchange.clientPort)
        #expect(header.destinationPort == port)
        #expect(header.tlvs(ProxyV2Header.TLVType.alpn).map(\.text) == ["http/1.1"])
        #expect(header.tlvs(ProxyV2Header.TLVType.authority).map(\.text) == ["a.example"])

        // No client certificate: only the SSL bit, and a verify field that does not claim a verified certificate.
        let ssl = try #require(try header.ssl())
        #expect(ssl.client == ProxyV2Header.ClientFlag.ssl)
        #expect(ssl.verify != 0)
        #expect(ssl.text(ProxyV2Header.TLVType.sslVersion) == exchange.client.versionName)
        #expect(ssl.text(ProxyV2Header.TLVType.sslCipher) == exchange.client.cipher)
        #expect(ssl.text(ProxyV2Header.TLVType.sslCommonName) == nil)
        #expect(header.tlvs(ProxyV2Header.TLVType.ssl).count == 1)

        #expect(Array(exchange.received[header.length...]) == Self.payload)
        #expect(try daemon.stop() == .exited(0))
    }

    /// Over IPv6, and without SNI or ALPN: the TLVs that have no value are left out.
    @Test func writeProxyV2OverIPv6WithoutSNIOrALPN() throws {
        let fixture = try RelayFixture("proxy-v2-ipv6", backend: .record)
        defer { fixture.stop() }
        let backend = fixture.backend
        let frontend = Endpoint.tcp(host: "::1", port: try Ports.freeTCPPort(host: "::1"))
        let daemon = try fixture.startDaemon(frontends: [frontend], ["--write-proxy-v2", "--alpn-protos=h2"])
        defer { daemon.kill() }

        let exchange = try exchange(with: frontend, backend: backend, options: TLSClientOptions())
        let header = try ProxyV2Header.parse(exchange.received)
        #expect(header.familyAndTransport == 0x21)  // TCP over IPv6
        #expect(header.sourceAddress == "::1")
        #expect(header.destinationAddress == "::1")
        #expect(header.sourcePort == exchange.clientPort)
        #expect(header.destinationPort == frontend.port)
        #expect(header.tlvs(ProxyV2Header.TLVType.alpn).isEmpty)
        #expect(header.tlvs(ProxyV2Header.TLVType.authority).isEmpty)
        #expect(try header.ssl()?.text(ProxyV2Header.TLVType.sslVersion) == exchange.client.versionName)
        #expect(Array(exchange.received[header.length...]) == Self.payload)
    }

    /// With `client-verify` (from a config file), the SSL TLV tells whether the client presented a certificate,
    /// whether it verified, and its CN; on a resumed session, that the certificate came with the session.
    @Test(arguments: ["optional", "required"])
    func writeProxyV2ReportsTheClientCertificate(_ clientVerify: String) throws {
        let fixture = try RelayFixture("proxy-v2-cert", backend: .record)
        defer { fixture.stop() }
        let (backend, certificates) = (fixture.backend, fixture.certificates)
        // Everything in the file, the frontend and backend too.
        let config = try fixture.directory.write(
            """
            frontend = "[127.0.0.1]:\(fixture.port)"
            backend = "\(backend.hitchAddress)"
            pem-file = "\(fixture.pem)"
            write-proxy-v2 = on
            client-verify = \(clientVerify)
            client-verify-ca = "\(certificates.clientCAFile)"

            """, to: "unwrapd.conf")
        let daemon = try DaemonProcess.start(["--config=\(config)"], in: fixture.directory)
        defer { daemon.kill() }
        let endpoint = Endpoint.tcp(host: "127.0.0.1", port: fixture.port)
        let alice = TLSClientOptions.clientCertificate(
            try certificates.client(commonName: "alice"), TLSClientOptions(serverName: "a.example"))

        // A full handshake with a certificate.
        let first = try TLSTestClient(connectingTo: endpoint, options: alice)
        try first.handshake()
        let session = try first.resumableSession()
        try first.write(Self.payload)
        try first.sendCloseNotify()
        let withCertificate = try ProxyV2Header.parse(try backend.waitForConnection(0).waitForEOF().received)
        let ssl = try #require(try withCertificate.ssl())
        #expect(
            ssl.client
                == ProxyV2Header.ClientFlag.ssl | ProxyV2Header.ClientFlag.certificateInConnection
                | ProxyV2Header.ClientFlag.certificateInSession)
        #expect(ssl.verify == 0)
        #expect(ssl.text(ProxyV2Header.TLVType.sslCommonName) == "alice")
        #expect(ssl.text(ProxyV2Header.TLVType.sslVersion) == first.versionName)

        // The same session resumed: no certificate on this connection, but one in the session.
        var resumedOptions = alice
        resumedOptions.session = session
        let resumed = try exchange(with: endpoint, backend: backend, index: 1, options: resumedOptions)
        #expect(resumed.client.sessionReused)
        let resumedSSL = try #require(try ProxyV2Header.parse(resumed.received).ssl())
        #expect(resumedSSL.client == ProxyV2Header.ClientFlag.ssl | ProxyV2Header.ClientFlag.certificateInSession)
        #expect(resumedSSL.verify == 0)
        #expect(resumedSSL.text(ProxyV2Header.TLVType.sslCommonName) == "alice")

        if clientVerify == "optional" {
            // No certificate at all: only the SSL bit, not verified, no CN.
            let anonymous = try exchange(with: endpoint, backend: backend, index: 2)
            let anonymousSSL = try #require(try ProxyV2Header.parse(anonymous.received).ssl())
            #expect(anonymousSSL.client == ProxyV2Header.ClientFlag.ssl)
            #expect(anonymousSSL.verify != 0)
            #expect(anonymousSSL.text(ProxyV2Header.TLVType.sslCommonName) == nil)
        }
        #expect(try daemon.stop() == .exited(0))
    }

    /// `proxy-tlv = off` leaves the SSL TLV out; the others stay.
    @Test func proxyTLVOffLeavesTheSSLTLVOut() throws {
        let fixture = try RelayFixture("proxy-tlv-off", backend: .record)
        defer { fixture.stop() }
        let backend = fixture.backend
        let directory = fixture.directory
        let config = try directory.write("proxy-tlv = off\n", to: "unwrapd.conf")
        let port = fixture.port
        let daemon = try fixture.startDaemon(["--config=\(config)", "--write-proxy-v2", "--alpn-protos=h2"])
        defer { daemon.kill() }

        let exchange = try exchange(
            with: .tcp(host: "127.0.0.1", port: port), backend: backend,
            options: TLSClientOptions(serverName: "a.example", alpn: ["h2"]))
        let header = try ProxyV2Header.parse(exchange.received)
        #expect(header.tlvs.map(\.type).sorted() == [ProxyV2Header.TLVType.alpn, ProxyV2Header.TLVType.authority])
        #expect(try header.ssl() == nil)
        #expect(Array(exchange.received[header.length...]) == Self.payload)
    }

    /// `proxy-authority = off` leaves the AUTHORITY (SNI) TLV out; the others stay.
    @Test func proxyAuthorityOffLeavesTheAuthorityTLVOut() throws {
        let fixture = try RelayFixture("proxy-auth-off", backend: .record)
        defer { fixture.stop() }
        let backend = fixture.backend
        let directory = fixture.directory
        let config = try directory.write("proxy-authority = off\n", to: "unwrapd.conf")
        let port = fixture.port
        let daemon = try fixture.startDaemon(["--config=\(config)", "--write-proxy-v2"])
        defer { daemon.kill() }

        let exchange = try exchange(with: .tcp(host: "127.0.0.1", port: port), backend: backend)
        let header = try ProxyV2Header.parse(exchange.received)
        #expect(header.tlvs(ProxyV2Header.TLVType.authority).isEmpty, "TLVs: \(header.tlvs)")
        #expect(try header.ssl() != nil)
        #expect(Array(exchange.received[header.length...]) == Self.payload)
    }

    /// `proxy-client-cert = on` adds the client certificate in PEM (TLV 0xE0, as hitch does).
    @Test func proxyClientCertificateAddsThePEM() throws {
        let fixture = try RelayFixture("proxy-v2-pem", backend: .record)
        defer { fixture.stop() }
        let (backend, certificates) = (fixture.backend, fixture.certificates)
        let config = try fixture.directory.write(
            """
            write-proxy-v2 = on
            proxy-client-cert = on
            client-verify = required
            client-verify-ca = "\(certificates.clientCAFile)"

            """, to: "unwrapd.conf")
        let port = fixture.port
        let daemon = try fixture.startDaemon(["--config=\(config)"])
        defer { daemon.kill() }

        let bob = try certificates.client(commonName: "bob")
        let exchange = try exchange(
            with: .tcp(host: "127.0.0.1", port: port), backend: backend,
            options: .clientCertificate(bob, TLSClientOptions(serverName: "a.example")))
        let header = try ProxyV2Header.parse(exchange.received)
        let pem = header.tlvs(0xE0).map { $0.text }
        #expect(pem == [try String(contentsOfFile: bob.certificateFile, encoding: .utf8)])
        #expect(try header.ssl()?.text(ProxyV2Header.TLVType.sslCommonName) == "bob")
        #expect(Array(exchange.received[header.length...]) == Self.payload)
    }

    // MARK: - write-ip

    /// stud's `--write-ip`: the family octet (AF_INET 2, AF_INET6 10) and the client's address in network order.
    @Test(arguments: ["127.0.0.1", "::1"])
    func writeIPSendsTheFamilyOctetAndTheClientAddress(_ host: String) throws {
        let fixture = try RelayFixture("proxy-write-ip", backend: .record)
        defer { fixture.stop() }
        let (daemon, _, exchange) = try exchange(on: host, fixture, ["--write-ip"])
        defer { daemon.kill() }

        let preamble: [UInt8] =
            host.contains(":")
            ? [UInt8(AF_INET6)] + [UInt8](repeating: 0, count: 15) + [1] : [UInt8(AF_INET), 127, 0, 0, 1]
        #expect(preamble.first == (host.contains(":") ? 10 : 2))
        #expect(exchange.received == preamble + Self.payload)
        #expect(try daemon.stop() == .exited(0))
    }

    // MARK: - proxy-proxy

    /// PROXY headers a load balancer in front may send: v1 for IPv4, IPv6 and UNKNOWN; v2 PROXY with TLVs, and
    /// v2 LOCAL.
    static let clientHeaders: [(name: String, bytes: [UInt8])] = [
        ("v1 TCP4", Array("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n".utf8)),
        ("v1 TCP6", Array("PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n".utf8)),
        ("v1 UNKNOWN", Array("PROXY UNKNOWN\r\n".utf8)),
        ("v2 PROXY TCP4 with TLVs", v2Header),
        ("v2 LOCAL", ProxyV2Header.signature + [0x20, 0x00, 0x00, 0x00]),
    ]

    /// v2, PROXY, TCP over IPv4 192.0.2.1:56324 → 198.51.100.2:443, TLVs AUTHORITY "lb.example", NOOP, and a
    /// custom type 0xE7 holding every byte value.
    static let v2Header: [UInt8] = {
        let addresses: [UInt8] = [192, 0, 2, 1, 198, 51, 100, 2, 0xDC, 0x04, 0x01, 0xBB]
        let authority = Array("lb.example".utf8)
        let custom = (0..<256).map { UInt8($0) }
        var tlvs: [UInt8] = [0x02, 0x00, UInt8(authority.count)] + authority
        tlvs += [0x04, 0x00, 0x02, 0x00, 0x00]
        tlvs += [0xE7, 0x01, 0x00] + custom
        let length = addresses.count + tlvs.count
        return ProxyV2Header.signature + [0x21, 0x11, UInt8(length >> 8), UInt8(length & 0xFF)] + addresses + tlvs
    }()

    @Test(arguments: clientHeaders.map(\.name))
    func proxyProxyPassesTheClientsHeaderOnVerbatim(_ name: String) throws {
        let header = Self.clientHeaders.first { $0.name == name }!.bytes
        let fixture = try RelayFixture("proxy-proxy", backend: .record)
        defer { fixture.stop() }
        let backend = fixture.backend
        let port = fixture.port
        let daemon = try fixture.startDaemon(["--proxy-proxy"])
        defer { daemon.kill() }

        let client = try sendBehindProxyHeader(header, port: port, backend: backend)
        #expect(try client.readToEnd(timeout: .seconds(5)).end == .closeNotify)
        #expect(try daemon.stop() == .exited(0))
    }

    /// A header in several writes, each read by the daemon (its socket's receive queue empty) before the next is
    /// sent: the daemon waits for the rest instead of taking a part for the whole.
    @Test(arguments: [
        ("v1", [Array("PROX".utf8), Array("Y TCP4 192.0.2.1 ".utf8), Array("198.51.100.2 56324 443\r".utf8), [0x0A]]),
        ("v2", [Array(v2Header[0..<5]), Array(v2Header[5..<15]), Array(v2Header[15..<30]), Array(v2Header[30...])]),
    ])
    func proxyProxyAcceptsAHeaderSplitAcrossWrites(_ version: String, _ pieces: [[UInt8]]) throws {
        let fixture = try RelayFixture("proxy-proxy-split", backend: .record)
        defer { fixture.stop() }
        let backend = fixture.backend
        let port = fixture.port
        let daemon = try fixture.startDaemon(["--proxy-proxy"])
        defer { daemon.kill() }

        try sendBehindProxyHeader(pieces.flatMap { $0 }, port: port, backend: backend) { client in
            let clientPort = client.localPort
            try Sockets.setOption(client.fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            for (index, piece) in pieces.enumerated() {
                try Sockets.sendAll(client.fd, piece)
                try waitUntil(
                    "the daemon to read piece \(index) of the \(version) header", timeout: .seconds(5),
                    details:
                        "receive queue: \(String(describing: TCPSocketTable.receiveQueue(localPort: port, remotePort: clientPort)))"
                ) { TCPSocketTable.receiveQueue(localPort: port, remotePort: clientPort) == 0 }
            }
            #expect(backend.acceptedCount == 0)
        }
        #expect(try daemon.stop() == .exited(0))
    }

    /// The header and the ClientHello in one TCP segment: the daemon takes the header's bytes and leaves the
    /// TLS bytes to TLS.
    @Test func proxyProxyAcceptsAHeaderArrivingWithTheClientHello() throws {
        let fixture = try RelayFixture("proxy-proxy-hello", backend: .record)
        defer { fixture.stop() }
        let backend = fixture.backend
        let port = fixture.port
        let daemon = try fixture.startDaemon(["--proxy-proxy"])
        defer { daemon.kill() }

        let header = Array("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n".utf8)
        try sendBehindProxyHeader(header, port: port, backend: backend) { client in
            // MSG_MORE: the kernel holds the header until the next write (the ClientHello) and sends both together.
            let sent = header.withUnsafeBytes {
                send(client.fd, $0.baseAddress, $0.count, Int32(MSG_MORE | MSG_NOSIGNAL))
            }
            #expect(sent == header.count)
        }
        #expect(try daemon.stop() == .exited(0))
    }

    /// What a client sends instead of a valid PROXY header, and the reason the daemon logs.
    static let invalidHeaders: [(name: String, bytes: [UInt8], halfClose: Bool, logged: String)] = [
        (
            "plain HTTP", Array("GET / HTTP/1.1\r\n\r\n".utf8), false,
            "invalid PROXY header from the client: not a PROXY protocol header"
        ),
        (
            "a TLS ClientHello", [0x16, 0x03, 0x01, 0x00, 0xC8, 0x01], false,
            "invalid PROXY header from the client: not a PROXY protocol header"
        ),
        (
            "v1 unknown protocol", Array("PROXY TCP9 192.0.2.1 198.51.100.2 56324 443\r\n".utf8), false,
            "invalid PROXY header from the client: PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN"
        ),
        (
            "v1 bad address", Array("PROXY TCP4 192.0.2.300 198.51.100.2 56324 443\r\n".utf8), false,
            "invalid PROXY header from the client: PROXY v1 address is not a valid address of the announced family"
        ),
        (
            "v2 version 3", ProxyV2Header.signature + [0x31, 0x11, 0x00, 0x0C], false,
            "invalid PROXY header from the client: PROXY v2 header with a version other than 2"
        ),
        (
            "v1 cut short", Array("PROXY TCP4 192.0.2.1 ".utf8), true,
            "client closed the connection in the middle of its PROXY header"
        ),
    ]

    @Test(arguments: invalidHeaders.map(\.name))
    func proxyProxyClosesOnAnInvalidHeaderWithoutABackendConnection(_ name: String) throws {
        let invalid = Self.invalidHeaders.first { $0.name == name }!
        let fixture = try RelayFixture("proxy-proxy-bad", backend: .record)
        defer { fixture.stop() }
        let backend = fixture.backend
        let port = fixture.port
        let daemon = try fixture.startDaemon(["--proxy-proxy"])
        defer { daemon.kill() }

        let client = try PlainClient(port: port)
        let clientPort = client.localPort
        try client.send(invalid.bytes)
        if invalid.halfClose { try client.shutdownWrite() }
        #expect([StreamEnd.eof, .reset].contains(try client.waitForClose(timeout: .seconds(5))))
        let lines = try daemon.waitForLog(forClientPort: clientPort, containing: invalid.logged)
        #expect(lines.contains { $0.contains("[127.0.0.1]:\(clientPort) on [127.0.0.1]:\(port): \(invalid.logged)") })
        #expect(backend.acceptedCount == 0)

        // The daemon goes on serving clients with a valid header.
        let header = Array("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n".utf8)
        try sendBehindProxyHeader(header, port: port, backend: backend)
        #expect(backend.acceptedCount == 1)
        #expect(try daemon.stop() == .exited(0))
    }
}
