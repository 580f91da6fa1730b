import Glibc

/// The test process's open-files limit, for tests that hold many sockets at once.
enum OpenFilesLimit {
    /// Raises the soft RLIMIT_NOFILE to at least `count` where the hard limit allows; returns the soft limit now
    /// in effect. Never lowers it.
    @discardableResult
    static func raise(toAtLeast count: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        let wanted = rlim_t(count)
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = min(wanted, limit.rlim_max)  // RLIM_INFINITY is the largest value
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }
}
