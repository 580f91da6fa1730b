import CUnwrapdShims
import Glibc

/// A worker process: after fork it drops privileges, builds its context from the prepared runtime, and runs a
/// libev loop over its slot's listening sockets until SIGTERM/SIGINT, the parent's death, or (once a reload retired
/// it) the end of its last connection.
enum WorkerProcess {
    /// Exit status of a worker that could not start (e.g. privileges could not be dropped).
    static let startFailureStatus: Int32 = 78

    /// Runs in the child after `fork`; never returns.
    static func run(
        slot: Int, runtime: Runtime, shared: UnsafeMutablePointer<unwrapd_shared_counters>, parent: pid_t,
        channel: Int32
    ) -> Never {
        Log.setTag("worker \(slot): ")
        // The other slots' sockets; not one this slot shares with them (a socket systemd passed).
        let own = runtime.listeners.filter { $0.workerSlot == slot }.descriptors
        for descriptor in runtime.listeners.descriptors.subtracting(own) { close(descriptor) }
        do {
            try PrivilegeDrop.apply(identity: runtime.identity, chroot: runtime.settings.chroot)
        } catch {
            Log.error("cannot start: \(error)")
            _exit(startFailureStatus)
        }
        // After the privilege drop: Linux clears the parent-death signal when the credentials change.
        _ = unwrapd_set_parent_death_signal(SIGTERM)
        if getppid() != parent { _exit(0) }

        let loop = unwrapd_ev_default_loop(0)!
        let worker = makeContext(slot: slot, runtime: runtime, shared: shared, loop: loop)
        let signals = watchSignals(loop: loop)
        let control = watchControlChannel(channel, of: worker)
        // HUP is the parent's business; USR1 too: the parent hands over the reopened log file on the channel.
        _ = unwrapd_sigaction_ignore(SIGHUP)
        _ = unwrapd_sigaction_ignore(SIGUSR1)
        Signals.unblockAll()
        if case .inet(let host, let port) = runtime.settings.backend, runtime.settings.backendRefreshSeconds > 0 {
            worker.startBackendRefresh(host: host, port: port, every: Double(runtime.settings.backendRefreshSeconds))
        }
        worker.startAccepting()
        ControlChannel.send(.ready, on: channel)
        Log.debug("started (pid \(getpid()))")

        ev_run(loop, 0)

        worker.stopAccepting()
        worker.closeAllConnections()
        worker.reportLeftOutFailureLines()
        signals.deallocate()
        control.deallocate()
        Log.debug("stopped")
        _exit(0)
    }

    /// The worker's context: frontends, backend, limits, and a watcher per listening socket of its slot.
    private static func makeContext(
        slot: Int, runtime: Runtime, shared: UnsafeMutablePointer<unwrapd_shared_counters>, loop: OpaquePointer
    ) -> UnsafeMutablePointer<WorkerContext> {
        let settings = runtime.settings
        let frontends = UnsafeMutablePointer<FrontendRuntime>.allocate(capacity: runtime.frontends.count)
        for (index, frontend) in runtime.frontends.enumerated() {
            (frontends + index).initialize(to: FrontendRuntime(tls: frontend.tls, name: frontend.name))
        }
        let addresses = UnsafeMutableBufferPointer<SocketAddress>.allocate(capacity: runtime.backendAddresses.count)
        _ = addresses.initialize(from: runtime.backendAddresses)
        var isTCP = true
        if case .unix = settings.backend { isTCP = false }

        let worker = UnsafeMutablePointer<WorkerContext>.allocate(capacity: 1)
        worker.initialize(
            to: WorkerContext(
                loop: loop, slot: slot, shared: shared,
                backend: BackendTarget(addresses: addresses, name: settings.backend.displayName, isTCP: isTCP),
                header: BackendHeaderOptions(
                    mode: settings.backendHeader, includeSSL: settings.proxyTLV,
                    includeAuthority: settings.proxyAuthority,
                    includeClientCertificate: settings.proxyClientCertificate),
                handshakeTimeout: settings.handshakeTimeout, connectTimeout: settings.backendConnectTimeout,
                ticketWait: Double(settings.ticketWaitMilliseconds) / 1000,
                globalConnectionLimit: runtime.connectionLimit, localConnectionLimit: runtime.connectionsPerWorker,
                coalesceWaitMicroseconds: settings.coalesceWaitMicroseconds,
                failureLinesPerSecond: settings.connectionLogLimit))

        TicketHold.enabled = settings.ticketWaitMilliseconds > 0
        let own = runtime.listeners.filter { $0.workerSlot == slot }
        let listeners = UnsafeMutableBufferPointer<ListenerWatcher>.allocate(capacity: own.count)
        for (index, listener) in own.enumerated() {
            let element = listeners.baseAddress! + index
            element.initialize(
                to: ListenerWatcher(
                    worker: worker, frontend: frontends + listener.frontendIndex, descriptor: listener.descriptor))
            let watcher = element.pointer(to: \.watcher)!
            unwrapd_ev_io_init(watcher, onListenerReadable, listener.descriptor, IOEvents.read)
            watcher.pointee.data = UnsafeMutableRawPointer(element)
        }
        worker.pointee.listeners = listeners
        let pauseTimer = worker.pointer(to: \.acceptPauseTimer)!
        unwrapd_ev_timer_init(pauseTimer, onAcceptPauseEnded, 0, 0)
        pauseTimer.pointee.data = UnsafeMutableRawPointer(worker)
        let failureLogTimer = worker.pointer(to: \.failureLogTimer)!
        unwrapd_ev_timer_init(failureLogTimer, onFailureLogReport, 0, 0)
        failureLogTimer.pointee.data = UnsafeMutableRawPointer(worker)
        let flushWatcher = worker.pointer(to: \.flushWatcher)!
        unwrapd_ev_prepare_init(flushWatcher, onLoopPrepare)
        flushWatcher.pointee.data = UnsafeMutableRawPointer(worker)
        let deferralGate = worker.pointer(to: \.deferralGate)!
        unwrapd_ev_check_init(deferralGate, onLoopCheck)
        deferralGate.pointee.data = UnsafeMutableRawPointer(worker)
        if worker.pointee.holdPolicy.limit > 0 { startHoldTimer(worker) }
        return worker
    }

    /// Creates and watches the timer that ends waits for the rest of a response; without it, writes do not wait.
    private static func startHoldTimer(_ worker: UnsafeMutablePointer<WorkerContext>) {
        let descriptor = unwrapd_timerfd_create()
        guard descriptor >= 0 else {
            Log.error("coalesce-wait: \(SystemError("timerfd_create", "the hold timer")); responses are sent unjoined")
            worker.pointee.holdPolicy = HoldPolicy(limitMicroseconds: 0)
            return
        }
        worker.pointee.holdTimer.descriptor = descriptor
        let watcher = worker.pointer(to: \.holdTimer.watcher)!
        unwrapd_ev_io_init(watcher, onHoldTimer, descriptor, IOEvents.read)
        watcher.pointee.data = UnsafeMutableRawPointer(worker)
        ev_io_start(worker.pointee.loop, watcher)
    }

    /// SIGTERM and SIGINT end the loop.
    private static func watchSignals(loop: OpaquePointer) -> UnsafeMutablePointer<ev_signal> {
        let watchers = UnsafeMutablePointer<ev_signal>.allocate(capacity: 2)
        watchers.initialize(repeating: ev_signal(), count: 2)
        unwrapd_ev_signal_init(watchers, onStopSignal, SIGTERM)
        unwrapd_ev_signal_init(watchers + 1, onStopSignal, SIGINT)
        for index in 0..<2 { ev_signal_start(loop, watchers + index) }
        return watchers
    }

    /// Messages from the parent (a reopened log file, retirement after a reload), and its end-of-file when it is
    /// gone.
    private static func watchControlChannel(
        _ channel: Int32, of worker: UnsafeMutablePointer<WorkerContext>
    ) -> UnsafeMutablePointer<ev_io> {
        let watcher = UnsafeMutablePointer<ev_io>.allocate(capacity: 1)
        watcher.initialize(to: ev_io())
        unwrapd_ev_io_init(watcher, onControlMessage, channel, IOEvents.read)
        watcher.pointee.data = UnsafeMutableRawPointer(worker)
        ev_io_start(worker.pointee.loop, watcher)
        return watcher
    }
}

/// SIGTERM or SIGINT: stop the loop; the worker then closes its connections and exits.
private func onStopSignal(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_signal>?, _ events: Int32) {
    ev_break(loop, Int32(EVBREAK_ALL))
}

/// The parent sent something: a reopened log file to use from now on, or retirement (a reload replaced this
/// worker); or it is gone, and so is this worker.
private func onControlMessage(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_io>?, _ events: Int32) {
    switch ControlChannel.receive(on: watcher!.pointee.fd) {
    case .message(.logFile, let descriptor) where descriptor >= 0:
        Log.adopt(descriptor)
    case .message(.retire, _):
        watcher!.pointee.data.assumingMemoryBound(to: WorkerContext.self).retire()
        ControlChannel.send(.retired, on: watcher!.pointee.fd)
    case .closed:
        ev_break(loop, Int32(EVBREAK_ALL))
    case .message, .nothing:
        break
    }
}
