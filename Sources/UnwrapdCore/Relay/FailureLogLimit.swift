import CUnwrapdShims

extension UnsafeMutablePointer where Pointee == WorkerContext {
    /// Whether a line about a failed connection is written now (`--connection-log-limit`). The first line left out
    /// starts the timer that reports how many were, at the end of its second.
    func admitFailureLine() -> Bool {
        switch pointee.failureLog.decide(at: ev_now(pointee.loop)) {
        case .write: return true
        case .leaveOut: return false
        case .leaveOutFirst(let reportAt):
            let timer = pointer(to: \.failureLogTimer)!
            timer.pointee.repeat = Swift.max(reportAt - ev_now(pointee.loop), 0.001)
            ev_timer_again(pointee.loop, timer)
            return false
        }
    }

    /// Writes how many lines about failed connections were left out since the last report, if any.
    func reportLeftOutFailureLines() {
        ev_timer_stop(pointee.loop, pointer(to: \.failureLogTimer)!)
        let count = pointee.failureLog.takeLeftOut()
        guard count > 0 else { return }
        let limit = pointee.failureLog.linesPerSecond
        Log.write(Log.connectionFailureLevel) { line in
            line.append("left out ")
            line.append(count)
            line.append(count == 1 ? " line" as StaticString : " lines")
            line.append(" about failed connections (connection-log-limit: at most ")
            line.append(limit)
            line.append(" per second)")
        }
    }
}

/// The second in which lines about failed connections were left out is over: say how many.
func onFailureLogReport(_ loop: OpaquePointer?, _ timer: UnsafeMutablePointer<ev_timer>?, _ events: Int32) {
    timer!.pointee.data.assumingMemoryBound(to: WorkerContext.self).reportLeftOutFailureLines()
}
