import CUnwrapdShims
import Glibc

/// The parent process once everything is prepared: forks the workers, tells systemd it is ready once every worker
/// reported that it serves, restarts a dead worker (backing off when it keeps dying), and handles signals —
/// TERM/INT stop everything, USR1 reopens the log file for everyone, HUP reloads the configuration
/// (`Supervisor+Reload.swift`). Signals are taken synchronously with `sigtimedwait`, so no handler runs at an
/// arbitrary point.
struct Supervisor {
    /// How long workers get to exit after SIGTERM before they are killed.
    static let stopTimeout = 10.0
    /// How long the first workers (and those of a reload) get to report that they serve.
    static let startTimeout = 30.0
    /// How long the workers a reload replaced get to confirm that they accept no more.
    static let retireTimeout = 5.0

    /// One worker position (or the OCSP fetcher's): the running process and its control channel, or when to start one.
    struct Slot {
        var pid: pid_t? = nil
        var channel: Int32? = nil
        var startedAt = 0.0
        var quickExits = 0
        var restartAt: Double? = nil

        /// Its process ended: forgets it, closes the channel, and schedules the next start by `policy`; returns
        /// the delay.
        mutating func ended(policy: RespawnPolicy) -> Double {
            if let channel { close(channel) }
            (pid, channel) = (nil, nil)
            quickExits = policy.quickExits(after: quickExits, uptime: MonotonicClock.now() - startedAt)
            let delay = policy.delay(afterQuickExits: quickExits)
            restartAt = MonotonicClock.now() + delay
            return delay
        }
    }

    /// A worker of a configuration a reload replaced, finishing its connections; it is not restarted.
    struct RetiredWorker {
        let pid: pid_t
        let channel: Int32
        /// When its time (`--drain-timeout`) is up; `nil`: no limit.
        var deadline: Double?
    }

    /// The configuration the workers run.
    var runtime: Runtime
    /// The command line, read again (with its config file) on a reload.
    let arguments: [String]
    /// The directory the daemon started in (a descriptor; -1 if it could not be opened), where a reload reads the
    /// command line's relative paths from: `--daemon` moved the parent to `/`. Closed in every worker, which may run
    /// in a chroot that a directory descriptor from outside would undo.
    let startDirectory: Int32
    private let shared: UnsafeMutablePointer<unwrapd_shared_counters>
    let policy = RespawnPolicy()
    var slots: [Slot]
    var retired: [RetiredWorker] = []
    /// The OCSP fetcher process (`Supervisor+OCSPFetcher.swift`), as a worker's slot.
    var fetcher = Slot()
    /// Fetchers of configurations a reload replaced, told to stop.
    var replacedFetchers: [pid_t] = []
    /// When the session-ticket keys get a new one (`--ticket-key-rotation`); nil: never.
    var nextKeyRotation: Double? = nil

    init(
        runtime: Runtime, arguments: [String], startDirectory: Int32,
        shared: UnsafeMutablePointer<unwrapd_shared_counters>
    ) {
        self.runtime = runtime
        self.arguments = arguments
        self.startDirectory = startDirectory
        self.shared = shared
        self.slots = Array(repeating: Slot(), count: runtime.workerCount)
    }

    /// Runs until SIGTERM/SIGINT; returns the exit status (0 after a clean stop, 1 when the workers could not
    /// start).
    mutating func run() -> Int32 {
        for index in slots.indices { spawn(index) }
        guard awaitWorkersReady() else {
            stop()
            return 1
        }
        spawnFetcher()
        Log.info(runtime.summary)
        SystemdNotifier.notify(["READY=1", "MAINPID=\(getpid())", "STATUS=\(runtime.summary)"])
        scheduleKeyRotation()
        var handled = Signals.set(of: Signals.handled)
        while true {
            var info = siginfo_t()
            let signal: Int32
            if let deadline = nextDeadline() {
                var wait = MonotonicClock.interval(max(0, deadline - MonotonicClock.now()))
                signal = sigtimedwait(&handled, &info, &wait)
            } else {
                signal = sigwaitinfo(&handled, &info)
            }
            switch signal {
            case SIGCHLD: reapWorkers()
            case SIGTERM, SIGINT:
                Log.info("\(Signals.name(signal)) received: stopping")
                stop()
                return 0
            case SIGHUP: reload()
            case SIGUSR1:
                handOverReopenedLogFile()
            default: break
            }
            restartDueWorkers()
            restartFetcherWhenDue()
            endOverdueRetiredWorkers()
            rotateTicketKeysWhenDue()
        }
    }

    /// Forks the worker of slot `index`. The child closes the parent's ends of every other worker's channel, and
    /// `alsoClosing` (during a reload: what the configuration being replaced holds and the new one does not).
    mutating func spawn(_ index: Int, alsoClosing inherited: [Int32] = []) {
        let (runtime, shared) = (runtime, shared)
        do {
            let child = try forkWithChannel(alsoClosing: inherited) { parent, channel in
                WorkerProcess.run(slot: index, runtime: runtime, shared: shared, parent: parent, channel: channel)
            }
            slots[index].pid = child.pid
            slots[index].channel = child.channel
            slots[index].startedAt = MonotonicClock.now()
            slots[index].restartAt = nil
        } catch {
            retryLater(index, after: "\(error)")
        }
    }

    /// Forks a child with a control channel. The child closes the parent's ends of every other child's channel,
    /// `inherited` and the start directory, then runs `body` with the parent's PID and its end of the channel; the
    /// parent gets the child's PID and its own end.
    func forkWithChannel(
        alsoClosing inherited: [Int32] = [], _ body: (_ parent: pid_t, _ channel: Int32) -> Never
    ) throws(StartupError) -> (pid: pid_t, channel: Int32) {
        let parent = getpid()
        let channel = try ControlChannel.makePair()
        let pid = fork()
        switch pid {
        case -1:
            let failure = SystemError("fork")
            close(channel.parent)
            close(channel.worker)
            throw .system(failure)
        case 0:
            close(channel.parent)
            for slot in slots { if let other = slot.channel { close(other) } }
            for worker in retired { close(worker.channel) }
            if let other = fetcher.channel { close(other) }
            for descriptor in inherited { close(descriptor) }
            if startDirectory >= 0 { close(startDirectory) }
            body(parent, channel.worker)
        default:
            close(channel.worker)
            return (pid, channel.parent)
        }
    }

    private mutating func retryLater(_ index: Int, after failure: String) {
        Log.error("worker \(index): \(failure); retrying")
        slots[index].quickExits += 1
        slots[index].restartAt = MonotonicClock.now() + policy.delay(afterQuickExits: slots[index].quickExits)
    }

    /// Waits until every worker of `slots` reported `ready` on its channel. False when one exits first (it logged
    /// why) or they take longer than `startTimeout`.
    func awaitWorkersReady() -> Bool {
        let channels = slots.compactMap(\.channel)  // a slot's position is its index: every slot has one
        guard channels.count == slots.count else { return false }
        switch ControlChannel.awaitAnswers(.ready, on: channels, within: Supervisor.startTimeout, closeAnswers: false) {
        case .complete: return true
        case .closed(let index): Log.error("worker \(index) could not start; stopping")
        case .timedOut(let waiting): Log.error("workers \(waiting) did not start within \(Supervisor.startTimeout) s")
        case .pollFailed: Log.error("\(SystemError("poll", "worker channels"))")
        }
        return false
    }

    /// SIGUSR1: the parent reopens the log file and gives every worker the new descriptor.
    private func handOverReopenedLogFile() {
        guard let descriptor = Log.reopen() else { return }
        let channels = slots.compactMap(\.channel) + retired.map(\.channel) + [fetcher.channel].compactMap { $0 }
        for channel in channels { ControlChannel.send(.logFile, on: channel, descriptor: descriptor) }
    }

    /// Collects every worker that ended and schedules its restart (a retired one is not restarted).
    mutating func reapWorkers() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            if reapFetcher(pid, status: status) { continue }
            if let position = retired.firstIndex(where: { $0.pid == pid }) {
                close(retired.remove(at: position).channel)
                let line = "worker (pid \(pid)) of the configuration a reload replaced \(Signals.describeExit(status))"
                if status == 0 { Log.info(line) } else { Log.error(line) }
                continue
            }
            guard let index = slots.firstIndex(where: { $0.pid == pid }) else { continue }
            let when = RespawnPolicy.restartText(delay: slots[index].ended(policy: policy))
            Log.error("worker \(index) (pid \(pid)) \(Signals.describeExit(status)); \(when)")
        }
    }

    /// The next time something is due: a worker's or the fetcher's restart, the end of a retired worker's drain
    /// time, a new session-ticket key.
    private func nextDeadline() -> Double? {
        (slots.compactMap(\.restartAt) + retired.compactMap(\.deadline)
            + [nextKeyRotation, fetcher.restartAt].compactMap { $0 }).min()
    }

    private mutating func restartDueWorkers() {
        let now = MonotonicClock.now()
        for index in slots.indices where slots[index].pid == nil {
            if let due = slots[index].restartAt, due <= now { spawn(index) }
        }
    }

    /// SIGTERM to every retired worker whose drain time is up: it closes what it still holds and exits.
    private mutating func endOverdueRetiredWorkers() {
        let now = MonotonicClock.now()
        for index in retired.indices {
            guard let deadline = retired[index].deadline, deadline <= now else { continue }
            Log.info(
                "worker (pid \(retired[index].pid)) of the configuration a reload replaced still has connections "
                    + "after --drain-timeout: closing them")
            kill(retired[index].pid, SIGTERM)
            retired[index].deadline = nil
        }
    }

    /// SIGTERM to every worker, wait for them (killing stragglers after `stopTimeout`), close the listeners.
    private func stop() {
        SystemdNotifier.notify(["STOPPING=1"])
        Supervisor.terminate(
            slots.compactMap(\.pid) + retired.map(\.pid) + [fetcher.pid].compactMap { $0 } + replacedFetchers)
        runtime.closeListeners()
    }

    /// SIGTERM to `workers`, then waits until they exited, killing those left after `stopTimeout`.
    static func terminate(_ workers: [pid_t]) {
        for pid in workers { kill(pid, SIGTERM) }
        var running = workers
        let deadline = MonotonicClock.now() + Supervisor.stopTimeout
        var childSignal = Signals.set(of: [SIGCHLD])
        while true {
            running.removeAll { pid in
                let result = waitpid(pid, nil, WNOHANG)
                return result == pid || (result < 0 && errno == ECHILD)
            }
            guard !running.isEmpty else { return }
            let remaining = deadline - MonotonicClock.now()
            if remaining <= 0 {
                Log.error("workers did not stop within \(Supervisor.stopTimeout) s: killing them")
                for pid in running {
                    kill(pid, SIGKILL)
                    waitpid(pid, nil, 0)
                }
                return
            }
            var wait = MonotonicClock.interval(remaining)
            var info = siginfo_t()
            _ = sigtimedwait(&childSignal, &info, &wait)
        }
    }
}
