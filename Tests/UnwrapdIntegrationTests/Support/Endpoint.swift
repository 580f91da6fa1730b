/// An address the kit listens on or connects to: an IP address and port on loopback, or a UNIX socket path.
enum Endpoint: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: UInt16)
    case unix(path: String)

    /// hitch's `[HOST]:PORT` form for TCP (IPv6 in brackets too), the path for a UNIX socket.
    var hitchAddress: String {
        switch self {
        case .tcp(let host, let port): "[\(host)]:\(port)"
        case .unix(let path): path
        }
    }

    /// `host:port` as `openssl s_client -connect` and curl's `--resolve` expect it (IPv6 in brackets).
    var hostPort: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): path
        }
    }

    var port: UInt16? {
        if case .tcp(_, let port) = self { return port }
        return nil
    }

    var description: String { hitchAddress }
}
