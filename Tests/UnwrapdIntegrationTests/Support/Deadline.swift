import Glibc

/// A point in time after which a bounded wait gives up. Every wait in the kit is bounded by one.
struct Deadline: Sendable, Comparable {
    let instant: ContinuousClock.Instant

    /// The deadline `timeout` from now.
    static func after(_ timeout: Duration) -> Deadline {
        Deadline(instant: .now + timeout)
    }

    var hasPassed: Bool { ContinuousClock.now >= instant }

    /// Time left, never negative.
    var remaining: Duration {
        let left = instant - .now
        return left > .zero ? left : .zero
    }

    /// Time left in milliseconds for `poll(2)`, rounded up so a wait never ends before the deadline.
    var pollMilliseconds: Int32 {
        let milliseconds = remaining.roundedUpMilliseconds
        return Int32(clamping: milliseconds)
    }

    static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.instant < rhs.instant }
}

extension Duration {
    /// The duration in whole milliseconds, rounded up.
    var roundedUpMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let millisecondAttos: Int64 = 1_000_000_000_000_000
        return seconds * 1000 + (attoseconds + millisecondAttos - 1) / millisecondAttos
    }

    /// The duration in seconds as a `Double` (for messages and `timeval`s).
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The duration as a `timeval` (for SO_RCVTIMEO/SO_SNDTIMEO); at least one microsecond, since zero means
    /// "no timeout" to the kernel.
    var timeval: timeval {
        let (seconds, attoseconds) = components
        let microseconds = Int(attoseconds / 1_000_000_000_000)
        if seconds <= 0 && microseconds <= 0 { return Glibc.timeval(tv_sec: 0, tv_usec: 1) }
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: microseconds)
    }

    /// A short human form for error messages: "2.5 s".
    var shortDescription: String {
        let value = seconds
        return value == value.rounded() ? "\(Int(value)) s" : "\((value * 1000).rounded() / 1000) s"
    }
}
