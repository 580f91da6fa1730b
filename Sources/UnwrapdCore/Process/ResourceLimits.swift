import Glibc

/// The open-files limit, which bounds how many connections one worker can hold (two descriptors each).
enum ResourceLimits {
    /// Descriptors a worker keeps for itself: listeners, libev, the coalescing timer, log, syslog, stdio.
    static let reservedDescriptors = 64

    /// Raises the soft open-files limit to the hard one and returns it.
    static func raiseOpenFilesLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: min(limit.rlim_cur, 1 << 20))
    }

    /// Connections one worker can hold with `openFiles` descriptors.
    static func connectionsPerWorker(openFiles: Int) -> Int {
        max(1, (openFiles - reservedDescriptors) / 2)
    }
}
