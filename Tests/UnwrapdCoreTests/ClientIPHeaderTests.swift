import Glibc
import Testing

@testable import UnwrapdCore

@Suite struct ClientIPHeaderTests {
    private func header(_ client: SocketAddress) -> [UInt8]? {
        encoded { ProxyHeader.writeClientIP(client, into: $0) }
    }

    @Test func linuxFamilyValues() {
        // stud writes ss_family as it is: these are Linux's values, which the vectors below spell out.
        #expect(AF_INET == 2)
        #expect(AF_INET6 == 10)
    }

    @Test func ipv4IsFamilyThenFourOctets() {
        #expect(header(testAddress("192.0.2.1", 443)) == [2, 192, 0, 2, 1])
    }

    @Test func ipv6IsFamilyThenSixteenOctets() {
        let expected: [UInt8] = [10, 0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [0x01]
        #expect(header(testAddress("2001:db8::1", 443)) == expected)
    }

    @Test func mappedClientIsWrittenAsTheSocketReportsIt() {
        let expected: [UInt8] = [10] + [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 192, 0, 2, 1]
        #expect(header(testAddress("::ffff:192.0.2.1", 443)) == expected)
    }

    @Test func nonIPClientsCannotBeWritten() throws {
        #expect(header(try SocketAddress.unix(path: "/run/client.sock")) == nil)
        #expect(header(SocketAddress()) == nil)
    }

    @Test func refusesBuffersTooSmall() {
        let client4 = testAddress("192.0.2.1", 443)
        expectRefusesShortBuffers(needing: 5) { ProxyHeader.writeClientIP(client4, into: $0) }
        let client6 = testAddress("2001:db8::1", 443)
        expectRefusesShortBuffers(needing: ProxyHeader.clientIPMaximumLength) {
            ProxyHeader.writeClientIP(client6, into: $0)
        }
    }
}
