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
///
/// Every line is written into the process's one line buffer and leaves with one write(2). A connection's lines
/// (`write(_:_:)`) write their message straight into that buffer, without a `String`: a refused handshake, which a
/// client may retry in a tight loop, costs no allocation for its line.
public enum Log {
    @exclusivity(unchecked) @usableFromInline nonisolated(unsafe) static var threshold: LogLevel = .error
    nonisolated(unsafe) static var fileDescriptor: Int32 = STDERR_FILENO
    nonisolated(unsafe) static var filePath: String? = nil
    nonisolated(unsafe) static var syslogEnabled = false
    nonisolated(unsafe) static var tag = ""
    /// The level failures of single connections are logged at: errors, or info under `-q`.
    @exclusivity(unchecked) nonisolated(unsafe) static var connectionFailureLevel = LogLevel.error
    /// The buffer each line of this process is written into: `LogLine.capacity` bytes, the text and its newline (for
    /// syslog(3) a NUL takes the newline's place). Allocated for the first line; a forked child writes into its own
    /// copy.
    nonisolated(unsafe) private static let lineBuffer = UnsafeMutableRawBufferPointer.allocate(
        byteCount: LogLine.capacity, alignment: 1)
    /// This process's id as lines show it; 0 until the first line, and in a child just forked (`forgetProcessID`).
    @exclusivity(unchecked) nonisolated(unsafe) fileprivate static var processID: pid_t = 0
    nonisolated(unsafe) private static var forgetsProcessIDOnFork = false

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

    /// Writes a line at `level`, if enabled, whose message `message` writes straight into the line: no allocation.
    /// `message` must not log itself (the line is being written into the buffer that line would use).
    static func write(_ level: LogLevel, _ message: (inout LogLine) -> Void) {
        if isEnabled(level) { emit(level, message) }
    }

    @usableFromInline static func emit(_ level: LogLevel, _ message: String) {
        emit(level) { $0.append(message) }
    }

    /// Writes `<UTC time> unwrapd[<pid>]: <tag><message>` and a newline with one write(2); to syslog the part from
    /// the tag on.
    private static func emit(_ level: LogLevel, _ message: (inout LogLine) -> Void) {
        var line = LogLine(UnsafeMutableRawBufferPointer(rebasing: lineBuffer[..<(LogLine.capacity - 1)]))
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        line.appendTimestamp(now)
        line.append(" unwrapd[")
        line.append(Int(currentProcessID()))
        line.append("]: ")
        let messageStart = line.count
        line.append(tag)
        message(&line)
        let end = line.count
        lineBuffer[end] = UInt8(ascii: "\n")
        writeFully(fileDescriptor, UnsafeRawBufferPointer(rebasing: lineBuffer[...end]))
        if syslogEnabled {
            lineBuffer[end] = 0
            let priority = level == .error ? LOG_ERR : (level == .info ? LOG_INFO : LOG_DEBUG)
            unwrapd_syslog(priority, (lineBuffer.baseAddress! + messageStart).assumingMemoryBound(to: CChar.self))
        }
    }

    /// getpid(2) once per process: the first call registers a fork handler that makes a child ask again.
    private static func currentProcessID() -> pid_t {
        if processID == 0 {
            if !forgetsProcessIDOnFork {
                pthread_atfork(nil, nil, forgetProcessID)
                forgetsProcessIDOnFork = true
            }
            processID = getpid()
        }
        return processID
    }

    private static func openLogFile(_ path: String) throws(SystemError) -> Int32 {
        let descriptor = unwrapd_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SystemError("open log file", path) }
        return descriptor
    }
}

/// `pthread_atfork` child handler: the child has a process id of its own.
private func forgetProcessID() {
    Log.processID = 0
}
