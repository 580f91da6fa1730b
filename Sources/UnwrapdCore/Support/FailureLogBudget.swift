/// How many lines about failed connections a worker writes per second (`--connection-log-limit`).
///
/// A client that retries a failing handshake in a tight loop, or a flood of bad connections, would otherwise write
/// one line each, thousands a second, into a log file nothing rotates in time. Lines past the limit are left out and
/// counted; the worker then writes one line that says how many (`FailureLogLimit.swift`).
struct FailureLogBudget {
    /// What to do with one line.
    enum Decision: Equatable {
        case write
        case leaveOut
        /// Leave it out, the first since the last report: report the count at `reportAt` (the end of this second).
        case leaveOutFirst(reportAt: Double)
    }

    /// Lines per second; 0 for no limit.
    let linesPerSecond: Int
    /// When the current second began (the loop's clock, seconds), and the lines written in it.
    private var windowStart = -Double.infinity
    private var writtenInWindow = 0
    /// Lines left out since the last report.
    private(set) var leftOut = 0

    init(linesPerSecond: Int) {
        self.linesPerSecond = linesPerSecond
    }

    /// Whether a line due at `now` is written; one that is not counts as left out.
    mutating func decide(at now: Double) -> Decision {
        guard linesPerSecond > 0 else { return .write }
        if now - windowStart >= 1 {
            windowStart = now
            writtenInWindow = 0
        }
        if writtenInWindow < linesPerSecond {
            writtenInWindow += 1
            return .write
        }
        leftOut += 1
        return leftOut == 1 ? .leaveOutFirst(reportAt: windowStart + 1) : .leaveOut
    }

    /// The lines left out since the last report, which starts a new count.
    mutating func takeLeftOut() -> Int {
        defer { leftOut = 0 }
        return leftOut
    }
}
