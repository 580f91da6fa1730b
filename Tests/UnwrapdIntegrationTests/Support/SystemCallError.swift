import Glibc

/// A system call of the kit failed: which call (with its argument worth knowing) and errno.
struct SystemCallError: Error, CustomStringConvertible, Equatable {
    let operation: String
    let errno: Int32

    init(_ operation: String, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.errno = errno
    }

    var description: String { "\(operation): \(errnoName(errno)) (\(String(cString: strerror(errno))))" }
}

/// The symbolic name of common errno values ("ECONNREFUSED"), or "errno N".
func errnoName(_ value: Int32) -> String {
    let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO", EBADF: "EBADF",
        ECHILD: "ECHILD", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EEXIST: "EEXIST",
        EINVAL: "EINVAL", EMFILE: "EMFILE", ENOSPC: "ENOSPC", EPIPE: "EPIPE", ENAMETOOLONG: "ENAMETOOLONG",
        ENOTSOCK: "ENOTSOCK", EADDRINUSE: "EADDRINUSE", EADDRNOTAVAIL: "EADDRNOTAVAIL",
        ENETUNREACH: "ENETUNREACH", ECONNABORTED: "ECONNABORTED", ECONNRESET: "ECONNRESET",
        ENOTCONN: "ENOTCONN", ETIMEDOUT: "ETIMEDOUT", ECONNREFUSED: "ECONNREFUSED", EHOSTUNREACH: "EHOSTUNREACH",
        EINPROGRESS: "EINPROGRESS", EAFNOSUPPORT: "EAFNOSUPPORT",
    ]
    return names[value] ?? "errno \(value)"
}
