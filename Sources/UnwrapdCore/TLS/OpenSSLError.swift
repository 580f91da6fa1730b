import COpenSSL
import CUnwrapdShims

/// A failed OpenSSL call during setup, with OpenSSL's error queue captured as text.
///
/// Rendered as `<operation> <subject>: <reason>[; <reason>...]`, e.g.
/// `load certificate /etc/unwrapd/site.pem: no start line (PEM routines)`.
public struct OpenSSLError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var subject: String?
    public var reasons: [String]

    /// Captures and clears the calling thread's OpenSSL error queue.
    public init(_ operation: String, _ subject: String? = nil) {
        self.operation = operation
        self.subject = subject
        self.reasons = OpenSSLError.drainQueue()
    }

    public var description: String {
        let target = subject.map { " \($0)" } ?? ""
        let reason = reasons.isEmpty ? "failed" : reasons.joined(separator: "; ")
        return "\(operation)\(target): \(reason)"
    }

    /// Every queued error as `reason (library)`, oldest first; the queue is empty afterwards.
    static func drainQueue() -> [String] {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            reasons.append(describe(code))
        }
        return reasons
    }

    /// `reason (library)` for one packed error code, e.g. `certificate verify failed (SSL routines)`.
    static func describe(_ code: UInt) -> String {
        let systemError = unwrapd_ERR_system_errno(code)
        if systemError != 0 { return "\(SystemError.explanation(systemError)) (\(SystemError.name(systemError)))" }
        let reason = ERR_reason_error_string(code).map { String(cString: $0) } ?? "error \(code & 0x7F_FFFF)"
        guard let library = ERR_lib_error_string(code) else { return reason }
        return "\(reason) (\(String(cString: library)))"
    }
}
