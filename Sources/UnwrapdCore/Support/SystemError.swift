import Glibc

/// A failed system call during setup: what was attempted, on what, and the errno it failed with.
///
/// Rendered for operators as `bind [*]:8443: Address already in use (EADDRINUSE)`.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The call or step, e.g. `bind`, `connect`, `open`.
    public var operation: String
    /// What it acted on (an address, a path), or `nil`.
    public var subject: String?
    public var code: Int32

    public init(_ operation: String, _ subject: String? = nil, code: Int32 = errno) {
        self.operation = operation
        self.subject = subject
        self.code = code
    }

    public var description: String {
        let target = subject.map { " \($0)" } ?? ""
        return "\(operation)\(target): \(SystemError.reason(code))"
    }

    /// `Connection refused (ECONNREFUSED)`: strerror(3)'s text and the symbolic name, as every message states an
    /// errno.
    public static func reason(_ code: Int32) -> String { String { $0.append(errno: code) } }

    /// strerror(3) text for `code`.
    public static func explanation(_ code: Int32) -> String { String { $0.appendExplanation(errno: code) } }

    /// The symbolic name of `code` (`ECONNREFUSED`), as operators grep for it; `errno N` for uncommon ones.
    public static func name(_ code: Int32) -> String { String { $0.appendName(errno: code) } }

    /// The symbolic name of `code`, or `nil` for uncommon ones.
    fileprivate static func symbol(_ code: Int32) -> StaticString? {
        switch code {
        case EPERM: "EPERM"
        case ENOENT: "ENOENT"
        case EINTR: "EINTR"
        case EIO: "EIO"
        case EBADF: "EBADF"
        case EAGAIN: "EAGAIN"
        case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"
        case EEXIST: "EEXIST"
        case ENOTDIR: "ENOTDIR"
        case EISDIR: "EISDIR"
        case EINVAL: "EINVAL"
        case ENFILE: "ENFILE"
        case EMFILE: "EMFILE"
        case ENOSPC: "ENOSPC"
        case EPIPE: "EPIPE"
        case ENAMETOOLONG: "ENAMETOOLONG"
        case ENOTSOCK: "ENOTSOCK"
        case EPROTONOSUPPORT: "EPROTONOSUPPORT"
        case EAFNOSUPPORT: "EAFNOSUPPORT"
        case EADDRINUSE: "EADDRINUSE"
        case EADDRNOTAVAIL: "EADDRNOTAVAIL"
        case ENETDOWN: "ENETDOWN"
        case ENETUNREACH: "ENETUNREACH"
        case ECONNABORTED: "ECONNABORTED"
        case ECONNRESET: "ECONNRESET"
        case ENOBUFS: "ENOBUFS"
        case ENOTCONN: "ENOTCONN"
        case ETIMEDOUT: "ETIMEDOUT"
        case ECONNREFUSED: "ECONNREFUSED"
        case EHOSTDOWN: "EHOSTDOWN"
        case EHOSTUNREACH: "EHOSTUNREACH"
        case EINPROGRESS: "EINPROGRESS"
        case ESRCH: "ESRCH"
        case ECHILD: "ECHILD"
        default: nil
        }
    }
}

extension LogLine {
    /// Appends `code` as operators read it: `Connection refused (ECONNREFUSED)`.
    mutating func append(errno code: Int32) {
        appendExplanation(errno: code)
        append(" (")
        appendName(errno: code)
        append(")")
    }

    /// Appends strerror(3)'s text for `code`.
    mutating func appendExplanation(errno code: Int32) {
        if let text = strerror(code) {
            append(cString: text)
        } else {
            append("error ")
            append(Int(code))
        }
    }

    /// Appends the symbolic name of `code` (`ECONNREFUSED`), as operators grep for it; `errno N` for uncommon ones.
    mutating func appendName(errno code: Int32) {
        if let symbol = SystemError.symbol(code) {
            append(symbol)
        } else {
            append("errno ")
            append(Int(code))
        }
    }
}
