import Glibc
import Testing

@testable import UnwrapdCore

@Suite struct ProxyHeaderParserTests {
    private typealias Result = ProxyHeaderParser.Result

    private let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    /// The start of a TLS 1.2/1.3 ClientHello record.
    private let clientHello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]

    private func parse(_ bytes: [UInt8]) -> Result {
        bytes.withUnsafeBytes { ProxyHeaderParser.parse($0) }
    }

    private func parse(_ text: String) -> Result { parse(ascii(text)) }

    /// Parses every proper prefix of `header` — each in a buffer cut from the whole header, so that reading past the
    /// end would see the rest — and expects `needMoreBytes`; then expects `complete` for the header alone and with
    /// TLS bytes after it.
    private func expectComplete(
        _ header: [UInt8], source: SocketAddress?, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        header.withUnsafeBytes { whole in
            for length in 0..<header.count {
                let result = ProxyHeaderParser.parse(UnsafeRawBufferPointer(rebasing: whole[..<length]))
                #expect(result == .needMoreBytes, "prefix of \(length) bytes", sourceLocation: sourceLocation)
            }
        }
        #expect(parse(header) == .complete(length: header.count, source: source), sourceLocation: sourceLocation)
        #expect(
            parse(header + clientHello) == .complete(length: header.count, source: source),
            sourceLocation: sourceLocation)
    }

    /// Expects `bytes` to be refused with `error`, and each of its prefixes either to need more bytes or to be refused
    /// for the same reason: the verdict does not depend on how the bytes were split across reads.
    private func expectInvalid(
        _ bytes: [UInt8], _ error: ProxyHeaderError, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(parse(bytes) == .invalid(error), sourceLocation: sourceLocation)
        for length in 0..<bytes.count {
            let result = parse(Array(bytes.prefix(length)))
            #expect(
                result == .needMoreBytes || result == .invalid(error), "prefix of \(length) bytes: \(result)",
                sourceLocation: sourceLocation)
        }
    }

    private func expectInvalid(
        _ text: String, _ error: ProxyHeaderError, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        expectInvalid(ascii(text), error, sourceLocation: sourceLocation)
    }

    // MARK: - v1

    @Test func v1SpecExample() {
        expectComplete(
            ascii("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"), source: testAddress("192.168.0.1", 56324))
    }

    @Test func v1IPv6() {
        expectComplete(
            ascii("PROXY TCP6 2001:db8::1 2001:DB8::2 56324 443\r\n"), source: testAddress("2001:db8::1", 56324))
        expectComplete(
            ascii("PROXY TCP6 ::ffff:192.0.2.1 ::ffff:192.0.2.2 1 0\r\n"), source: testAddress("::ffff:192.0.2.1", 1))
    }

    @Test func v1LongestLines() {
        let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        expectComplete(ascii("PROXY TCP6 \(full) \(full) 65535 65535\r\n"), source: testAddress(full, 65535))
        let worstCase = ascii("PROXY UNKNOWN \(full) \(full) 65535 65535\r\n")
        #expect(worstCase.count == 107)
        expectComplete(worstCase, source: nil)
    }

    @Test func v1Unknown() {
        expectComplete(ascii("PROXY UNKNOWN\r\n"), source: nil)
        expectComplete(ascii("PROXY UNKNOWN anything the sender likes\r\n"), source: nil)
        expectInvalid("PROXY UNKNOWNX\r\n", .v1UnknownProtocol)
    }

    @Test func v1WithoutCRLFIn107BytesIsTooLong() {
        let unterminated = ascii("PROXY UNKNOWN ") + [UInt8](repeating: UInt8(ascii: "f"), count: 93)
        #expect(unterminated.count == 107)
        #expect(parse(Array(unterminated.dropLast())) == .needMoreBytes)
        expectInvalid(unterminated, .v1LineTooLong)
        expectInvalid(unterminated + ascii("\r\n"), .v1LineTooLong)
        expectInvalid(Array(unterminated.dropLast()) + ascii("\r\n"), .v1LineTooLong)
        #expect(parse(Array(unterminated.dropLast(2)) + ascii("\r\n")) == .complete(length: 107, source: nil))
    }

    @Test func v1LineEndingsMustBeOneFinalCRLF() {
        expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", .v1BadLineEnding)
        expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", .v1BadLineEnding)
        expectInvalid("PROXY UNKNOWN a\rb\r\n", .v1BadLineEnding)
        expectInvalid("PROXY \n", .v1BadLineEnding)
        // Refused before the line is complete.
        #expect(parse("PROXY TCP4 1.2.3.4\r5") == .invalid(.v1BadLineEnding))
        #expect(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r") == .needMoreBytes)
    }

    @Test func v1ProtocolMustBeKnown() {
        expectInvalid("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", .v1UnknownProtocol)
        expectInvalid("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", .v1UnknownProtocol)
        expectInvalid("PROXY \r\n", .v1UnknownProtocol)
        // Refused as soon as the protocol cannot match.
        #expect(parse("PROXY TCP") == .needMoreBytes)
        #expect(parse("PROXY TCX") == .invalid(.v1UnknownProtocol))
        #expect(parse("PROXY TCP4X") == .invalid(.v1UnknownProtocol))
    }

    @Test func v1NeedsFourFieldsWithSingleSpaces() {
        expectInvalid("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", .v1Malformed)
        expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", .v1Malformed)
        expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", .v1Malformed)
        expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", .v1Malformed)
        expectInvalid("PROXY TCP4 \r\n", .v1Malformed)
        expectInvalid("PROXY TCP4\r\n", .v1UnknownProtocol)
        // Refused before the line is complete when a character cannot belong to it.
        #expect(parse(ascii("PROXY TCP4 1.2.3.4 ") + clientHello) == .invalid(.v1Malformed))
        #expect(parse(ascii("PROXY TCP6 2001:db8::g")) == .invalid(.v1Malformed))
    }

    @Test func v1AddressesMustBeCanonicalForTheFamily() {
        expectInvalid("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", .v1InvalidAddress)
        expectInvalid("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", .v1InvalidAddress)
        expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n", .v1InvalidAddress)
        expectInvalid("PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n", .v1InvalidAddress)
        expectInvalid("PROXY TCP6 1.2.3.4 2001:db8::2 1 2\r\n", .v1InvalidAddress)
        expectInvalid("PROXY TCP6 1::2::3 2001:db8::2 1 2\r\n", .v1InvalidAddress)
        let tooLong = String(repeating: "0", count: 46)
        expectInvalid("PROXY TCP6 \(tooLong) ::1 1 2\r\n", .v1InvalidAddress)
        expectInvalid(ascii("PROXY TCP4 1.2.3.4") + [0] + ascii("9 5.6.7.8 1 2\r\n"), .v1Malformed)
    }

    @Test func v1PortsAreDecimalWithoutLeadingZeros() {
        expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 0443 2\r\n", .v1InvalidPort)
        expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", .v1InvalidPort)
        expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1 123456\r\n", .v1InvalidPort)
        expectInvalid("PROXY TCP4 1.2.3.4 5.6.7.8 1 a\r\n", .v1InvalidPort)
        #expect(
            parse("PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n") == .complete(length: 36, source: testAddress("1.2.3.4", 0)))
    }

    @Test func whatOurV1EncoderWritesParsesBack() {
        let pairs = [
            (testAddress("192.0.2.1", 40000), testAddress("192.0.2.10", 443)),
            (testAddress("2001:db8::1", 1), testAddress("2001:db8::2", 8443)),
            (testAddress("::ffff:192.0.2.1", 40000), testAddress("192.0.2.10", 443)),
            (testAddress("192.0.2.1", 40000), testAddress("2001:db8::2", 443)),
        ]
        let sources: [SocketAddress?] = [
            testAddress("192.0.2.1", 40000), testAddress("2001:db8::1", 1), testAddress("192.0.2.1", 40000), nil,
        ]
        for ((source, destination), expectedSource) in zip(pairs, sources) {
            let header = encoded { ProxyHeader.writeV1(source: source, destination: destination, into: $0) } ?? []
            expectComplete(header, source: expectedSource)
        }
    }

    // MARK: - v2

    private func v2(command versionAndCommand: UInt8 = 0x21, _ family: UInt8, _ payload: [UInt8]) -> [UInt8] {
        signature + [versionAndCommand, family, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)] + payload
    }

    private let ipv4Block: [UInt8] = [192, 168, 0, 1, 192, 168, 0, 11, 0xDC, 0x04, 0x01, 0xBB]

    @Test func v2IPv4AndIPv6() {
        expectComplete(v2(0x11, ipv4Block), source: testAddress("192.168.0.1", 56324))
        let source: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
        let destination: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [2]
        expectComplete(
            v2(0x21, source + destination + [0xDC, 0x04, 0x01, 0xBB]), source: testAddress("2001:db8::1", 56324))
    }

    @Test func v2WithTLVs() {
        let tlvs: [UInt8] = [0x01, 0x00, 0x02] + ascii("h2") + [0x04, 0x00, 0x00] + [0xEA, 0x00, 0x03, 1, 2, 3]
        expectComplete(v2(0x11, ipv4Block + tlvs), source: testAddress("192.168.0.1", 56324))
    }

    @Test func v2LocalUnspecifiedAndUnix() {
        // A load balancer's health check: LOCAL, no addresses, and LOCAL with addresses it asks us to ignore.
        expectComplete(v2(command: 0x20, 0x00, []), source: nil)
        expectComplete(v2(command: 0x20, 0x11, ipv4Block), source: nil)
        expectComplete(v2(command: 0x20, 0x00, [1, 2, 3]), source: nil)
        expectComplete(v2(command: 0x21, 0x00, []), source: nil)
        expectComplete(v2(command: 0x21, 0x31, [UInt8](repeating: 0x61, count: 216)), source: nil)
    }

    @Test func v2LengthIsBounded() {
        let largest = v2(0x11, ipv4Block + [0xE0, 0x10, 0xC9] + [UInt8](repeating: 0x41, count: 0x10C9))
        #expect(largest.count == ProxyHeaderParser.maximumV2Length)
        #expect(parse(largest) == .complete(length: 4328, source: testAddress("192.168.0.1", 56324)))

        let oversize = v2(0x11, ipv4Block + [0xE0, 0x10, 0xCA] + [UInt8](repeating: 0x41, count: 0x10CA))
        expectInvalid(oversize, .v2TooLong)
        // Refused as soon as the length field has arrived.
        #expect(parse(Array(oversize.prefix(16))) == .invalid(.v2TooLong))
        #expect(parse(signature + [0x21, 0x11, 0xFF, 0xFF]) == .invalid(.v2TooLong))
    }

    @Test func v2VersionCommandAndFamilyAreChecked() {
        expectInvalid(v2(command: 0x11, 0x11, ipv4Block), .v2UnsupportedVersion)
        expectInvalid(v2(command: 0x31, 0x11, ipv4Block), .v2UnsupportedVersion)
        expectInvalid(v2(command: 0x22, 0x11, ipv4Block), .v2UnknownCommand)
        expectInvalid(v2(command: 0x21, 0x12, ipv4Block), .v2UnsupportedFamily)  // UDP over IPv4
        expectInvalid(v2(command: 0x21, 0x41, ipv4Block), .v2UnsupportedFamily)
        expectInvalid(v2(command: 0x21, 0x01, []), .v2UnsupportedFamily)
        // Each is refused on the byte that carries it.
        #expect(parse(signature + [0x11]) == .invalid(.v2UnsupportedVersion))
        #expect(parse(signature + [0x21, 0x22]) == .invalid(.v2UnsupportedFamily))
    }

    @Test func v2AddressesMustFitTheLength() {
        expectInvalid(v2(0x11, Array(ipv4Block.prefix(8))), .v2AddressesTruncated)
        expectInvalid(v2(0x21, ipv4Block), .v2AddressesTruncated)
        expectInvalid(v2(command: 0x21, 0x31, [UInt8](repeating: 0, count: 215)), .v2AddressesTruncated)
    }

    @Test func v2TLVsMustFillTheHeader() {
        expectInvalid(v2(0x11, ipv4Block + [0x01, 0x00, 0x05, 0x68, 0x32]), .v2MalformedTLV)
        expectInvalid(v2(0x11, ipv4Block + [0x01, 0x00]), .v2MalformedTLV)
        expectInvalid(v2(0x11, ipv4Block + [0x00]), .v2MalformedTLV)
    }

    @Test func whatOurV2EncoderWritesParsesBack() {
        let connection = ProxyV2Connection(
            source: testAddress("2001:db8::1", 50000), destination: testAddress("2001:db8::2", 443), alpn: view("h2"),
            authority: view("example.com"), tlsVersion: view("TLSv1.3"), cipher: view("TLS_AES_128_GCM_SHA256"),
            clientCommonName: view("alice"), clientCertificatePEM: view("-----BEGIN CERTIFICATE-----\n"))
        let header = encoded { ProxyHeader.writeV2(connection, into: $0) } ?? []
        expectComplete(header, source: testAddress("2001:db8::1", 50000))
    }

    // MARK: - Not a PROXY header

    @Test func nothingYetNeedsMoreBytes() {
        #expect(parse([]) == .needMoreBytes)
        #expect(parse("P") == .needMoreBytes)
        #expect(parse([0x0D, 0x0A, 0x0D, 0x0A]) == .needMoreBytes)
    }

    @Test func tlsClientHelloFirstIsRefusedOnItsFirstByte() {
        expectInvalid(clientHello, .notProxyProtocol)
        #expect(parse([0x16]) == .invalid(.notProxyProtocol))
    }

    @Test func plainHTTPIsRefused() {
        expectInvalid("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", .notProxyProtocol)
        expectInvalid("PUT / HTTP/1.1\r\n", .notProxyProtocol)
        #expect(parse("PO") == .invalid(.notProxyProtocol))
        #expect(parse("PROXYTCP4") == .invalid(.notProxyProtocol))
        expectInvalid("PRO\r\n", .notProxyProtocol)
    }

    @Test func garbageIsRefused() {
        #expect(parse([0x00, 0x01, 0x02]) == .invalid(.notProxyProtocol))
        #expect(parse([0x0D, 0x0A, 0x0D, 0x0A, 0x01]) == .invalid(.notProxyProtocol))
        #expect(parse(signature.dropLast() + [0x0B]) == .invalid(.notProxyProtocol))
        expectInvalid([UInt8](repeating: 0xFF, count: 200), .notProxyProtocol)
    }

    @Test func errorsExplainThemselves() {
        #expect(ProxyHeaderError.notProxyProtocol.description == "not a PROXY protocol header")
        #expect(ProxyHeaderError.v1LineTooLong.description == "PROXY v1 line without CRLF in its first 107 bytes")
        #expect(ProxyHeaderError.v2TooLong.description == "PROXY v2 header longer than 4328 bytes")
        #expect(ProxyHeaderParser.maximumLength == 4328)
    }
}
