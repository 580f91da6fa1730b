import Glibc
import Testing

@testable import UnwrapdCore

@Suite struct ProxyHeaderV1Tests {
    private func line(_ source: SocketAddress, _ destination: SocketAddress) -> String? {
        encoded { ProxyHeader.writeV1(source: source, destination: destination, into: $0) }
            .map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func specExampleForIPv4() {
        let header = line(testAddress("192.168.0.1", 56324), testAddress("192.168.0.11", 443))
        #expect(header == "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n")
    }

    @Test func ipv6InCanonicalForm() {
        let header = line(testAddress("2001:db8:0:0:0:0:0:1", 56324), testAddress("2001:db8::2", 443))
        #expect(header == "PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n")
    }

    @Test func longestLinesMatchTheSpecsBounds() {
        let ipv4 = line(testAddress("255.255.255.255", 65535), testAddress("255.255.255.255", 65535))
        #expect(ipv4 == "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n")
        #expect(ipv4?.utf8.count == 56)

        let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        let ipv6 = line(testAddress(full, 65535), testAddress(full, 65535))
        #expect(ipv6 == "PROXY TCP6 \(full) \(full) 65535 65535\r\n")
        #expect(ipv6?.utf8.count == 104)
        #expect(104 <= ProxyHeader.v1MaximumLength)
    }

    @Test func portsAreDecimalWithoutLeadingZeros() {
        #expect(line(testAddress("10.0.0.1", 0), testAddress("10.0.0.2", 7)) == "PROXY TCP4 10.0.0.1 10.0.0.2 0 7\r\n")
        #expect(
            line(testAddress("10.0.0.1", 10), testAddress("10.0.0.2", 100)) == "PROXY TCP4 10.0.0.1 10.0.0.2 10 100\r\n"
        )
        #expect(
            line(testAddress("10.0.0.1", 1000), testAddress("10.0.0.2", 10000))
                == "PROXY TCP4 10.0.0.1 10.0.0.2 1000 10000\r\n")
    }

    @Test func ipv4MappedSideIsReportedAsIPv4() {
        let mappedClient = line(testAddress("::ffff:192.0.2.1", 40000), testAddress("192.0.2.10", 443))
        #expect(mappedClient == "PROXY TCP4 192.0.2.1 192.0.2.10 40000 443\r\n")
        let mappedFrontend = line(testAddress("192.0.2.1", 40000), testAddress("::ffff:192.0.2.10", 443))
        #expect(mappedFrontend == "PROXY TCP4 192.0.2.1 192.0.2.10 40000 443\r\n")
        let bothMapped = line(testAddress("::ffff:192.0.2.1", 40000), testAddress("::ffff:192.0.2.10", 443))
        #expect(bothMapped == "PROXY TCP4 192.0.2.1 192.0.2.10 40000 443\r\n")
    }

    @Test func mappedBesideRealIPv6StaysIPv6() {
        let header = line(testAddress("::ffff:192.0.2.1", 40000), testAddress("2001:db8::2", 443))
        #expect(header == "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 40000 443\r\n")
    }

    @Test func mismatchedOrNonIPFamiliesAreUnknown() throws {
        #expect(line(testAddress("192.0.2.1", 1), testAddress("2001:db8::2", 443)) == "PROXY UNKNOWN\r\n")
        #expect(line(testAddress("2001:db8::1", 1), testAddress("192.0.2.2", 443)) == "PROXY UNKNOWN\r\n")
        let unix = try SocketAddress.unix(path: "/run/unwrapd.sock")
        #expect(line(unix, unix) == "PROXY UNKNOWN\r\n")
        #expect(line(SocketAddress(), testAddress("192.0.2.2", 443)) == "PROXY UNKNOWN\r\n")
    }

    @Test func refusesBuffersTooSmall() throws {
        let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        let cases = [
            (testAddress("192.168.0.1", 56324), testAddress("192.168.0.11", 443)),
            (testAddress(full, 65535), testAddress(full, 65535)),
            (testAddress("192.0.2.1", 1), testAddress("2001:db8::2", 443)),
        ]
        for (source, destination) in cases {
            let length = try #require(line(source, destination)).utf8.count
            expectRefusesShortBuffers(needing: length) {
                ProxyHeader.writeV1(source: source, destination: destination, into: $0)
            }
            #expect(
                encoded(capacity: length) { ProxyHeader.writeV1(source: source, destination: destination, into: $0) }
                    != nil)
        }
    }
}
