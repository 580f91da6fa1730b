import Testing

@testable import UnwrapdCore

@Suite struct EndpointTests {
    @Test func frontendWithHostAndPort() throws {
        #expect(try Endpoint.frontend("[127.0.0.1]:443") == Frontend(host: "127.0.0.1", port: "443"))
        #expect(try Endpoint.frontend("[localhost]:https") == Frontend(host: "localhost", port: "https"))
    }

    @Test func starMeansEveryAddress() throws {
        #expect(try Endpoint.frontend("[*]:8443") == Frontend(host: nil, port: "8443"))
        #expect(try Endpoint.frontend("*,8443") == Frontend(host: nil, port: "8443"))
    }

    @Test func ipv6LiteralsInBrackets() throws {
        #expect(try Endpoint.frontend("[::1]:8443") == Frontend(host: "::1", port: "8443"))
        #expect(try Endpoint.frontend("[2001:db8::1]:0") == Frontend(host: "2001:db8::1", port: "0"))
        #expect(try Endpoint.backend("[fe80::1%eth0]:80") == .inet(host: "fe80::1%eth0", port: "80"))
    }

    @Test func studsCommaForm() throws {
        #expect(try Endpoint.frontend("0.0.0.0,443") == Frontend(host: "0.0.0.0", port: "443"))
        #expect(try Endpoint.frontend("::1,443") == Frontend(host: "::1", port: "443"))
        #expect(try Endpoint.backend("127.0.0.1,8080") == .inet(host: "127.0.0.1", port: "8080"))
    }

    @Test func frontendCertificateAfterPlus() throws {
        var expected = Frontend(host: nil, port: "443")
        expected.certificates = [CertificateSource(path: "/etc/certs/a+b.pem")]
        #expect(try Endpoint.frontend("[*]:443+/etc/certs/a+b.pem") == expected)
        #expect(try Endpoint.frontend("*,443+/etc/certs/a+b.pem") == expected)
        #expect(throws: ValueError(expected: "a certificate path after \"+\"", found: "[*]:443+")) {
            try Endpoint.frontend("[*]:443+")
        }
    }

    @Test(arguments: ["foo", "127.0.0.1:443", "[127.0.0.1]", "[127.0.0.1]443", "[]:443", "[::1:443", ",443", ""])
    func malformedFrontends(_ text: String) {
        #expect(throws: ValueError(expected: #""[HOST]:PORT[+CERT]" or "HOST,PORT[+CERT]""#, found: text)) {
            try Endpoint.frontend(text)
        }
    }

    @Test func portsAreNumbersUpTo65535OrServiceNames() throws {
        #expect(try Endpoint.port("65535", allowsZero: false) == "65535")
        #expect(try Endpoint.port("0", allowsZero: true) == "0")
        #expect(try Endpoint.port("http-alt", allowsZero: false) == "http-alt")
        let frontendPorts = "a port number from 0 to 65535 or a service name"
        #expect(throws: ValueError(expected: frontendPorts, found: "65536")) { try Endpoint.frontend("[*]:65536") }
        #expect(throws: ValueError(expected: frontendPorts, found: "")) { try Endpoint.frontend("[*]:") }
        #expect(throws: ValueError(expected: frontendPorts, found: "-1")) { try Endpoint.frontend("[*]:-1") }
        #expect(throws: ValueError(expected: frontendPorts, found: "80:81")) { try Endpoint.frontend("[*]:80:81") }
        #expect(throws: ValueError(expected: "a port number from 1 to 65535 or a service name", found: "0")) {
            try Endpoint.backend("[127.0.0.1]:0")
        }
    }

    @Test func backendUnixSocketPaths() throws {
        #expect(try Endpoint.backend("/run/varnish.sock") == .unix(path: "/run/varnish.sock"))
        #expect(try Endpoint.backend("./backend.sock") == .unix(path: "./backend.sock"))
        #expect(try Endpoint.backend("/tmp/a,b") == .unix(path: "/tmp/a,b"))
    }

    @Test func backendCannotBeAWildcard() {
        let expected = #"a backend host name or address ("*" is for frontends)"#
        #expect(throws: ValueError(expected: expected, found: "*")) { try Endpoint.backend("[*]:80") }
        #expect(throws: ValueError(expected: expected, found: "*")) { try Endpoint.backend("*,80") }
    }

    @Test(arguments: ["foo", "localhost:80", "[localhost]", "", "[127.0.0.1]:80+cert.pem"])
    func malformedBackends(_ text: String) {
        #expect(throws: ValueError.self) { try Endpoint.backend(text) }
    }

    @Test func backendShapeErrorNamesTheAcceptedForms() {
        #expect(throws: ValueError(expected: #""[HOST]:PORT", "HOST,PORT" or a UNIX socket path"#, found: "foo")) {
            try Endpoint.backend("foo")
        }
    }
}
