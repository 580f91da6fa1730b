import COpenSSL
import Glibc

/// Why a connection ends. Decides whether and how it is logged: failures an operator should see are errors,
/// ordinary ends are debug lines. Payloads are plain values, so closing allocates nothing unless a line is logged.
enum CloseReason {
    /// Both directions finished: everything each side sent was delivered.
    case finished
    /// The client closed before sending a byte (a port probe or load-balancer health check).
    case clientLeftBeforeHandshake
    case handshakeFailed(Transfer)
    /// The handshake (and PROXY header, if expected) took longer than `--ssl-handshake-timeout`.
    case handshakeTimedOut(seconds: Double)
    case proxyHeaderInvalid(ProxyHeaderError)
    /// The client closed in the middle of its PROXY header.
    case proxyHeaderIncomplete
    case backendConnectFailed(errno: Int32)
    case backendConnectTimedOut(seconds: Double)
    /// Reading from or writing to the client failed while streaming.
    case clientFailed(Transfer)
    case backendFailed(operation: StaticString, errno: Int32)
    /// No memory for a buffer or a TLS session.
    case outOfMemory
    /// The worker is shutting down.
    case workerStopping
    /// A refused client finished (or took too long) after its refusal was logged.
    case refusalDelivered

    /// The log level of the line for this close.
    var level: LogLevel {
        switch self {
        case .finished, .workerStopping, .refusalDelivered: .debug
        case .clientLeftBeforeHandshake, .clientFailed: .info
        case .handshakeFailed, .handshakeTimedOut, .proxyHeaderInvalid, .proxyHeaderIncomplete, .backendConnectFailed,
            .backendConnectTimedOut, .backendFailed, .outOfMemory:
            .error
        }
    }

    /// Writes the reason as the log line states it. Reads (and empties) OpenSSL's error queue for TLS failures.
    func write(to line: inout LogLine, ssl: OpaquePointer?, backend: String) {
        switch self {
        case .finished: line.append("closed")
        case .clientLeftBeforeHandshake: line.append("client closed the connection before starting a TLS handshake")
        case .handshakeFailed(let outcome):
            line.append("TLS handshake failed: ")
            CloseReason.write(outcome, ssl: ssl, to: &line)
        case .handshakeTimedOut(let seconds):
            line.append("TLS handshake timed out after ")
            line.append(seconds)
            line.append(" s")
        case .proxyHeaderInvalid(let rejection):
            line.append("invalid PROXY header from the client: ")
            line.append(rejection)
        case .proxyHeaderIncomplete: line.append("client closed the connection in the middle of its PROXY header")
        case .backendConnectFailed(let code):
            CloseReason.writeBackend(backend, "connect", to: &line)
            line.append(errno: code)
        case .backendConnectTimedOut(let seconds):
            line.append("backend ")
            line.append(backend)
            line.append(": connect timed out after ")
            line.append(seconds)
            line.append(" s")
        case .clientFailed(let outcome):
            line.append("client connection failed: ")
            CloseReason.write(outcome, ssl: ssl, to: &line)
        case .backendFailed(let operation, let code):
            CloseReason.writeBackend(backend, operation, to: &line)
            line.append(errno: code)
        case .outOfMemory: line.append("out of memory for a connection buffer")
        case .workerStopping: line.append("closed: worker stopping")
        case .refusalDelivered: line.append("closed after the refused handshake")
        }
    }

    /// `backend <name>: <operation>: `, what precedes the errno of a failed backend call.
    private static func writeBackend(_ backend: String, _ operation: StaticString, to line: inout LogLine) {
        line.append("backend ")
        line.append(backend)
        line.append(": ")
        line.append(operation)
        line.append(": ")
    }

    private static func write(_ outcome: Transfer, ssl: OpaquePointer?, to line: inout LogLine) {
        switch outcome {
        case .tlsError:
            if line.appendOpenSSLErrorQueue() == 0 { line.append("TLS protocol error") }
            if let ssl {
                let verification = SSL_get_verify_result(ssl)
                if verification != X509_V_OK, let reason = X509_verify_cert_error_string(verification) {
                    line.append(" (client certificate: ")
                    line.append(cString: reason)
                    line.append(")")
                }
            }
        case .failed(let code):
            if code == 0 { line.append("connection closed unexpectedly") } else { line.append(errno: code) }
        case .ended:
            line.append("the client closed the connection")
        case .moved, .needsRead, .needsWrite:
            line.append("interrupted")
        }
    }
}
