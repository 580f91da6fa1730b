/// The endpoint syntaxes of hitch and stud: `[HOST]:PORT` (brackets mandatory, so IPv6 literals need no special
/// case), stud's `HOST,PORT`, `+CERT` after a frontend's port, and a UNIX socket path for the backend.
///
/// Host names and ports are kept as text: resolution happens when the daemon binds or connects.
enum Endpoint {
    static let frontendForms = "\"[HOST]:PORT[+CERT]\" or \"HOST,PORT[+CERT]\""
    static let backendForms = "\"[HOST]:PORT\", \"HOST,PORT\" or a UNIX socket path"

    /// `-f/--frontend`, `frontend = "..."`: `*` as host means every address; `+CERT` gives the frontend its own
    /// certificate.
    static func frontend(_ text: String) throws(ValueError) -> Frontend {
        let (address, certificatePath) = splitCertificate(text)
        guard let (host, port) = hostAndPort(address) else { throw ValueError(expected: frontendForms, found: text) }
        var frontend = Frontend(host: host == "*" ? nil : host, port: try self.port(port, allowsZero: true))
        if let certificatePath {
            guard !certificatePath.isEmpty else {
                throw ValueError(expected: "a certificate path after \"+\"", found: text)
            }
            frontend.certificates = [CertificateSource(path: certificatePath)]
        }
        return frontend
    }

    /// `-b/--backend`, `backend = "..."`: a host and port, or a UNIX socket path (anything starting with `/` or
    /// `.`).
    static func backend(_ text: String) throws(ValueError) -> BackendAddress {
        if text.hasPrefix("/") || text.hasPrefix(".") { return .unix(path: text) }
        guard let (host, port) = hostAndPort(text) else { throw ValueError(expected: backendForms, found: text) }
        guard host != "*" else {
            throw ValueError(expected: "a backend host name or address (\"*\" is for frontends)", found: host)
        }
        return .inet(host: host, port: try self.port(port, allowsZero: false))
    }

    /// A port number (0 only where the kernel may pick one: frontends) or a service name such as `https`.
    static func port(_ text: String, allowsZero: Bool) throws(ValueError) -> String {
        let lowest = allowsZero ? 0 : 1
        let expected = "a port number from \(lowest) to 65535 or a service name"
        if !text.isEmpty, text.allSatisfy(\.isASCIIDigit) {
            guard let number = Int(text), (lowest...65535).contains(number) else {
                throw ValueError(expected: expected, found: text)
            }
            return text
        }
        let isServiceName =
            text.contains(where: \.isLetter)
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
        guard isServiceName else { throw ValueError(expected: expected, found: text) }
        return text
    }

    /// Splits `ADDRESS+CERT`. The certificate path starts after the first `+` that follows the address's port:
    /// hosts and ports never contain `+`, paths may.
    private static func splitCertificate(_ text: String) -> (address: String, certificate: String?) {
        let searchStart = text.hasPrefix("[") ? (text.firstIndex(of: "]") ?? text.endIndex) : text.startIndex
        guard let plus = text[searchStart...].firstIndex(of: "+") else { return (text, nil) }
        return (String(text[..<plus]), String(text[text.index(after: plus)...]))
    }

    /// `[HOST]:PORT` or `HOST,PORT` into its parts; nil when it is neither. The host is never empty.
    private static func hostAndPort(_ text: String) -> (host: String, port: String)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard !host.isEmpty, rest.hasPrefix(":") else { return nil }
            return (String(host), String(rest.dropFirst()))
        }
        guard let comma = text.lastIndex(of: ","), comma != text.startIndex else { return nil }
        return (String(text[..<comma]), String(text[text.index(after: comma)...]))
    }
}
