import CUnwrapdShims

/// Whether a worker lets a deferred client write wait for the rest of a response (`--coalesce-wait`), learnt from
/// whether waiting pays.
///
/// A backend that writes a response in parts (nginx: the headers, then the body some 10 µs later) would otherwise
/// reach the client as two TLS records in two TCP segments: a second `SSL_write`, `send`, acknowledgement, and a
/// second read and decryption for the client. Measured with nginx and wrk on loopback (keep-alive): 6.1–6.3 TCP
/// segments per request instead of 6.4–7.0 (6.0 is the least). A backend that writes whole responses gains nothing and would only
/// see each one wait. So of every `window` holds at least one in `paidShare` must end with more bytes than it
/// started with; otherwise the worker stops holding, and then tries one hold per `probeInterval` deferrals, to
/// notice when the backend's way of writing changes. The bar is low on purpose: with nginx, the worker reads a whole
/// response at once in some periods and halves in others; holding pays in the second and costs only the wait in
/// the first.
struct HoldPolicy {
    static let window = 256
    static let paidShare = 32
    static let probeInterval = 32
    /// How long one hold may last, in nanoseconds; 0: never hold.
    let limit: Int64
    /// Whether holds pay now (the last window's verdict); while they do not, only probes hold.
    private(set) var holding = true
    private var ended = 0
    private var paid = 0
    private var deferralsSinceProbe = 0

    init(limitMicroseconds: Int) {
        limit = Int64(limitMicroseconds) * 1000
    }

    /// Whether this deferred write may wait (when the bytes it waits for have not come yet).
    mutating func allowsHold() -> Bool {
        guard limit > 0 else { return false }
        if holding { return true }
        deferralsSinceProbe += 1
        guard deferralsSinceProbe >= Self.probeInterval else { return false }
        deferralsSinceProbe = 0
        return true
    }

    /// A hold ended: with more bytes from the backend (`paid`) or at its deadline with none.
    mutating func record(paid holdPaid: Bool) {
        ended += 1
        if holdPaid { paid += 1 }
        guard ended == Self.window else { return }
        holding = paid * Self.paidShare >= ended
        ended = 0
        paid = 0
        deferralsSinceProbe = 0
    }
}

/// The worker's timer that ends holds: a `timerfd`, since libev's timers wait in whole milliseconds and a hold
/// lasts microseconds. Armed for the earliest deadline of the connections held, disarmed when none is.
struct HoldTimer {
    var descriptor: Int32 = -1
    var watcher = ev_io()
    /// When the timer fires (`MonotonicClock` nanoseconds); 0 while disarmed.
    var deadline: Int64 = 0

    /// Arms the timer for `deadline` unless it fires sooner already; `Int64.max` disarms it.
    mutating func aim(at deadline: Int64, now: Int64) {
        if deadline == Int64.max {
            guard self.deadline != 0 else { return }
            self.deadline = 0
            _ = unwrapd_timerfd_arm(descriptor, 0)
            return
        }
        guard self.deadline == 0 || deadline < self.deadline else { return }
        self.deadline = deadline
        _ = unwrapd_timerfd_arm(descriptor, max(deadline - now, 1000))
    }
}

/// What a deferred client write does at the end of a loop iteration.
enum HoldDecision {
    /// Goes out now.
    case release
    /// Waits on, at most until this deadline.
    case wait(until: Int64)
    /// The connection closed while its backend was read once more: its memory is gone.
    case closed
}

extension UnsafeMutablePointer where Pointee == Connection {
    /// For a connection whose client write was deferred: whether it goes out now or waits for more of the response.
    /// The first time, the backend is read once more; a connection that found nothing new may wait (`HoldPolicy`).
    /// A waiting one goes out once the backend sent more (or its end), or at its deadline, after a last read. `now`
    /// is read from the clock once per flush, when first needed.
    func holdDecision(now: inout Int64) -> HoldDecision {
        let worker = pointee.worker
        guard pointee.holdDeadline != 0 else {
            guard worker.pointee.holdPolicy.allowsHold() else {
                pointee.flags.insert(.backendReadable)  // the flush's one more read: what arrived meanwhile
                return .release
            }
            let before = pointee.toClient.count
            pointee.flags.insert(.backendReadable)  // read once more; the client write stays deferred meanwhile
            guard pump() == .open else { return .closed }
            if pointee.toClient.count != before || pointee.flags.contains(.backendInputDone) { return .release }
            if now == 0 { now = MonotonicClock.nanoseconds() }
            pointee.holdDeadline = now + worker.pointee.holdPolicy.limit
            pointee.heldBytes = before
            return .wait(until: pointee.holdDeadline)
        }
        var paid = pointee.toClient.count != pointee.heldBytes || pointee.flags.contains(.backendInputDone)
        if !paid {
            if now == 0 { now = MonotonicClock.nanoseconds() }
            if now < pointee.holdDeadline { return .wait(until: pointee.holdDeadline) }
            // A busy loop checks late: what came in time may not have been read yet.
            pointee.flags.insert(.backendReadable)
            guard pump() == .open else { return .closed }
            paid = pointee.toClient.count != pointee.heldBytes || pointee.flags.contains(.backendInputDone)
        }
        let wasHolding = worker.pointee.holdPolicy.holding
        worker.pointee.holdPolicy.record(paid: paid)
        if worker.pointee.holdPolicy.holding != wasHolding {
            Log.debug(
                "coalesce-wait: "
                    + (wasHolding
                        ? "fewer than 1 in \(HoldPolicy.paidShare) of the last \(HoldPolicy.window) waits brought "
                            + "more of a response; waiting for 1 response in \(HoldPolicy.probeInterval) from now on"
                        : "waits bring more of a response again; waiting for every response"))
        }
        pointee.holdDeadline = 0
        return .release
    }
}
