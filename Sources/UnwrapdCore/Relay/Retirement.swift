import CUnwrapdShims
import Glibc

extension UnsafeMutablePointer where Pointee == WorkerContext {
    /// A reload (SIGHUP) replaced this worker: it stops accepting for good and closes its copies of the listening
    /// sockets (the parent keeps those the new configuration listens on, and the new workers already accept from
    /// them), serves its open connections to their end, and then ends its loop, which ends the process. The parent
    /// ends what is left after `--drain-timeout`.
    func retire() {
        guard !pointee.retired else { return }
        acceptEveryWaitingClient()
        pointee.retired = true
        // Accepting may have paused at a cap, or resumed when a connection closed meanwhile: it stops for good.
        pointee.acceptPaused = false
        ev_timer_stop(pointee.loop, pointer(to: \.acceptPauseTimer)!)
        stopAccepting()
        for listener in pointee.listeners { Glibc.close(listener.descriptor) }
        Log.info("replaced by a reload: accepting no more, connections left to finish: \(pointee.openConnections)")
        endLoopWhenDrained()
    }

    /// Takes the clients already waiting in this worker's listening queues before it closes its copies of the
    /// sockets: when the new configuration has fewer workers, or drops an address, a socket closes with its last
    /// copy, and whoever still waited in its queue would be reset. The next ones go to the other workers' sockets.
    private func acceptEveryWaitingClient() {
        for index in pointee.listeners.indices {
            let listener = pointee.listeners.baseAddress! + index
            while acceptConnection(from: listener) {}
        }
    }

    /// Ends the loop of a retired worker once its last connection closed.
    func endLoopWhenDrained() {
        if pointee.openConnections == 0 { ev_break(pointee.loop, Int32(EVBREAK_ALL)) }
    }
}
