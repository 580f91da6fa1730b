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

    /// Every queued error as `appendNextOpenSSLError` writes it, oldest first; the queue is empty afterwards.
    static func drainQueue() -> [String] {
        var reasons: [String] = []
        while ERR_peek_error() != 0 { reasons.append(String { $0.appendNextOpenSSLError() }) }
        return reasons
    }
}

extension LogLine {
    /// Appends every queued OpenSSL error as `appendNextOpenSSLError` writes it, oldest first, separated by `; `,
    /// and empties the queue. Returns how many there were.
    mutating func appendOpenSSLErrorQueue() -> Int {
        var count = 0
        while ERR_peek_error() != 0 {
            if count > 0 { append("; ") }
            appendNextOpenSSLError()
            count += 1
        }
        return count
    }

    /// Takes the oldest queued error and appends it as `reason (library)`, then the text OpenSSL attached to it, if
    /// any: `certificate verify error (OCSP routines): Verify error: self-signed certificate`.
    mutating func appendNextOpenSSLError() {
        var data: UnsafePointer<CChar>? = nil
        var flags: Int32 = 0
        let code = ERR_get_error_all(nil, nil, nil, &data, &flags)
        guard code != 0 else { return }
        appendOpenSSLError(code)
        if flags & ERR_TXT_STRING != 0, let data, data.pointee != 0 {
            append(": ")
            append(cString: data)
        }
    }

    /// Appends `reason (library)` for one packed error code, e.g. `certificate verify failed (SSL routines)`.
    private mutating func appendOpenSSLError(_ code: UInt) {
        let systemError = unwrapd_ERR_system_errno(code)
        if systemError != 0 { return append(errno: systemError) }
        if let reason = ERR_reason_error_string(code) {
            append(cString: reason)
        } else {
            append("error ")
            appendDecimal(UInt64(code & 0x7F_FFFF))
        }
        guard let library = ERR_lib_error_string(code) else { return }
        append(" (")
        append(cString: library)
        append(")")
    }
}
