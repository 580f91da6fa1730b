/// The HTTP of one OCSP request (RFC 6960, appendix A.1): a POST of the DER request, HTTP/1.0 so that the responder
/// closes the connection after its answer, and the reading of that answer.
enum OCSPHTTPExchange {
    /// The largest response body taken: what a shared slot holds.
    static let largestBody = 16384
    /// The most bytes read before the end of the response's headers.
    static let largestHead = 16384

    /// The request's bytes: headers, then the DER-encoded OCSP request.
    static func request(to url: OCSPResponderURL, body: [UInt8]) -> [UInt8] {
        let head =
            "POST \(url.path) HTTP/1.0\r\nHost: \(url.authority)\r\nContent-Type: application/ocsp-request\r\n"
            + "Content-Length: \(body.count)\r\nAccept: application/ocsp-response\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + body
    }

    /// What the bytes received so far say.
    enum Reading: Equatable {
        /// More bytes are needed: the headers are incomplete, or the body is shorter than Content-Length.
        case incomplete
        /// The whole body.
        case body([UInt8])
    }

    /// Reads the response in `received`; `ended`: the responder closed the connection after these bytes. A status
    /// other than 200, a malformed head, a body cut short or larger than `largestBody` is an error that says so.
    static func read(_ received: [UInt8], ended: Bool) throws(OCSPFetchError) -> Reading {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let headEnd = received.firstRange(of: separator)?.lowerBound else {
            if ended { throw .malformedResponse("the connection ended before the response's headers did") }
            if received.count > largestHead { throw .malformedResponse("headers longer than \(largestHead) bytes") }
            return .incomplete
        }
        let lines = String(decoding: received[..<headEnd], as: UTF8.self).split(separator: "\r\n")
        let statusLine = lines.first.map(String.init) ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw .malformedResponse("not an HTTP response: \(statusLine.prefix(80))")
        }
        guard status == 200 else { throw .httpStatus(String(statusLine.dropFirst(parts[0].count + 1).prefix(80))) }
        var contentLength: Int? = nil
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingSpaces.lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            if name == "content-length" {
                guard let length = Int(value), length >= 0 else {
                    throw .malformedResponse("Content-Length '\(value.prefix(40))'")
                }
                contentLength = length
            } else if name == "transfer-encoding", value.lowercased() != "identity" {
                throw .malformedResponse("Transfer-Encoding '\(value.prefix(40))' in an answer to HTTP/1.0")
            }
        }
        let body = received[(headEnd + separator.count)...]
        if max(contentLength ?? 0, body.count) > largestBody {
            throw .responseTooLarge(max(contentLength ?? 0, body.count))
        }
        if let length = contentLength {
            if body.count >= length { return .body(Array(body.prefix(length))) }
            if ended { throw .malformedResponse("the body ended after \(body.count) of \(length) bytes") }
            return .incomplete
        }
        return ended ? .body(Array(body)) : .incomplete
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace around a header's value).
    fileprivate var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return self[first...last]
    }
}
