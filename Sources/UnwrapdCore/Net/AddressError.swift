import Glibc

/// A socket address that could not be built at setup time, with a message naming what the operator wrote.
public enum AddressError: Error, Equatable, Sendable, CustomStringConvertible {
    /// getaddrinfo(3) failed; `reason` is its gai_strerror(3) text (and strerror(3) text for `EAI_SYSTEM`).
    case unresolvable(host: String?, port: String, reason: String)
    /// A UNIX socket path longer than `sockaddr_un` holds (`maximum` bytes, leaving room for the terminating NUL).
    case unixPathTooLong(path: String, maximum: Int)
    /// An empty UNIX socket path, or one containing a NUL byte.
    case invalidUnixPath(path: String)

    public var description: String {
        switch self {
        case .unresolvable(let host, let port, let reason):
            "cannot resolve [\(host ?? "*")]:\(port): \(reason)"
        case .unixPathTooLong(let path, let maximum):
            "UNIX socket path \"\(path)\" is \(path.utf8.count) bytes long; at most \(maximum) fit in sockaddr_un"
        case .invalidUnixPath(let path):
            path.isEmpty ? "UNIX socket path is empty" : "UNIX socket path \"\(path)\" contains a NUL byte"
        }
    }
}
