import COpenSSL
import CUnwrapdShims
import Glibc

extension UnsafeMutablePointer where Pointee == Connection {
    /// Takes over an accepted client socket: allocates the connection, creates its TLS session, links it into the
    /// worker's list, arms the handshake timer, and makes the first handshake step at once (the ClientHello often
    /// arrives with the connection). Returns `nil` (socket closed) when memory is exhausted.
    @discardableResult
    static func open(
        worker: UnsafeMutablePointer<WorkerContext>, frontend: UnsafeMutablePointer<FrontendRuntime>,
        descriptor: Int32, clientAddress: SocketAddress
    ) -> ConnectionPointer? {
        let expectsProxyHeader = worker.pointee.header.mode == .passThrough
        let connection = ConnectionPointer.allocate(capacity: 1)
        connection.initialize(
            to: Connection(
                worker: worker, frontend: frontend, clientDescriptor: descriptor, clientAddress: clientAddress,
                phase: expectsProxyHeader ? .readingProxyHeader : .handshaking))
        guard let ssl = SSL_new(frontend.pointee.tls.pointee.defaultContext) else {
            return abandon(connection, descriptor, clientAddress, on: frontend)
        }
        guard let bio = ClientSocketBIO.make(for: connection) else {
            SSL_free(ssl)
            return abandon(connection, descriptor, clientAddress, on: frontend)
        }
        SSL_set_bio(ssl, bio, bio)
        SSL_set_accept_state(ssl)
        connection.pointee.ssl = ssl
        connection.pointee.flags = [.clientReadable, .clientWritable]

        let clientWatcher = connection.clientWatcher
        unwrapd_ev_io_init(clientWatcher, onClientEvent, descriptor, 0)
        clientWatcher.pointee.data = UnsafeMutableRawPointer(connection)
        let timer = connection.timer
        unwrapd_ev_timer_init(timer, onConnectionTimeout, 0, 0)
        timer.pointee.data = UnsafeMutableRawPointer(connection)
        connection.armTimer(worker.pointee.handshakeTimeout)

        worker.pointee.link(connection)
        _ = expectsProxyHeader ? connection.readProxyHeader() : connection.continueHandshake()
        return connection
    }

    /// `open` without memory for the TLS session: closes the socket and frees the connection, which no watcher
    /// knows yet.
    private static func abandon(
        _ connection: ConnectionPointer, _ descriptor: Int32, _ clientAddress: SocketAddress,
        on frontend: UnsafeMutablePointer<FrontendRuntime>
    ) -> ConnectionPointer? {
        Log.write(.error) { line in
            line.appendClient(clientAddress, on: frontend)
            line.append("cannot create a TLS session (out of memory)")
        }
        ERR_clear_error()
        Glibc.close(descriptor)
        let shared = connection.pointee.worker.pointee.shared
        shared.add(-1, to: shared.openConnections)
        connection.deinitialize(count: 1)
        connection.deallocate()
        return nil
    }

    /// Ends the connection: logs why (if the level asks for it), releases the TLS session, both sockets and the
    /// buffers, and frees the memory. The pointer is dangling afterwards.
    func close(_ reason: CloseReason) -> StepOutcome {
        let worker = pointee.worker
        log(reason)

        setInterest(clientWatcher, 0)
        ev_clear_pending(loop, clientWatcher)
        if pointee.flags.contains(.backendWatcherReady) {
            setInterest(backendWatcher, 0)
            ev_clear_pending(loop, backendWatcher)
        }
        stopTimer()
        if pointee.flags.contains(.clientWriteDeferred) { worker.cancelDeferredWrite(of: self) }
        if let ssl = pointee.ssl { SSL_free(ssl) }
        Glibc.close(pointee.clientDescriptor)
        if pointee.backendDescriptor >= 0 { Glibc.close(pointee.backendDescriptor) }
        worker.pointee.pool.reclaim(&pointee.toBackend)
        worker.pointee.pool.reclaim(&pointee.toClient)

        worker.pointee.unlink(self)
        deinitialize(count: 1)
        deallocate()
        if worker.pointee.acceptPaused { worker.resumeAccepting() }
        if worker.pointee.retired { worker.endLoopWhenDrained() }
        return .closed
    }
}

extension UnsafeMutablePointer where Pointee == Connection {
    /// Logs why the connection ends (errors at the level `-q` allows, within `--connection-log-limit`) and empties
    /// OpenSSL's error queue.
    func log(_ reason: CloseReason) {
        let isFailure = reason.level == .error
        let level = isFailure ? Log.connectionFailureLevel : reason.level
        if Log.isEnabled(level) && (!isFailure || pointee.worker.admitFailureLine()) {
            Log.write(level) { line in
                line.appendClient(pointee.clientAddress, on: pointee.frontend)
                reason.write(to: &line, ssl: pointee.ssl, backend: pointee.worker.pointee.backend.name)
            }
        }
        ERR_clear_error()
    }
}

extension LogLine {
    /// `<client address> on <frontend>: `, how a connection's line begins.
    mutating func appendClient(_ address: SocketAddress, on frontend: UnsafeMutablePointer<FrontendRuntime>) {
        append(address)
        append(" on ")
        append(frontend.pointee.name)
        append(": ")
    }
}

extension WorkerContext {
    /// Adds a new connection to the list of open ones.
    mutating func link(_ connection: ConnectionPointer) {
        connection.pointee.next = firstConnection
        firstConnection?.pointee.previous = connection
        firstConnection = connection
        openConnections += 1
    }

    /// Removes a closing connection from the list and gives its slot back to the global cap.
    mutating func unlink(_ connection: ConnectionPointer) {
        if let previous = connection.pointee.previous {
            previous.pointee.next = connection.pointee.next
        } else {
            firstConnection = connection.pointee.next
        }
        connection.pointee.next?.pointee.previous = connection.pointee.previous
        openConnections -= 1
        shared.add(-1, to: shared.openConnections)
    }
}
