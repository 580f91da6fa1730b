import CUnwrapdShims
import Glibc

/// Log verbosity, as hitch's `-L`: 0 silent, 1 errors, 2 info; unwrapd adds 3 for per-connection debug lines.
public enum LogLevel: Int, Comparable, Sendable {
    case silent = 0
    case error = 1
    case info = 2
    case debug = 3

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The daemon's logger: one line per event, `<UTC time> unwrapd[<pid>]: <tag><message>`, to stderr or a file, and
/// optionally to syslog as well.
///
/// Each process is single-threaded, so the state is plain process-global state (set up once per process, after
/// fork in workers). The level check is inlined and the message is an autoclosure: a line below the threshold costs
/// one comparison and builds no string. The two levels read on every connection have exclusivity checks off (else
/// each read is a `swift_beginAccess` call): nothing that reads them can be interrupted by a write.
public enum Log {
    @exclusivity(unchecked) @usableFromInline nonisolated(unsafe) static var threshold: LogLevel = .error
    nonisolated(unsafe) static var fileDescriptor: Int32 = STDERR_FILENO
    nonisolated(unsafe) static var filePath: String? = nil
    nonisolated(unsafe) static var syslogEnabled = false
    nonisolated(unsafe) static var tag = ""
    /// The level failures of single connections are logged at: errors, or info under `-q`.
    @exclusivity(unchecked) nonisolated(unsafe) static var connectionFailureLevel = LogLevel.error

    /// Applies `-L`, `-q`, `-l`, `-s`; opens the log file (append). Called in the parent before fork.
    public static func configure(
        level: LogLevel, quiet: Bool, file: String?, syslogFacility: Int32?
    ) throws(SystemError) {
        setLevels(level, quiet: quiet)
        if let file {
            let descriptor = try openLogFile(file)
            if fileDescriptor != STDERR_FILENO { close(fileDescriptor) }
            fileDescriptor = descriptor
            filePath = file
        }
        if let syslogFacility {
            unwrapd_openlog("unwrapd", syslogFacility)
            syslogEnabled = true
        }
    }

    /// Applies `-L` and `-q` (at start, and again on a reload).
    static func setLevels(_ level: LogLevel, quiet: Bool) {
        threshold = level
        connectionFailureLevel = quiet ? .info : .error
    }

    /// Prefix for every line of this process, e.g. `worker 2: `.
    public static func setTag(_ newTag: String) { tag = newTag }

    /// SIGUSR1 in the parent: reopen the log file (after rotation). Returns the new descriptor for the workers, or
    /// `nil` when there is no log file or it cannot be opened (then the old one stays in use).
    static func reopen() -> Int32? {
        guard let filePath else { return nil }
        do {
            let descriptor = try openLogFile(filePath)
            adopt(descriptor)
            return descriptor
        } catch {
            Log.error("cannot reopen the log file: \(error)")
            return nil
        }
    }

    /// Logs to `descriptor` from now on (a worker receiving the parent's reopened log file).
    static func adopt(_ descriptor: Int32) {
        let old = fileDescriptor
        fileDescriptor = descriptor
        if old != STDERR_FILENO { close(old) }
    }

    @inlinable public static func isEnabled(_ level: LogLevel) -> Bool { level <= threshold }

    @inlinable public static func error(_ message: @autoclosure () -> String) {
        if LogLevel.error <= threshold { emit(.error, message()) }
    }

    @inlinable public static func info(_ message: @autoclosure () -> String) {
        if LogLevel.info <= threshold { emit(.info, message()) }
    }

    @inlinable public static func debug(_ message: @autoclosure () -> String) {
        if LogLevel.debug <= threshold { emit(.debug, message()) }
    }

    /// Writes a line regardless of the level: for start-up failures that must reach the operator.
    public static func always(_ message: String) { emit(.error, message) }

    @usableFromInline static func emit(_ level: LogLevel, _ message: String) {
        let line = "\(timestamp()) unwrapd[\(getpid())]: \(tag)\(message)\n"
        var copy = line
        copy.withUTF8 { bytes in writeFully(fileDescriptor, bytes) }
        if syslogEnabled {
            let priority = level == .error ? LOG_ERR : (level == .info ? LOG_INFO : LOG_DEBUG)
            unwrapd_syslog(priority, "\(tag)\(message)")
        }
    }

    private static func openLogFile(_ path: String) throws(SystemError) -> Int32 {
        let descriptor = unwrapd_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SystemError("open log file", path) }
        return descriptor
    }

    private static func writeFully(_ descriptor: Int32, _ bytes: UnsafeBufferPointer<UInt8>) {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }

    /// `2026-11-23T10:07:00.123Z`, built without Foundation.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        func padded(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(parts.tm_year + 1900, 4))-\(padded(parts.tm_mon + 1, 2))-\(padded(parts.tm_mday, 2))T"
            + "\(padded(parts.tm_hour, 2)):\(padded(parts.tm_min, 2)):\(padded(parts.tm_sec, 2))."
            + "\(padded(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }
}
