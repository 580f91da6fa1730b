import CUnwrapdShims
import Glibc

extension UnsafeMutablePointer where Pointee == WorkerContext {
    /// How long accepting pauses when the connection cap or the descriptor limit is reached.
    static var acceptPause: Double { 0.1 }
    /// At most one line per this many seconds about pausing.
    static var pauseReportInterval: Double { 10 }

    /// Starts watching this worker's listening sockets.
    func startAccepting() {
        for index in pointee.listeners.indices {
            ev_io_start(pointee.loop, pointee.listeners.baseAddress!.advanced(by: index).pointer(to: \.watcher)!)
        }
    }

    /// Stops watching the listening sockets (the sockets stay open: they belong to the parent).
    func stopAccepting() {
        for index in pointee.listeners.indices {
            ev_io_stop(pointee.loop, pointee.listeners.baseAddress!.advanced(by: index).pointer(to: \.watcher)!)
        }
    }

    /// Accepts one waiting client of `listener`, if the caps allow, and gives it its first handshake step right
    /// away. One per readiness event, so that a flood of new clients cannot starve established ones: while clients
    /// wait, the listener's level-triggered watcher reports it again in the next loop iteration, so each iteration
    /// serves the events of established connections and starts at most one new handshake per listener. (A batch of
    /// 64 per event, as before, ran up to 64 handshake steps back to back: with RSA-2048 and 64 clients
    /// reconnecting, keep-alive requests on established connections waited 115 ms at the 99th percentile, against
    /// 7 ms now.)
    /// Returns whether a client was taken (false: none waiting, or the caps or descriptors ran out).
    @discardableResult
    func acceptConnection(from listener: UnsafeMutablePointer<ListenerWatcher>) -> Bool {
        let openCounter = pointee.shared.openConnections
        guard pointee.openConnections < pointee.localConnectionLimit,
            unwrapd_atomic_increment_below(openCounter, pointee.globalConnectionLimit) == 1
        else {
            pauseAccepting(because: "the connection limit is reached")
            return false
        }
        var address = SocketAddress()
        let descriptor = address.withUnsafeMutableSockAddr { storage, length in
            unwrapd_accept4(
                listener.pointee.descriptor, storage, length,
                Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        }
        guard descriptor >= 0 else {
            let code = errno
            _ = unwrapd_atomic_add(openCounter, -1)
            switch code {
            case EAGAIN, EINTR, ECONNABORTED, EPROTO: return false  // none waiting, or that one gave up
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                pauseAccepting(because: "accept: \(SystemError.reason(code))")
            default:
                Log.error("\(SystemError("accept", listener.pointee.frontend.pointee.name, code: code))")
            }
            return false
        }
        ConnectionPointer.open(
            worker: self, frontend: listener.pointee.frontend, descriptor: descriptor, clientAddress: address)
        return true
    }

    /// Stops accepting for a moment; accepting resumes when a connection of this worker closes or the pause ends
    /// (other workers' connections may have closed). Waiting clients stay in the kernel's queue meanwhile.
    func pauseAccepting(because reason: @autoclosure () -> String) {
        guard !pointee.acceptPaused else { return }
        pointee.pausesSinceLogged += 1
        let now = ev_now(pointee.loop)
        if now - pointee.pauseLoggedAt >= Self.pauseReportInterval {
            let repeats =
                pointee.pausesSinceLogged > 1 ? "; paused \(pointee.pausesSinceLogged) times since the last report" : ""
            Log.error(
                "not accepting new connections for now: \(reason()) (\(pointee.openConnections) open here\(repeats))")
            pointee.pauseLoggedAt = now
            pointee.pausesSinceLogged = 0
        }
        pointee.acceptPaused = true
        stopAccepting()
        let timer = pointer(to: \.acceptPauseTimer)!
        timer.pointee.repeat = Self.acceptPause
        ev_timer_again(pointee.loop, timer)
    }

    func resumeAccepting() {
        guard pointee.acceptPaused else { return }
        pointee.acceptPaused = false
        ev_timer_stop(pointee.loop, pointer(to: \.acceptPauseTimer)!)
        startAccepting()
    }

    /// Closes every open connection (worker shutdown).
    func closeAllConnections() {
        while let connection = pointee.firstConnection {
            _ = connection.close(.workerStopping)
        }
    }
}

/// A listening socket has clients waiting.
func onListenerReadable(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_io>?, _ events: Int32) {
    let listener = watcher!.pointee.data.assumingMemoryBound(to: ListenerWatcher.self)
    listener.pointee.worker.acceptConnection(from: listener)
}

/// The accept pause is over.
func onAcceptPauseEnded(_ loop: OpaquePointer?, _ timer: UnsafeMutablePointer<ev_timer>?, _ events: Int32) {
    timer!.pointee.data.assumingMemoryBound(to: WorkerContext.self).resumeAccepting()
}
