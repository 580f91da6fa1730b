import Glibc
import Testing

@testable import UnwrapdCore

@Suite struct ProxyHeaderV2Tests {
    /// `\r\n\r\n\0\r\nQUIT\n`
    private let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    /// 192.168.0.1 → 192.168.0.11, 56324 (0xDC04) → 443 (0x01BB), the spec's v1 example in binary.
    private let ipv4Block: [UInt8] = [192, 168, 0, 1, 192, 168, 0, 11, 0xDC, 0x04, 0x01, 0xBB]
    private let client = testAddress("192.168.0.1", 56324)
    private let frontend = testAddress("192.168.0.11", 443)

    private func header(_ connection: ProxyV2Connection, includingSSL: Bool = true) -> [UInt8]? {
        encoded { ProxyHeader.writeV2(connection, includingSSL: includingSSL, into: $0) }
    }

    @Test func ipv4WithoutTLVs() {
        let bytes = header(ProxyV2Connection(source: client, destination: frontend), includingSSL: false)
        #expect(bytes == signature + [0x21, 0x11, 0x00, 0x0C] + ipv4Block)
    }

    @Test func ipv6WithoutTLVs() {
        let source = testAddress("2001:db8::1", 56324)
        let destination = testAddress("2001:db8::2", 443)
        let bytes = header(ProxyV2Connection(source: source, destination: destination), includingSSL: false)
        let sourceOctets: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [0x01]
        let destinationOctets: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [0x02]
        #expect(
            bytes == signature + [0x21, 0x21, 0x00, 0x24] + sourceOctets + destinationOctets + [0xDC, 0x04, 0x01, 0xBB])
        #expect(bytes?.count == 16 + 36)
    }

    @Test func mappedAddressesAreSentAsIPv4() {
        let connection = ProxyV2Connection(source: testAddress("::ffff:192.168.0.1", 56324), destination: frontend)
        #expect(header(connection, includingSSL: false) == signature + [0x21, 0x11, 0x00, 0x0C] + ipv4Block)
    }

    @Test func inexpressibleAddressesAreUnspecifiedWithoutAddressBlock() throws {
        let mixed = ProxyV2Connection(source: client, destination: testAddress("2001:db8::2", 443))
        #expect(header(mixed, includingSSL: false) == signature + [0x21, 0x00, 0x00, 0x00])

        let unix = try SocketAddress.unix(path: "/run/unwrapd.sock")
        let local = ProxyV2Connection(source: unix, destination: unix, alpn: view("h2"))
        #expect(
            header(local, includingSSL: false) == signature + [0x21, 0x00, 0x00, 0x05] + [0x01, 0x00, 0x02]
                + ascii("h2"))
    }

    @Test func alpnAndAuthorityTLVs() {
        let connection = ProxyV2Connection(
            source: client, destination: frontend, alpn: view("h2"), authority: view("example.com"))
        let alpn: [UInt8] = [0x01, 0x00, 0x02] + ascii("h2")
        let authority: [UInt8] = [0x02, 0x00, 0x0B] + ascii("example.com")
        // 12 address bytes + 5 + 14 = 31 (0x1F)
        #expect(
            header(connection, includingSSL: false) == signature + [0x21, 0x11, 0x00, 0x1F] + ipv4Block + alpn
                + authority)
    }

    @Test func sslTLVWithVersionAndCipher() {
        let connection = ProxyV2Connection(
            source: client, destination: frontend, tlsVersion: view("TLSv1.3"), cipher: view("TLS_AES_128_GCM_SHA256"))
        let ssl: [UInt8] =
            [0x20, 0x00, 0x28]  // 1 + 4 + 10 + 25 = 40
            + [0x01]  // PP2_CLIENT_SSL
            + [0x00, 0x00, 0x00, 0x01]  // verify: not verified (the default)
            + [0x21, 0x00, 0x07] + ascii("TLSv1.3")
            + [0x23, 0x00, 0x16] + ascii("TLS_AES_128_GCM_SHA256")
        // 12 + 43 = 55 (0x37)
        #expect(header(connection) == signature + [0x21, 0x11, 0x00, 0x37] + ipv4Block + ssl)
    }

    @Test func sslTLVWithVerifiedClientCertificate() {
        let connection = ProxyV2Connection(
            source: client, destination: frontend,
            clientFlags: [.ssl, .certificateInConnection, .certificateInSession], verifyResult: 0,
            tlsVersion: view("TLSv1.2"), cipher: view("ECDHE-RSA-AES256-GCM-SHA384"),
            clientCommonName: view("client.example"))
        let ssl: [UInt8] =
            [0x20, 0x00, 0x3E]  // 1 + 4 + 10 + 17 + 30 = 62
            + [0x07]
            + [0x00, 0x00, 0x00, 0x00]
            + [0x21, 0x00, 0x07] + ascii("TLSv1.2")
            + [0x22, 0x00, 0x0E] + ascii("client.example")
            + [0x23, 0x00, 0x1B] + ascii("ECDHE-RSA-AES256-GCM-SHA384")
        // 12 + 65 = 77 (0x4D)
        #expect(header(connection) == signature + [0x21, 0x11, 0x00, 0x4D] + ipv4Block + ssl)
    }

    @Test func verifyResultIsBigEndian() {
        let connection = ProxyV2Connection(source: client, destination: frontend, verifyResult: 0x0102_0304)
        let ssl: [UInt8] = [0x20, 0x00, 0x05, 0x01, 0x01, 0x02, 0x03, 0x04]
        #expect(header(connection) == signature + [0x21, 0x11, 0x00, 0x14] + ipv4Block + ssl)
    }

    @Test func sslTLVIsLeftOutWhenDisabled() {
        let connection = ProxyV2Connection(
            source: client, destination: frontend, tlsVersion: view("TLSv1.3"), cipher: view("TLS_AES_128_GCM_SHA256"),
            clientCommonName: view("client.example"))
        #expect(header(connection, includingSSL: false) == signature + [0x21, 0x11, 0x00, 0x0C] + ipv4Block)
    }

    @Test func emptyViewsAreLeftOut() {
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        let connection = ProxyV2Connection(
            source: client, destination: frontend, alpn: empty, authority: empty, tlsVersion: empty, cipher: empty,
            clientCommonName: empty, clientCertificatePEM: empty)
        let ssl: [UInt8] = [0x20, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x01]
        #expect(header(connection) == signature + [0x21, 0x11, 0x00, 0x14] + ipv4Block + ssl)
    }

    @Test func everyTLVInOrderWithClientCertificateLast() {
        let pem =
            ascii("-----BEGIN CERTIFICATE-----\n") + [UInt8](repeating: 0x41, count: 2949)
            + ascii("\n-----END CERTIFICATE-----\n")
        #expect(pem.count == 3004)  // 0x0BBC
        let bytes = pem.withUnsafeBytes { pemView in
            header(
                ProxyV2Connection(
                    source: client, destination: frontend, alpn: view("http/1.1"), authority: view("a.example"),
                    clientFlags: [.ssl, .certificateInConnection], verifyResult: 0, tlsVersion: view("TLSv1.3"),
                    cipher: view("TLS_AES_256_GCM_SHA384"), clientCommonName: view("alice"),
                    clientCertificatePEM: pemView))
        }
        let alpn: [UInt8] = [0x01, 0x00, 0x08] + ascii("http/1.1")
        let authority: [UInt8] = [0x02, 0x00, 0x09] + ascii("a.example")
        let ssl: [UInt8] =
            [0x20, 0x00, 0x30, 0x03, 0x00, 0x00, 0x00, 0x00]  // 5 + 10 + 8 + 25 = 48
            + [0x21, 0x00, 0x07] + ascii("TLSv1.3")
            + [0x22, 0x00, 0x05] + ascii("alice")
            + [0x23, 0x00, 0x16] + ascii("TLS_AES_256_GCM_SHA384")
        let certificate: [UInt8] = [0xE0, 0x0B, 0xBC] + pem
        let payloadLength = ipv4Block.count + alpn.count + authority.count + ssl.count + certificate.count
        #expect(payloadLength == 3093)  // 0x0C15
        let expected = signature + [0x21, 0x11, 0x0C, 0x15] + ipv4Block + alpn + authority + ssl + certificate
        // Compared as a Bool so that a failure does not print three kilobytes twice.
        let matches = bytes.map { $0.elementsEqual(expected) } ?? false
        #expect(matches, "first difference at \(firstDifference(bytes ?? [], expected))")
    }

    @Test func refusesValuesBeyondSixteenBitLengths() {
        let tooLong = [UInt8](repeating: 0x41, count: 65_536)
        let oversizedValue = tooLong.withUnsafeBytes { pem in
            header(
                ProxyV2Connection(source: client, destination: frontend, clientCertificatePEM: pem), includingSSL: false
            )
        }
        #expect(oversizedValue == nil)

        // Each value fits, but the addresses and TLVs together exceed the header's 16-bit length.
        let large = [UInt8](repeating: 0x41, count: 65_000)
        let oversizedHeader = large.withUnsafeBytes { pem in
            header(
                ProxyV2Connection(
                    source: client, destination: frontend, authority: UnsafeRawBufferPointer(rebasing: pem[..<600]),
                    clientCertificatePEM: pem), includingSSL: false)
        }
        #expect(oversizedHeader == nil)

        let largestValue = [UInt8](repeating: 0x41, count: 65_535 - 12 - 3)
        let largest = largestValue.withUnsafeBytes { pem in
            header(
                ProxyV2Connection(source: client, destination: frontend, clientCertificatePEM: pem), includingSSL: false
            )
        }
        #expect(largest?.count == ProxyHeader.v2MaximumLength)
        #expect(largest?[14...15] == [0xFF, 0xFF])
    }

    @Test func refusesBuffersTooSmall() throws {
        let connection = ProxyV2Connection(
            source: testAddress("2001:db8::1", 1), destination: testAddress("2001:db8::2", 443), alpn: view("h2"),
            authority: view("example.com"), tlsVersion: view("TLSv1.3"), cipher: view("TLS_AES_128_GCM_SHA256"),
            clientCommonName: view("alice"), clientCertificatePEM: view("-----BEGIN CERTIFICATE-----\n"))
        let length = try #require(header(connection)).count
        expectRefusesShortBuffers(needing: length) { ProxyHeader.writeV2(connection, into: $0) }
        #expect(encoded(capacity: length) { ProxyHeader.writeV2(connection, into: $0) }?.count == length)
    }
}

/// The index of the first byte where `left` and `right` differ (or the shorter length).
private func firstDifference(_ left: [UInt8], _ right: [UInt8]) -> Int {
    zip(left, right).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(left.count, right.count)
}
