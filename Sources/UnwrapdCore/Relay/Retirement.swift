import CUnwrapdShims
import Glibc

extension UnsafeMutablePointer where Pointee == WorkerContext {
    /// A reload (SIGHUP) replaced this worker: it stops accepting for good and closes its copies of the listening
    /// sockets (the parent keeps those the new configuration listens on, and the new workers already accept from
    /// them), serves its open connections to their end, and then ends its loop, which ends the process. The parent
    /// ends what is left after `--drain-timeout`.
    func retire() {
        guard !pointee.retired else { return }
        pointee.retired = true
        pointee.acceptPaused = false
        ev_timer_stop(pointee.loop, pointer(to: \.acceptPauseTimer)!)
        stopAccepting()
        for listener in pointee.listeners { Glibc.close(listener.descriptor) }
        Log.info("replaced by a reload: accepting no more, connections left to finish: \(pointee.openConnections)")
        endLoopWhenDrained()
    }

    /// Ends the loop of a retired worker once its last connection closed.
    func endLoopWhenDrained() {
        if pointee.openConnections == 0 { ev_break(pointee.loop, Int32(EVBREAK_ALL)) }
    }
}
