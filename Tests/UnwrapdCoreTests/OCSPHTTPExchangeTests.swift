import Testing

@testable import UnwrapdCore

@Suite struct OCSPHTTPExchangeTests {
    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func theRequestIsAnHTTP10PostOfTheDERBody() throws {
        let url = try OCSPResponderURL(parsing: "http://ocsp.example.net:8080/r3")
        let request = OCSPHTTPExchange.request(to: url, body: [0x30, 0x03, 0x02, 0x01, 0x00])
        let head = String(decoding: request.dropLast(5), as: UTF8.self)
        #expect(head.hasPrefix("POST /r3 HTTP/1.0\r\nHost: ocsp.example.net:8080\r\n"))
        #expect(head.contains("\r\nContent-Type: application/ocsp-request\r\n"))
        #expect(head.contains("\r\nContent-Length: 5\r\n"))
        #expect(head.hasSuffix("\r\n\r\n"))
        #expect(Array(request.suffix(5)) == [0x30, 0x03, 0x02, 0x01, 0x00])
    }

    @Test func aBodyIsCompleteAtItsContentLength() throws {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\ncontent-length:  4 \r\n\r\n"
        #expect(try OCSPHTTPExchange.read(bytes(head + "ab"), ended: false) == .incomplete)
        #expect(try OCSPHTTPExchange.read(bytes(head + "abcd"), ended: false) == .body(bytes("abcd")))
        #expect(try OCSPHTTPExchange.read(bytes(head + "abcdEXTRA"), ended: true) == .body(bytes("abcd")))
    }

    @Test func withoutContentLengthTheBodyEndsWithTheConnection() throws {
        let response = bytes("HTTP/1.0 200 OK\r\n\r\n0123")
        #expect(try OCSPHTTPExchange.read(response, ended: false) == .incomplete)
        #expect(try OCSPHTTPExchange.read(response, ended: true) == .body(bytes("0123")))
        #expect(try OCSPHTTPExchange.read(bytes("HTTP/1.0 200"), ended: false) == .incomplete)
    }

    @Test func whatIsNotAUsableAnswerSaysWhy() {
        let cases: [(String, Bool, OCSPFetchError)] = [
            ("HTTP/1.1 503 Service Unavailable\r\n\r\n", true, .httpStatus("503 Service Unavailable")),
            ("SSH-2.0-OpenSSH\r\n\r\n", true, .malformedResponse("not an HTTP response: SSH-2.0-OpenSSH")),
            (
                "HTTP/1.1 200 OK\r\nContent-Len", true,
                .malformedResponse("the connection ended before the response's headers did")
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", true,
                .malformedResponse("the body ended after 3 of 9 bytes")
            ),
            ("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false, .malformedResponse("Content-Length 'x'")),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false,
                .malformedResponse("Transfer-Encoding 'chunked' in an answer to HTTP/1.0")
            ),
            ("HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n", false, .responseTooLarge(20000)),
        ]
        for (text, ended, error) in cases {
            #expect(throws: error, "\(text)") { try OCSPHTTPExchange.read(bytes(text), ended: ended) }
        }
        let tooLong = bytes("HTTP/1.0 200 OK\r\n\r\n") + [UInt8](repeating: 0x30, count: 16385)
        #expect(throws: OCSPFetchError.responseTooLarge(16385)) { try OCSPHTTPExchange.read(tooLong, ended: true) }
    }
}

/// Bytes from the network, mangled: whatever a responder (or someone on the path) sends, reading it ends in a body
/// no larger than a slot, "incomplete", or an error that says what was wrong, never a trap.
@Suite struct OCSPHTTPExchangeMangledInputTests {
    /// SplitMix64: the same inputs on every run.
    private struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    }

    @Test func mangledResponsesAreReadOrRefused() {
        let valid = Array(
            "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: 6\r\n\r\n0\u{3}\u{2}\u{1}\u{0}x"
                .utf8)
        var random = Generator(state: 35)
        var outcomes = (bodies: 0, incomplete: 0, refused: 0)
        for _ in 0..<5_000 {
            var bytes = valid
            for _ in 0...random.below(4) {
                switch random.below(4) {
                case 0 where !bytes.isEmpty: bytes[random.below(bytes.count)] = UInt8(random.below(256))
                case 1: bytes.insert(UInt8(random.below(256)), at: random.below(bytes.count + 1))
                case 2 where !bytes.isEmpty: bytes.removeSubrange(random.below(bytes.count)...)
                default: bytes += Array(repeating: UInt8(ascii: "9"), count: random.below(8))
                }
            }
            do {
                switch try OCSPHTTPExchange.read(bytes, ended: random.below(2) == 0) {
                case .body(let body):
                    #expect(body.count <= OCSPHTTPExchange.largestBody)
                    outcomes.bodies += 1
                case .incomplete: outcomes.incomplete += 1
                }
            } catch {
                #expect(!error.description.isEmpty)
                outcomes.refused += 1
            }
        }
        // Each way out is taken, so the mangling reaches past the status line.
        #expect(outcomes.bodies > 0 && outcomes.incomplete > 0 && outcomes.refused > 0, "\(outcomes)")
    }
}
