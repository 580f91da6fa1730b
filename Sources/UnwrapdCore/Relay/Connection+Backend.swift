import CUnwrapdShims
import Glibc

extension UnsafeMutablePointer where Pointee == Connection {
    /// Opens a nonblocking connection to the backend address `backendAttempt`, falling through to the next
    /// resolved address when one refuses at once. UNIX sockets usually connect immediately, and so does TCP to a
    /// loopback address, although connect(2) still says EINPROGRESS: one `TCP_INFO` read tells, and saves the
    /// event loop round trip (`EPOLLOUT`, `SO_ERROR`). Otherwise TCP waits for writability
    /// (`finishBackendConnect`) under the connect timeout.
    func connectBackend() -> StepOutcome {
        let backend = pointee.worker.pointee.backend
        var lastError: Int32 = 0
        while pointee.backendAttempt < backend.addresses.count {
            let address = backend.addresses[pointee.backendAttempt]
            let descriptor = socket(
                address.family,
                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                    | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { return failBackendConnect(errno: errno) }
            if backend.isTCP { _ = SocketOptions.trySet(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, 1) }
            pointee.backendDescriptor = descriptor
            let result = address.withSockAddr { connect(descriptor, $0, $1) }
            if result == 0 { return backendConnected() }
            if errno == EINPROGRESS {
                if address.isLoopback && SocketOptions.isEstablished(descriptor) { return backendConnected() }
                pushClientOutput()  // the ticket does not wait for a response that is a round trip or more away
                watchBackend(descriptor, events: IOEvents.write)
                return .open
            }
            lastError = errno
            abandonBackendAttempt()
        }
        return failBackendConnect(errno: lastError)
    }

    /// The backend socket became writable while connecting: the connect finished, one way or the other.
    func finishBackendConnect() -> StepOutcome {
        let result = SocketOptions.pendingError(pointee.backendDescriptor)
        if result == 0 { return backendConnected() }
        abandonBackendAttempt()
        guard pointee.backendAttempt < pointee.worker.pointee.backend.addresses.count else {
            return failBackendConnect(errno: result)
        }
        return connectBackend()
    }

    /// The backend accepted: queue what it gets first (PROXY header or client address) and start streaming.
    private func backendConnected() -> StepOutcome {
        stopTimer()
        pointee.phase = .streaming
        if !pointee.flags.contains(.backendWatcherReady) { watchBackend(pointee.backendDescriptor, events: 0) }
        guard queueBackendPreamble() else { return close(.outOfMemory) }
        // Both sockets can take bytes; what is there to read, an event says (or `SSL_has_pending`, for what the
        // handshake's read-ahead already took), instead of a read(2) that would most likely say EAGAIN.
        pointee.flags.formUnion([.clientWritable, .backendWritable])
        pointee.flags.remove([.clientReadable, .backendReadable])
        let outcome = pump()
        if case .open = outcome { boundTicketHold() }
        return outcome
    }

    /// Points the backend watcher at `descriptor` and waits for `events` on it.
    private func watchBackend(_ descriptor: Int32, events: Int32) {
        let watcher = backendWatcher
        if pointee.flags.contains(.backendWatcherReady) {
            setInterest(watcher, 0)
            unwrapd_ev_io_set(watcher, descriptor, 0)
        } else {
            unwrapd_ev_io_init(watcher, onBackendEvent, descriptor, 0)
            watcher.pointee.data = UnsafeMutableRawPointer(self)
            pointee.flags.insert(.backendWatcherReady)
        }
        setInterest(watcher, events)
    }

    /// Closes the socket of a failed attempt and moves on to the next address.
    private func abandonBackendAttempt() {
        if pointee.flags.contains(.backendWatcherReady) { setInterest(backendWatcher, 0) }
        Glibc.close(pointee.backendDescriptor)
        pointee.backendDescriptor = -1
        pointee.backendAttempt += 1
    }

    private func failBackendConnect(errno code: Int32) -> StepOutcome {
        close(.backendConnectFailed(errno: code))
    }
}
