import CUnwrapdShims
import Glibc

/// The parent process once everything is prepared: forks the workers, restarts a dead one (backing off when it
/// keeps dying), and handles signals — TERM/INT stop everything, USR1 reopens logs, HUP is acknowledged (reload
/// comes later). Signals are taken synchronously with `sigtimedwait`, so no handler runs at an arbitrary point.
struct Supervisor {
    /// How long workers get to exit after SIGTERM before they are killed.
    static let stopTimeout = 10.0

    /// One worker position: the running process, or when to start one.
    private struct Slot {
        var pid: pid_t? = nil
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

    /// Runs until SIGTERM/SIGINT; returns the exit status (0 after a clean stop).
    mutating func run() -> Int32 {
        for index in slots.indices { spawn(index) }
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
            case SIGTERM, SIGINT: return stop(signal)
            case SIGHUP:
                Log.error("SIGHUP: reloading the configuration is not supported yet; keeping the running one")
            case SIGUSR1:
                Log.reopen()
                signalWorkers(SIGUSR1)
            default: break
            }
            restartDueWorkers()
        }
    }

    private mutating func spawn(_ index: Int) {
        let parent = getpid()
        let pid = fork()
        switch pid {
        case -1:
            Log.error("worker \(index): \(SystemError("fork")); retrying")
            slots[index].quickExits += 1
            slots[index].restartAt = MonotonicClock.now() + policy.delay(afterQuickExits: slots[index].quickExits)
        case 0:
            WorkerProcess.run(slot: index, runtime: runtime, shared: shared, parent: parent)
        default:
            slots[index].pid = pid
            slots[index].startedAt = MonotonicClock.now()
            slots[index].restartAt = nil
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
    private mutating func stop(_ signal: Int32) -> Int32 {
        Log.info("\(Signals.name(signal)) received: stopping")
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
        return 0
    }

    private mutating func collectStoppedWorkers() {
        for index in slots.indices {
            guard let pid = slots[index].pid else { continue }
            if waitpid(pid, nil, WNOHANG) == pid { slots[index].pid = nil }
        }
    }
}
