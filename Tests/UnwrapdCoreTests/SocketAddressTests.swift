import Glibc
import Testing

@testable import UnwrapdCore

@Suite struct SocketAddressTests {
    @Test func describesIPv4() {
        let address = testAddress("192.0.2.1", 443)
        #expect(address.description == "[192.0.2.1]:443")
        #expect(address.family == AF_INET)
        #expect(address.port == 443)
        #expect(address.length == socklen_t(MemoryLayout<sockaddr_in>.size))
    }

    @Test func describesIPv6InCanonicalForm() {
        #expect(testAddress("2001:DB8:0:0::1", 8443).description == "[2001:db8::1]:8443")
        #expect(testAddress("fe80::1", 443, scope: 2).description == "[fe80::1%2]:443")
        #expect(testAddress("::", 0).description == "[::]:0")
    }

    @Test func describesUnixSockets() throws {
        #expect(try SocketAddress.unix(path: "/run/backend.sock").description == "/run/backend.sock")
        var unnamed = sockaddr_un()
        unnamed.sun_family = sa_family_t(AF_UNIX)
        let address = withUnsafePointer(to: &unnamed) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                SocketAddress($0, length: socklen_t(MemoryLayout<sa_family_t>.size))
            }
        }
        #expect(address.description == "unnamed UNIX socket")
        #expect(address.port == nil)
    }

    @Test func emptyAddressIsUnspecified() {
        let address = SocketAddress()
        #expect(address.family == AF_UNSPEC)
        #expect(address.description == "family 0")
        #expect(address.port == nil)
    }

    @Test func recognisesIPv4MappedIPv6() {
        let mapped = testAddress("::ffff:192.0.2.7", 5000)
        #expect(mapped.isIPv4MappedIPv6)
        #expect(mapped.unmappedIPv4.map { SocketAddress($0) } == testAddress("192.0.2.7", 5000))
        #expect(!testAddress("::192.0.2.7", 5000).isIPv4MappedIPv6)
        #expect(!testAddress("2001:db8::ffff:c000:207", 5000).isIPv4MappedIPv6)
        #expect(!testAddress("192.0.2.7", 5000).isIPv4MappedIPv6)
        #expect(testAddress("2001:db8::1", 1).unmappedIPv4 == nil)
    }

    @Test func recognisesLoopbackAddresses() throws {
        for loopback in ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"] {
            #expect(testAddress(loopback, 80).isLoopback, "\(loopback)")
        }
        for other in [
            "128.0.0.1", "10.127.0.1", "0.0.0.0", "::", "::2", "::127.0.0.1", "2001:db8::1", "::ffff:10.0.0.1",
        ] {
            #expect(!testAddress(other, 80).isLoopback, "\(other)")
        }
        #expect(try !SocketAddress.unix(path: "/run/backend.sock").isLoopback)
    }

    @Test func equalityComparesFamilyAddressAndPort() {
        #expect(testAddress("192.0.2.1", 443) == testAddress("192.0.2.1", 443))
        #expect(testAddress("192.0.2.1", 443) != testAddress("192.0.2.1", 444))
        #expect(testAddress("192.0.2.1", 443) != testAddress("::ffff:192.0.2.1", 443))
    }

    @Test func resolvesNumericHostsWithoutDNS() throws {
        func resolve(_ host: String, _ port: String) throws -> [SocketAddress] {
            try SocketAddress.resolve(host: host, port: port, passive: false)
        }
        #expect(try resolve("192.0.2.1", "443") == [testAddress("192.0.2.1", 443)])
        #expect(try resolve("2001:db8::1", "8443") == [testAddress("2001:db8::1", 8443)])
        #expect(try resolve("127.0.0.1", "https") == [testAddress("127.0.0.1", 443)])
    }

    @Test func resolvesLocalhostToLoopbackAddresses() throws {
        let addresses = try SocketAddress.resolve(host: "localhost", port: "8000", passive: false)
        #expect(!addresses.isEmpty)
        for address in addresses {
            #expect(address.port == 8000)
            let loopback = address.description.hasPrefix("[127.") || address.description == "[::1]:8000"
            #expect(loopback, "\(address) is not a loopback address")
        }
    }

    @Test func passiveLookupWithoutHostGivesWildcards() throws {
        let addresses = try SocketAddress.resolve(host: nil, port: "8443", passive: true)
        #expect(addresses.contains(testAddress("0.0.0.0", 8443)))
        for address in addresses {
            #expect(address == testAddress("0.0.0.0", 8443) || address == testAddress("::", 8443))
        }
    }

    @Test func unknownServiceNamesThePortAndTheReason() {
        let expected = AddressError.unresolvable(host: "::1", port: "nosuchservice", reason: gaiText(EAI_SERVICE))
        #expect(throws: expected) { try SocketAddress.resolve(host: "::1", port: "nosuchservice", passive: false) }
        #expect(expected.description == "cannot resolve [::1]:nosuchservice: Servname not supported for ai_socktype")
    }

    @Test func unknownHostNamesTheHost() {
        do {
            _ = try SocketAddress.resolve(host: "no-such-host.invalid", port: "443", passive: false)
            Issue.record("resolved a host in the reserved .invalid domain")
        } catch {
            // Without DNS the lookup fails with EAI_AGAIN instead of EAI_NONAME; either way the message says which.
            let reasons = [gaiText(EAI_NONAME), gaiText(EAI_AGAIN)]
            #expect(
                reasons.contains { error.description == "cannot resolve [no-such-host.invalid]:443: \($0)" }, "\(error)"
            )
        }
    }

    @Test func unixPathFillsSockaddrUn() throws {
        let address = try SocketAddress.unix(path: "/tmp/b.sock")
        #expect(address.family == AF_UNIX)
        #expect(Int(address.length) == MemoryLayout<sa_family_t>.size + "/tmp/b.sock".utf8.count + 1)
    }

    @Test func unixPathLongerThanSunPathIsRefused() throws {
        let longest = "/" + String(repeating: "a", count: 106)
        #expect(try SocketAddress.unix(path: longest).description == longest)
        let tooLong = longest + "b"
        #expect(throws: AddressError.unixPathTooLong(path: tooLong, maximum: 107)) {
            try SocketAddress.unix(path: tooLong)
        }
        #expect(
            AddressError.unixPathTooLong(path: tooLong, maximum: 107).description
                == "UNIX socket path \"\(tooLong)\" is 108 bytes long; at most 107 fit in sockaddr_un")
        #expect(throws: AddressError.invalidUnixPath(path: "")) { try SocketAddress.unix(path: "") }
        #expect(throws: AddressError.invalidUnixPath(path: "a\u{0}b")) { try SocketAddress.unix(path: "a\u{0}b") }
    }

    @Test func bindsAndReadsBackWhatTheKernelReports() throws {
        let loopback = try #require(try SocketAddress.resolve(host: "127.0.0.1", port: "0", passive: true).first)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(loopback.withSockAddr { bind(fd, $0, $1) } == 0)

        var bound = SocketAddress()
        #expect(bound.withUnsafeMutableSockAddr { getsockname(fd, $0, $1) } == 0)
        #expect(bound.family == AF_INET)
        #expect(bound.length == socklen_t(MemoryLayout<sockaddr_in>.size))
        let port = try #require(bound.port)
        #expect(port != 0)
        #expect(bound.description == "[127.0.0.1]:\(port)")
    }

    private func gaiText(_ code: Int32) -> String { String(cString: gai_strerror(code)) }
}
