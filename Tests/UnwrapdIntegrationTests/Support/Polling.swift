import Glibc

/// A bounded wait ended before what it waited for happened.
struct TimeoutError: Error, CustomStringConvertible {
    /// What was awaited, phrased to complete "timed out waiting for ...".
    let waitingFor: String
    let timeout: Duration
    /// Extra context for the failure message (last observed state, captured stderr, ...).
    var details: String = ""

    var description: String {
        "timed out after \(timeout.shortDescription) waiting for \(waitingFor)"
            + (details.isEmpty ? "" : ": \(details)")
    }
}

/// Polls `condition` every `interval` (clamped to 1...100 ms) until it returns true, or throws `TimeoutError`
/// (whose message ends with `details`, evaluated only then).
///
/// Only for conditions that have no signal to wait on (a respawned worker PID appearing in /proc, a log line
/// being written); where a readiness signal exists the kit waits on it with `poll(2)` instead.
func waitUntil(
    _ waitingFor: @autoclosure () -> String,
    timeout: Duration,
    interval: Duration = .milliseconds(10),
    details: @autoclosure () -> String = "",
    _ condition: () throws -> Bool
) throws {
    let deadline = Deadline.after(timeout)
    let step = min(max(interval, .milliseconds(1)), .milliseconds(100))
    while true {
        if try condition() { return }
        if deadline.hasPassed {
            throw TimeoutError(waitingFor: waitingFor(), timeout: timeout, details: details())
        }
        sleepBriefly(min(step, deadline.remaining))
    }
}

/// Sleeps for a short, bounded time: between the tries of polling loops, and as a test backend's pause between the
/// parts of a response (the behaviour under test, not a wait for something).
func sleepBriefly(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
}
