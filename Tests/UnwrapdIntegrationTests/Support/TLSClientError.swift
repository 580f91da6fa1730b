import COpenSSL

/// A `TLSTestClient` operation failed. Carries what OpenSSL said (its error queue), the alert received or sent
/// if any, and the certificate verification result when verification failed.
struct TLSClientError: Error, CustomStringConvertible {
    /// Why the operation failed, in categories tests assert on.
    enum Reason: Sendable, Equatable {
        /// Setting up the context failed (bad certificate file, cipher string, ...).
        case configuration
        /// A blocking read or write hit the I/O timeout.
        case timedOut
        /// The peer closed the TCP connection (without a TLS alert explaining it).
        case connectionClosed
        case connectionReset
        /// The TLS protocol failed: an alert was received or sent, or OpenSSL rejected something.
        case tlsFailure
        /// Another system-call error (errno).
        case system(Int32)
        /// The client was already closed.
        case closed
    }

    /// "handshake", "read", "write", "shutdown", "configure".
    let operation: String
    let reason: Reason
    /// OpenSSL's error queue as text ("error:0A000418:SSL routines::tlsv1 alert unknown ca").
    let openSSLErrors: [String]
    /// The fatal alert the peer sent, if any.
    let receivedAlert: TLSAlert?
    /// The fatal alert this client sent, if any.
    let sentAlert: TLSAlert?
    /// Why the peer's certificate failed verification, when it did ("certificate has expired").
    let verifyError: String?

    var description: String {
        var parts = ["TLS \(operation) failed: \(reasonText)"]
        if let receivedAlert { parts.append("received alert \(receivedAlert)") }
        if let sentAlert { parts.append("sent alert \(sentAlert)") }
        if let verifyError { parts.append("certificate verification: \(verifyError)") }
        if !openSSLErrors.isEmpty { parts.append("OpenSSL: " + openSSLErrors.joined(separator: "; ")) }
        return parts.joined(separator: "; ")
    }

    private var reasonText: String {
        switch reason {
        case .configuration: "configuration error"
        case .timedOut: "timed out"
        case .connectionClosed: "connection closed by the peer"
        case .connectionReset: "connection reset by the peer"
        case .tlsFailure: "TLS protocol failure"
        case .system(let errno): errnoName(errno)
        case .closed: "the client is closed"
        }
    }
}

/// OpenSSL's per-thread error queue.
enum OpenSSLErrorQueue {
    /// Removes and returns every queued error as text.
    static func drain() -> [String] {
        var errors: [String] = []
        while true {
            let code = ERR_get_error()
            guard code != 0 else { return errors }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            errors.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
    }

    /// The reason code of the oldest queued error without removing it (0 if none).
    static func peekReason() -> Int32 {
        let code = ERR_peek_error()
        return code == 0 ? 0 : Int32(code & 0x7FFFFF)
    }

    static func clear() { ERR_clear_error() }
}
