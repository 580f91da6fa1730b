import Glibc
import Testing

/// The kit pieces the relay and PROXY-protocol tests added: the PROXY v2 decoder, the /proc/net/tcp reader, the
/// worker RSS reader, and the duplex transfer (against `RelayStandIn`, in unwrapd's place).
@Suite struct RelayKitTests {
    @Test func proxyV2HeaderDecodesAddressesPortsAndTLVs() throws {
        let ssl: [UInt8] = [0x07, 0x00, 0x00, 0x00, 0x00] + [0x21, 0x00, 0x07] + Array("TLSv1.3".utf8)
        let tlvs: [UInt8] = [0x01, 0x00, 0x02] + Array("h2".utf8) + [0x20, 0x00, UInt8(ssl.count)] + ssl
        let addresses: [UInt8] = [192, 0, 2, 1, 198, 51, 100, 2, 0xDC, 0x04, 0x01, 0xBB]
        let length = addresses.count + tlvs.count
        let bytes = ProxyV2Header.signature + [0x21, 0x11, 0x00, UInt8(length)] + addresses + tlvs + [0x42]

        #expect(ProxyV2Header.headerLength(in: bytes) == 16 + length)
        let header = try ProxyV2Header.parse(bytes)
        #expect(header.version == 2)
        #expect(header.command == 1)
        #expect(header.familyAndTransport == 0x11)
        #expect(header.sourceAddress == "192.0.2.1")
        #expect(header.destinationAddress == "198.51.100.2")
        #expect(header.sourcePort == 56324)
        #expect(header.destinationPort == 443)
        #expect(header.length == bytes.count - 1)
        #expect(header.text(ProxyV2Header.TLVType.alpn) == "h2")
        let decoded = try #require(try header.ssl())
        #expect(decoded.client == 0x07)
        #expect(decoded.verify == 0)
        #expect(decoded.text(ProxyV2Header.TLVType.sslVersion) == "TLSv1.3")

        let ipv6 =
            ProxyV2Header.signature + [0x21, 0x21, 0x00, 36] + [UInt8](repeating: 0, count: 15) + [1]
            + [0x20, 0x01] + [UInt8](repeating: 0, count: 14) + [0x00, 0x01, 0x00, 0x02]
        let header6 = try ProxyV2Header.parse(ipv6)
        #expect(header6.sourceAddress == "::1")
        #expect(header6.destinationAddress == "2001::")
        #expect(header6.sourcePort == 1)
        #expect(header6.destinationPort == 2)
        #expect(header6.tlvs.isEmpty)
    }

    @Test func proxyV2HeaderRejectsWhatIsNotOne() {
        let fixed = ProxyV2Header.signature + [0x21, 0x11]
        #expect(throws: ProxyHeaderDecodingError.self) { try ProxyV2Header.parse(Array("PROXY TCP4 ".utf8)) }
        #expect(throws: ProxyHeaderDecodingError.self) { try ProxyV2Header.parse(fixed + [0x00, 0x0C] + [1, 2]) }
        #expect(throws: ProxyHeaderDecodingError.self) {
            try ProxyV2Header.parse(fixed + [0x00, 0x0F] + [UInt8](repeating: 0, count: 12) + [0x01, 0x00, 0x09])
        }
    }

    /// A silent backend never reads: what a client sends stays in the backend socket's receive queue.
    @Test func tcpSocketTableShowsUnreadBytes() throws {
        let backend = try TestBackend(.silent)
        defer { backend.stop() }
        let client = try PlainClient(port: backend.port)
        try client.send([UInt8](repeating: 7, count: 100))
        try waitUntil("100 unread bytes on the backend's socket", timeout: .seconds(5)) {
            TCPSocketTable.receiveQueue(localPort: backend.port, remotePort: client.localPort) == 100
        }
        #expect(TCPSocketTable.receiveQueue(localPort: backend.port, remotePort: 1) == nil)
    }

    @Test func residentBytesOfThisProcess() {
        let resident = ProcessTable.residentBytes(getpid())
        #expect((resident ?? 0) > 1 << 20)
        #expect(ProcessTable.residentBytes(-1) == nil)
    }

    /// Both directions at once through one `SSL*` on one thread, against the stand-in relay and an echo backend:
    /// the echo comes back while the client is still sending (a blocking client that wrote everything first would
    /// stall once the buffers on the way are full).
    @Test func duplexTransferSendsAndReceivesAtOnce() throws {
        let size = 1 << 20  // the stand-in relays with blocking sends: keep within the kernel's buffers
        let directory = try TestDirectory("kit-duplex")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(.echo, keepLimit: 0)
        defer { backend.stop() }
        let port = try Ports.freeTCPPort()
        let relay = try DaemonProcess.start(
            RelayStandIn.arguments(
                pem: try certificates.server(["a.example"]).pemFile, frontend: "[127.0.0.1]:\(port)",
                backend: backend.hitchAddress, in: directory),
            in: directory, executable: NotifyingStandIn.python)
        defer { relay.kill() }

        let client = try TLSTestClient(port: port)
        try client.handshake()
        let transfer = try client.transferDuplex(sending: size, seed: 52, timeout: .seconds(30))
        let expected = PseudoRandomStream.sha256(count: size, seed: 52)
        #expect(transfer.sentSHA256 == expected)
        #expect(transfer.received == HashedStream(byteCount: size, sha256: expected, end: .closeNotify))
        #expect(try backend.waitForConnection().waitForEOF(timeout: .seconds(10)).receivedSHA256 == expected)
    }
}
