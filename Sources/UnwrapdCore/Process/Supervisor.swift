import CUnwrapdShims
import Glibc

/// The parent process once everything is prepared: forks the workers, tells systemd it is ready once every worker
/// reported that it serves, restarts a dead worker (backing off when it keeps dying), and handles signals —
/// TERM/INT stop everything, USR1 reopens the log file for everyone, HUP is acknowledged (reload comes later).
/// Signals are taken synchronously with `sigtimedwait`, so no handler runs at an arbitrary point.
struct Supervisor {
    /// How long workers get to exit after SIGTERM before they are killed.
    static let stopTimeout = 10.0
    /// How long the first workers get to report that they serve.
    static let startTimeout = 30.0

    /// One worker position: the running process and its control channel, or when to start one.
    private struct Slot {
        var pid: pid_t? = nil
        var channel: Int32? = nil
        var startedAt = 0.0
        var quickExits = 0
        var restartAt: Double? = nil
    }

    private let runtime: Runtime
    private let shared: UnsafeMutablePointer<unwrapd_shared_counters>
    private let policy = RespawnPolicy()
    private var slots: [Slot]

    init(runtime: Runtime, shared: UnsafeMutablePointer<unwrapd_shared_counters>) {
        self.runtime = runtime
        self.shared = shared
        self.slots = Array(repeating: Slot(), count: runtime.workerCount)
    }

    /// Runs until SIGTERM/SIGINT; returns the exit status (0 after a clean stop, 1 when the workers could not
    /// start).
    mutating func run() -> Int32 {
        for index in slots.indices { spawn(index) }
        guard awaitFirstWorkers() else {
            stop()
            return 1
        }
        Log.info(runtime.summary)
        SystemdNotifier.notify(["READY=1", "MAINPID=\(getpid())", "STATUS=\(runtime.summary)"])
        var handled = Signals.set(of: Signals.handled)
        while true {
            var info = siginfo_t()
            let signal: Int32
            if let deadline = nextRestart() {
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
            case SIGHUP:
                Log.error("SIGHUP: reloading the configuration is not supported yet; keeping the running one")
            case SIGUSR1:
                handOverReopenedLogFile()
            default: break
            }
            restartDueWorkers()
        }
    }

    private mutating func spawn(_ index: Int) {
        let parent = getpid()
        let channel: (parent: Int32, worker: Int32)
        do {
            channel = try ControlChannel.makePair()
        } catch {
            retryLater(index, after: "\(error)")
            return
        }
        let pid = fork()
        switch pid {
        case -1:
            close(channel.parent)
            close(channel.worker)
            retryLater(index, after: "\(SystemError("fork"))")
        case 0:
            close(channel.parent)
            for slot in slots { if let other = slot.channel { close(other) } }
            WorkerProcess.run(slot: index, runtime: runtime, shared: shared, parent: parent, channel: channel.worker)
        default:
            close(channel.worker)
            slots[index].pid = pid
            slots[index].channel = channel.parent
            slots[index].startedAt = MonotonicClock.now()
            slots[index].restartAt = nil
        }
    }

    private mutating func retryLater(_ index: Int, after failure: String) {
        Log.error("worker \(index): \(failure); retrying")
        slots[index].quickExits += 1
        slots[index].restartAt = MonotonicClock.now() + policy.delay(afterQuickExits: slots[index].quickExits)
    }

    /// Waits until every first worker reported `ready` on its channel. False when one exits first (it logged why)
    /// or they take longer than `startTimeout`.
    private func awaitFirstWorkers() -> Bool {
        var waiting = slots.indices.filter { slots[$0].channel != nil }
        guard waiting.count == slots.count else { return false }
        let deadline = MonotonicClock.now() + Supervisor.startTimeout
        while !waiting.isEmpty {
            let remaining = deadline - MonotonicClock.now()
            guard remaining > 0 else {
                Log.error("workers \(waiting) did not start within \(Supervisor.startTimeout) s")
                return false
            }
            var descriptors = waiting.map { pollfd(fd: slots[$0].channel!, events: Int16(POLLIN), revents: 0) }
            if poll(&descriptors, nfds_t(descriptors.count), Int32(remaining * 1000) + 1) < 0 && errno != EINTR {
                Log.error("\(SystemError("poll", "worker channels"))")
                return false
            }
            for (position, index) in zip(descriptors.indices, waiting).reversed()
            where descriptors[position].revents != 0 {
                switch ControlChannel.receive(on: slots[index].channel!) {
                case .message(.ready, _):
                    waiting.remove(at: position)
                case .closed:
                    Log.error("worker \(index) could not start; stopping")
                    return false
                case .message, .nothing:
                    break
                }
            }
        }
        return true
    }

    /// SIGUSR1: the parent reopens the log file and gives every worker the new descriptor.
    private func handOverReopenedLogFile() {
        guard let descriptor = Log.reopen() else { return }
        for slot in slots {
            if let channel = slot.channel { ControlChannel.send(.logFile, on: channel, descriptor: descriptor) }
        }
    }

    /// Collects every worker that ended and schedules its restart.
    private mutating func reapWorkers() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            guard let index = slots.firstIndex(where: { $0.pid == pid }) else { continue }
            let uptime = MonotonicClock.now() - slots[index].startedAt
            slots[index].pid = nil
            if let channel = slots[index].channel { close(channel) }
            slots[index].channel = nil
            slots[index].quickExits = policy.quickExits(after: slots[index].quickExits, uptime: uptime)
            let delay = policy.delay(afterQuickExits: slots[index].quickExits)
            slots[index].restartAt = MonotonicClock.now() + delay
            let when = delay == 0 ? "restarting it" : "restarting it in \(delay) s (it keeps exiting right after start)"
            Log.error("worker \(index) (pid \(pid)) \(Signals.describeExit(status)); \(when)")
        }
    }

    private func nextRestart() -> Double? {
        slots.compactMap(\.restartAt).min()
    }

    private mutating func restartDueWorkers() {
        let now = MonotonicClock.now()
        for index in slots.indices where slots[index].pid == nil {
            if let due = slots[index].restartAt, due <= now { spawn(index) }
        }
    }

    private func signalWorkers(_ signal: Int32) {
        for slot in slots { if let pid = slot.pid { kill(pid, signal) } }
    }

    /// SIGTERM to every worker, wait for them (killing stragglers after `stopTimeout`), close the listeners.
    private mutating func stop() {
        SystemdNotifier.notify(["STOPPING=1"])
        signalWorkers(SIGTERM)
        let deadline = MonotonicClock.now() + Supervisor.stopTimeout
        var childSignal = Signals.set(of: [SIGCHLD])
        while slots.contains(where: { $0.pid != nil }) {
            collectStoppedWorkers()
            guard slots.contains(where: { $0.pid != nil }) else { break }
            let remaining = deadline - MonotonicClock.now()
            if remaining <= 0 {
                Log.error("workers did not stop within \(Supervisor.stopTimeout) s: killing them")
                signalWorkers(SIGKILL)
                for index in slots.indices { if let pid = slots[index].pid { waitpid(pid, nil, 0) } }
                break
            }
            var wait = MonotonicClock.interval(remaining)
            var info = siginfo_t()
            _ = sigtimedwait(&childSignal, &info, &wait)
        }
        runtime.closeListeners()
    }

    private mutating func collectStoppedWorkers() {
        for index in slots.indices {
            guard let pid = slots[index].pid else { continue }
            if waitpid(pid, nil, WNOHANG) == pid { slots[index].pid = nil }
        }
    }
}
