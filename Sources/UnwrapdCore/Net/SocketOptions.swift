import Glibc

/// Thin `setsockopt` helpers. Setup code uses the throwing form; per-connection code ignores failures of options
/// that are only optimisations (`TCP_NODELAY` on a backend socket).
enum SocketOptions {
    /// Sets an `Int32` option, or throws naming the option and what it was set on.
    static func set(
        _ descriptor: Int32, _ level: Int32, _ option: Int32, _ value: Int32, name: String, on subject: String
    ) throws(StartupError) {
        var value = value
        guard setsockopt(descriptor, level, option, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw .system(SystemError("setsockopt \(name)", subject))
        }
    }

    /// Sets an `Int32` option; returns false on failure.
    @inline(__always)
    static func trySet(_ descriptor: Int32, _ level: Int32, _ option: Int32, _ value: Int32) -> Bool {
        var value = value
        return setsockopt(descriptor, level, option, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// Sets or clears `TCP_CORK` on a backend socket (`Connection+Corking.swift`); returns false on failure.
    @inline(__always)
    @discardableResult
    static func setCork(_ descriptor: Int32, _ on: Bool) -> Bool {
        trySet(descriptor, Int32(IPPROTO_TCP), TCP_CORK, on ? 1 : 0)
    }

    /// Sends what `MSG_MORE` writes left waiting in a TCP socket that has `TCP_NODELAY`: setting the option again
    /// pushes the pending segments out (`Connection+Corking.swift`).
    @inline(__always)
    static func push(_ descriptor: Int32) {
        _ = trySet(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    }

    /// Whether a TCP socket's connection is established: the state byte that opens `struct tcp_info`
    /// (`TCP_INFO`, read alone). A nonblocking connect that finished at once says yes; one still in progress, or
    /// refused, says no.
    @inline(__always)
    static func isEstablished(_ descriptor: Int32) -> Bool {
        var state: UInt8 = 0
        var length = socklen_t(MemoryLayout<UInt8>.size)
        guard getsockopt(descriptor, Int32(IPPROTO_TCP), TCP_INFO, &state, &length) == 0 else { return false }
        return Int(state) == TCP_ESTABLISHED
    }

    /// The pending error of a socket (`SO_ERROR`), e.g. the result of a nonblocking connect.
    @inline(__always)
    static func pendingError(_ descriptor: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return errno }
        return value
    }
}
