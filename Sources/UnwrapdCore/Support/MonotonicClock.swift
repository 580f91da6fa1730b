import Glibc

/// Seconds on the monotonic clock (not affected by changes of the wall clock), for deadlines and uptimes.
enum MonotonicClock {
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// The same clock in whole nanoseconds (the vDSO: no system call), for deadlines of microseconds.
    @inline(__always)
    static func nanoseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// `seconds` as a `timespec` for `sigtimedwait` and friends.
    static func interval(_ seconds: Double) -> timespec {
        let whole = Int(seconds)
        return timespec(tv_sec: whole, tv_nsec: Int((seconds - Double(whole)) * 1e9))
    }
}
