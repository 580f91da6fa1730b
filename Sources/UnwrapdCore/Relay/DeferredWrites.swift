import CUnwrapdShims

/// Client writes deferred to the end of the loop iteration.
///
/// A backend often writes a response in two system calls (nginx: the headers with `writev`, the body with
/// `sendfile`). A worker that reads between the two would send two TLS records, and the client would pay for the
/// second (more reads, one more decryption); the faster the worker, the more often. So what one short backend read
/// brought into an empty buffer waits until the loop has handled this iteration's other events; then one more read
/// takes what arrived meanwhile, and everything leaves as one record. If that read finds nothing, the write may wait
/// on for the rest, up to `--coalesce-wait` (`ResponseHold.swift`), across iterations. Nothing is deferred while
/// bytes are already queued, so a stream is not slowed down.
extension UnsafeMutablePointer where Pointee == Connection {
    /// After a read from the backend into an empty buffer: defers the client write if the read was short and a
    /// deferral is allowed now.
    func deferClientWriteAfterShortRead() {
        guard pointee.flags.isDisjoint(with: Connection.Flags.notDeferrable), pointee.worker.pointee.deferralsAllowed
        else { return }
        pointee.worker.deferClientWrite(of: self)
    }
}

extension UnsafeMutablePointer where Pointee == WorkerContext {
    /// Queues `connection`'s client write for the end of this iteration.
    fileprivate func deferClientWrite(of connection: ConnectionPointer) {
        connection.pointee.flags.insert(.clientWriteDeferred)
        connection.pointee.nextDeferred = pointee.firstDeferred
        pointee.firstDeferred = connection
        let flushWatcher = pointer(to: \.flushWatcher)!
        if unwrapd_ev_is_active(flushWatcher) == 0 { ev_prepare_start(pointee.loop, flushWatcher) }
    }

    /// Takes a closing connection off the queue.
    func cancelDeferredWrite(of connection: ConnectionPointer) {
        connection.pointee.flags.remove(.clientWriteDeferred)
        guard pointee.firstDeferred != connection else {
            pointee.firstDeferred = connection.pointee.nextDeferred
            return
        }
        var queued = pointee.firstDeferred
        while let current = queued, current.pointee.nextDeferred != connection { queued = current.pointee.nextDeferred }
        queued?.pointee.nextDeferred = connection.pointee.nextDeferred
    }

    /// Pumps every queued connection once more, reading the backend again first, except those that wait on for
    /// the rest of their response (`holdDecision`): they stay queued, and the hold timer wakes the loop by their
    /// deadline. Until the loop has waited for events again, nothing is deferred: work that runs after this (events
    /// fed while flushing) writes at once.
    func flushDeferredWrites() {
        pointee.deferralsAllowed = false
        ev_check_start(pointee.loop, pointer(to: \.deferralGate)!)
        var now: Int64 = 0
        var waiting: ConnectionPointer? = nil
        var earliestDeadline = Int64.max
        while let connection = pointee.firstDeferred {
            pointee.firstDeferred = connection.pointee.nextDeferred
            connection.pointee.nextDeferred = nil
            switch connection.holdDecision(now: &now) {
            case .closed:
                continue
            case .wait(let deadline):
                earliestDeadline = min(earliestDeadline, deadline)
                connection.pointee.nextDeferred = waiting
                waiting = connection
                continue
            case .release:
                connection.pointee.flags.remove(.clientWriteDeferred)
                _ = connection.pump()
            }
        }
        pointee.firstDeferred = waiting
        if waiting == nil { ev_prepare_stop(pointee.loop, pointer(to: \.flushWatcher)!) }
        if pointee.holdPolicy.limit > 0 { pointee.holdTimer.aim(at: earliestDeadline, now: now) }
    }

    /// After the wait that follows a flush.
    func reopenDeferrals() {
        pointee.deferralsAllowed = true
        ev_check_stop(pointee.loop, pointer(to: \.deferralGate)!)
    }
}
