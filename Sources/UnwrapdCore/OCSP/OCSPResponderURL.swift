/// Where a certificate's OCSP responder answers, from the URL in its authorityInfoAccess extension:
/// `http://HOST[:PORT][/PATH]`. Only `http`: OCSP responses are signed by the CA, so responders are plain HTTP
/// (RFC 6960, appendix A.1), and hitch fetches over plain HTTP too.
struct OCSPResponderURL: Equatable {
    /// The host name or address, without the brackets of an IPv6 literal.
    let host: String
    /// The port, "80" when the URL names none.
    let port: String
    /// The request path, "/" when the URL names none.
    let path: String
    /// The Host header: the URL's host and port as written.
    let authority: String
    /// The URL as the certificate gives it, for log lines.
    let text: String

    init(parsing text: String) throws(OCSPFetchError) {
        self.text = text
        let scheme = "http://"
        guard text.lowercased().hasPrefix(scheme) else {
            throw .unsupportedURL(text, "only http:// responders are fetched")
        }
        let rest = text.dropFirst(scheme.count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let path = rest.dropFirst(authority.count).prefix { $0 != "#" }
        guard !authority.isEmpty, !authority.contains("@") else {
            throw .unsupportedURL(text, "no host, or a user name in it")
        }
        var host = Substring(authority)
        var port = "80"
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw .unsupportedURL(text, "an unclosed [") }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .unsupportedURL(text, "text after the IPv6 address") }
                port = String(after.dropFirst())
            }
        } else if let colon = host.lastIndex(of: ":") {
            port = String(host[host.index(after: colon)...])
            host = host[..<colon]
        }
        guard !host.isEmpty, let number = Int(port), (1...65535).contains(number) else {
            throw .unsupportedURL(text, "no host, or a port that is not 1-65535")
        }
        self.host = String(host)
        self.port = String(number)
        self.path = path.isEmpty || path.hasPrefix("?") ? "/" + path : String(path)
        self.authority = String(authority)
    }
}
