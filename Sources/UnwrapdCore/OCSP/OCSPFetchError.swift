/// Why fetching a certificate's OCSP response failed, as the fetcher logs it: each says what went wrong and where,
/// e.g. `http://ocsp.example.net/: connect 192.0.2.7:80: no answer within ocsp-connect-tmo (4.0 s)`.
enum OCSPFetchError: Error, Equatable, CustomStringConvertible {
    /// The certificate's responder URL is not one the fetcher can use.
    case unsupportedURL(String, String)
    /// The responder's name did not resolve.
    case unresolvable(String)
    /// A system call on the connection failed.
    case system(SystemError)
    /// No connection within `ocsp-connect-tmo` (seconds).
    case connectTimedOut(address: String, seconds: Double)
    /// No complete answer within `ocsp-resp-tmo` (seconds).
    case responseTimedOut(seconds: Double)
    /// The responder answered with an HTTP status other than 200 (the status line's rest, e.g. "404 Not Found").
    case httpStatus(String)
    /// The answer is not HTTP as expected.
    case malformedResponse(String)
    /// The answer's body is larger than a slot holds (bytes).
    case responseTooLarge(Int)
    /// The body is not a response for this certificate (the same checks as for `ocsp-resp-file`).
    case rejected(String)
    /// The request could not be made (OpenSSL).
    case request(String)

    var description: String {
        switch self {
        case .unsupportedURL(let url, let why): "responder URL \(url): \(why)"
        case .unresolvable(let reason): reason
        case .system(let error): error.description
        case .connectTimedOut(let address, let seconds):
            "connect \(address): no answer within ocsp-connect-tmo (\(seconds) s)"
        case .responseTimedOut(let seconds): "no complete answer within ocsp-resp-tmo (\(seconds) s)"
        case .httpStatus(let status): "the responder answered HTTP \(status)"
        case .malformedResponse(let what): "malformed HTTP answer: \(what)"
        case .responseTooLarge(let bytes):
            "the response is \(bytes) bytes, more than the \(OCSPHTTPExchange.largestBody) a staple may have"
        case .rejected(let why): why
        case .request(let why): "cannot make the OCSP request: \(why)"
        }
    }
}
