import COpenSSL
import CUnwrapdShims  // MSG_NOSIGNAL: a clean build of this module's files did not find it through Glibc alone
import Glibc

/// The outcome of one nonblocking operation on the data path. No allocation, no throwing: the detail of a
/// failure (errno, OpenSSL's error queue) stays where it is until the close is logged.
enum Transfer: Equatable {
    /// `count` bytes moved (for a handshake or shutdown step: the step completed).
    case moved(Int)
    /// Retry when the socket is readable.
    case needsRead
    /// Retry when the socket is writable.
    case needsWrite
    /// Orderly end of stream: EOF, or TLS close_notify.
    case ended
    /// A system call failed with this errno (for TLS: `SSL_ERROR_SYSCALL`; 0 when the peer vanished).
    case failed(errno: Int32)
    /// TLS protocol error (`SSL_ERROR_SSL`): the reasons are on OpenSSL's error queue.
    case tlsError

    /// The peer went away without an error: EOF, close_notify, or a syscall failure without errno.
    var isEndOfStream: Bool { self == .ended || self == .failed(errno: 0) }
}

/// The TLS and socket calls of the data path, mapped to `Transfer`.
enum DataPath {
    /// `SSL_ERROR_*` → `Transfer` for a call that returned `result <= 0`.
    @inline(__always)
    static func tlsOutcome(_ ssl: OpaquePointer, _ result: Int32) -> Transfer {
        let error = SSL_get_error(ssl, result)
        switch error {
        case SSL_ERROR_WANT_READ: return .needsRead
        case SSL_ERROR_WANT_WRITE: return .needsWrite
        case SSL_ERROR_ZERO_RETURN: return .ended
        case SSL_ERROR_SYSCALL: return .failed(errno: errno)
        default: return .tlsError
        }
    }

    @inline(__always)
    static func tlsRead(_ ssl: OpaquePointer, into buffer: UnsafeMutableRawPointer, count: Int) -> Transfer {
        let result = SSL_read(ssl, buffer, Int32(clamping: count))
        return result > 0 ? .moved(Int(result)) : tlsOutcome(ssl, result)
    }

    @inline(__always)
    static func tlsWrite(_ ssl: OpaquePointer, from buffer: UnsafeRawPointer, count: Int) -> Transfer {
        let result = SSL_write(ssl, buffer, Int32(clamping: count))
        return result > 0 ? .moved(Int(result)) : tlsOutcome(ssl, result)
    }

    /// One step of the server handshake; `.moved(1)` when it is complete.
    @inline(__always)
    static func tlsHandshake(_ ssl: OpaquePointer) -> Transfer {
        let result = SSL_do_handshake(ssl)
        return result == 1 ? .moved(1) : tlsOutcome(ssl, result)
    }

    /// Sends close_notify; `.moved(1)` once it is on its way.
    @inline(__always)
    static func tlsSendCloseNotify(_ ssl: OpaquePointer) -> Transfer {
        let result = SSL_shutdown(ssl)
        return result >= 0 ? .moved(1) : tlsOutcome(ssl, result)
    }

    @inline(__always)
    static func socketRead(_ descriptor: Int32, into buffer: UnsafeMutableRawPointer, count: Int) -> Transfer {
        while true {
            let result = recv(descriptor, buffer, count, 0)
            if result > 0 { return .moved(result) }
            if result == 0 { return .ended }
            switch errno {
            case EINTR: continue
            case EAGAIN: return .needsRead
            case let code: return .failed(errno: code)
            }
        }
    }

    @inline(__always)
    static func socketWrite(_ descriptor: Int32, from buffer: UnsafeRawPointer, count: Int) -> Transfer {
        while true {
            let result = send(descriptor, buffer, count, Int32(MSG_NOSIGNAL))
            if result >= 0 { return .moved(result) }
            switch errno {
            case EINTR: continue
            case EAGAIN: return .needsWrite
            case let code: return .failed(errno: code)
            }
        }
    }
}
