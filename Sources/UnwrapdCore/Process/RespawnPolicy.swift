/// When to restart a worker that died: at once, unless it keeps dying right after it starts, in which case the
/// delay doubles with each further quick death (0.1 s, 0.2 s, ... up to 30 s), so that a crash loop does not burn
/// the machine while the kernel queue keeps the waiting clients.
struct RespawnPolicy: Equatable, Sendable {
    /// A worker that ran at least this long is considered healthy: its death does not count as a quick one.
    var healthyAfter: Double = 10
    var firstDelay: Double = 0.1
    var maximumDelay: Double = 30

    /// The delay before the next start, after `quickExits` consecutive quick deaths. One quick death (an operator's
    /// `kill -9`, a one-off crash) restarts at once; the back-off starts with the second in a row.
    func delay(afterQuickExits quickExits: Int) -> Double {
        guard quickExits > 1 else { return 0 }
        var delay = firstDelay
        for _ in 2..<quickExits {
            delay *= 2
            if delay >= maximumDelay { return maximumDelay }
        }
        return delay
    }

    /// How the log line about a death goes on: "restarting it", or when and why later.
    static func restartText(delay: Double) -> String {
        delay == 0 ? "restarting it" : "restarting it in \(delay) s (it keeps exiting right after start)"
    }

    /// The number of consecutive quick deaths after a worker that ran `uptime` seconds died.
    func quickExits(after previous: Int, uptime: Double) -> Int {
        uptime < healthyAfter ? previous + 1 : 0
    }
}
