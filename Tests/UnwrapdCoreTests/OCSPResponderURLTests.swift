import Testing

@testable import UnwrapdCore

@Suite struct OCSPResponderURLTests {
    @Test func aPlainURLGivesHostPortAndPath() throws {
        let url = try OCSPResponderURL(parsing: "http://ocsp.example.net")
        #expect(url.host == "ocsp.example.net")
        #expect(url.port == "80")
        #expect(url.path == "/")
        #expect(url.authority == "ocsp.example.net")
    }

    @Test func aPortAndAPathAreKept() throws {
        let url = try OCSPResponderURL(parsing: "HTTP://r3.o.example:8080/ocsp/v1?x=1#part")
        #expect(url.host == "r3.o.example")
        #expect(url.port == "8080")
        #expect(url.path == "/ocsp/v1?x=1")
        #expect(url.authority == "r3.o.example:8080")
        #expect(try OCSPResponderURL(parsing: "http://127.0.0.1:2560?q").path == "/?q")
    }

    @Test func anIPv6LiteralLosesItsBracketsButNotInTheHostHeader() throws {
        let url = try OCSPResponderURL(parsing: "http://[::1]:2560/")
        #expect(url.host == "::1")
        #expect(url.port == "2560")
        #expect(url.authority == "[::1]:2560")
        #expect(try OCSPResponderURL(parsing: "http://[2001:db8::7]").port == "80")
    }

    @Test func whatCannotBeAskedIsRefusedWithTheReason() {
        let cases: [(String, String)] = [
            ("https://ocsp.example.net/", "only http:// responders are fetched"),
            ("ldap://ocsp.example.net/", "only http:// responders are fetched"),
            ("http:///path", "no host, or a user name in it"),
            ("http://user@ocsp.example.net/", "no host, or a user name in it"),
            ("http://ocsp.example.net:0/", "no host, or a port that is not 1-65535"),
            ("http://ocsp.example.net:http/", "no host, or a port that is not 1-65535"),
            ("http://[::1/", "an unclosed ["),
            ("http://[::1]x/", "text after the IPv6 address"),
        ]
        for (text, reason) in cases {
            #expect(throws: OCSPFetchError.unsupportedURL(text, reason)) { try OCSPResponderURL(parsing: text) }
        }
        #expect(
            OCSPFetchError.unsupportedURL("https://a/", "only http:// responders are fetched").description
                == "responder URL https://a/: only http:// responders are fetched")
    }
}
