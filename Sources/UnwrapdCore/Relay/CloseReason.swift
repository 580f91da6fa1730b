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

    /// The reason as the log line states it. Reads (and empties) OpenSSL's error queue for TLS failures.
    func describe(ssl: OpaquePointer?, backend: String) -> String {
        switch self {
        case .finished: "closed"
        case .clientLeftBeforeHandshake: "client closed the connection before starting a TLS handshake"
        case .handshakeFailed(let outcome): "TLS handshake failed: " + CloseReason.describe(outcome, ssl: ssl)
        case .handshakeTimedOut(let seconds): "TLS handshake timed out after \(seconds) s"
        case .proxyHeaderInvalid(let rejection): "invalid PROXY header from the client: \(rejection)"
        case .proxyHeaderIncomplete: "client closed the connection in the middle of its PROXY header"
        case .backendConnectFailed(let code): "backend \(backend): connect: \(CloseReason.describe(errno: code))"
        case .backendConnectTimedOut(let seconds): "backend \(backend): connect timed out after \(seconds) s"
        case .clientFailed(let outcome): "client connection failed: " + CloseReason.describe(outcome, ssl: ssl)
        case .backendFailed(let operation, let code):
            "backend \(backend): \(operation): \(CloseReason.describe(errno: code))"
        case .outOfMemory: "out of memory for a connection buffer"
        case .workerStopping: "closed: worker stopping"
        case .refusalDelivered: "closed after the refused handshake"
        }
    }

    private static func describe(_ outcome: Transfer, ssl: OpaquePointer?) -> String {
        switch outcome {
        case .tlsError:
            var text = OpenSSLError.drainQueue().joined(separator: "; ")
            if text.isEmpty { text = "TLS protocol error" }
            if let ssl {
                let verification = SSL_get_verify_result(ssl)
                if verification != X509_V_OK, let reason = X509_verify_cert_error_string(verification) {
                    text += " (client certificate: \(String(cString: reason)))"
                }
            }
            return text
        case .failed(let code):
            return code == 0 ? "connection closed unexpectedly" : describe(errno: code)
        case .ended:
            return "the client closed the connection"
        case .moved, .needsRead, .needsWrite:
            return "interrupted"
        }
    }

    private static func describe(errno code: Int32) -> String {
        "\(SystemError.explanation(code)) (\(SystemError.name(code)))"
    }
}
