import CUnwrapdShims
import Glibc

/// A daemon that detached itself (`--daemon`): started by a foreground command that returns at once, it lives on
/// in a session of its own and is not the kit's child, so it is adopted by the PID it reports.
///
/// `launch` runs the foreground command to completion with `NOTIFY_SOCKET` set, then waits for `READY=1` from the
/// detached process (it sends it once its pidfile is written and its workers run) and takes `MAINPID` from it.
/// The adopted process is watched through a pidfd (readable when it exits, child or not) and signalled by that
/// PID only; `kill()` (also on deinit) sends SIGKILL to it and to the workers it had, each by its PID.
final class DetachedDaemon {
    /// How the foreground command ended and what it printed.
    let launchOutput: ProcessOutput
    /// How long the foreground command took.
    let launchDuration: Duration
    /// The `READY=1` notification of the detached process.
    let ready: NotifyMessage
    /// The detached process (MAINPID of its readiness notification).
    let pid: pid_t
    private let exitDescriptor: Int32
    private let notifySocket: NotifySocket
    private var knownWorkers: Set<pid_t> = []
    /// The program name in /proc (to recognise its workers at cleanup).
    private let command: String?

    /// Runs `executable arguments` (which should ask it to detach) with `NOTIFY_SOCKET` pointing at a socket in
    /// `directory`, and waits until the detached process sent `READY=1` with its `MAINPID`. Throws with the
    /// foreground command's output when it fails, or when no readiness arrives within `timeout`.
    static func launch(
        _ arguments: [String],
        in directory: TestDirectory,
        executable: String = DaemonProcess.binaryPath,
        timeout: Duration = .seconds(10)
    ) throws -> DetachedDaemon {
        let notifySocket = try NotifySocket(path: directory.file("detached.notify"))
        let started = ContinuousClock.now
        let output = try DaemonProcess.run(
            arguments, executable: executable, environment: ["NOTIFY_SOCKET": notifySocket.path], timeout: timeout)
        let duration = ContinuousClock.now - started
        try output.requireSuccess()

        let deadline = Deadline.after(timeout)
        var received: [NotifyMessage] = []
        while !received.contains(where: { $0.isReady && $0["MAINPID"] != nil }) {
            guard !deadline.hasPassed else {
                throw TimeoutError(
                    waitingFor: "READY=1 with MAINPID from the detached daemon", timeout: timeout,
                    details: "notifications: \(received.map(\.description)); launch: \(output)")
            }
            // Nothing else to wait on: the detached process is not known yet. -1 is ignored by poll(2).
            received += notifySocket.waitForMessages(until: deadline, orUntilReadable: -1)
        }
        let ready = received.first { $0.isReady && $0["MAINPID"] != nil }!
        guard let pid = pid_t(ready["MAINPID"]!) else {
            throw SystemCallError("READY=1 with an invalid MAINPID: \(ready)", errno: EINVAL)
        }
        let exitDescriptor = unwrapd_pidfd_open(pid)
        guard exitDescriptor >= 0 else { throw SystemCallError("pidfd_open(\(pid)) of the detached daemon") }
        return DetachedDaemon(
            launchOutput: output, launchDuration: duration, ready: ready, pid: pid, exitDescriptor: exitDescriptor,
            notifySocket: notifySocket)
    }

    private init(
        launchOutput: ProcessOutput, launchDuration: Duration, ready: NotifyMessage, pid: pid_t,
        exitDescriptor: Int32, notifySocket: NotifySocket
    ) {
        self.launchOutput = launchOutput
        self.launchDuration = launchDuration
        self.ready = ready
        self.pid = pid
        self.exitDescriptor = exitDescriptor
        self.notifySocket = notifySocket
        command = ProcessTable.entry(pid)?.command
        knownWorkers = Set(ProcessTable.children(of: pid))
    }

    deinit {
        kill()
        close(exitDescriptor)
    }

    /// True once the process has exited.
    var hasExited: Bool {
        (try? Sockets.waitFor(exitDescriptor, events: Int16(POLLIN), deadline: .after(.zero))) ?? false
    }

    /// Its child processes (workers), sorted; remembered for `kill()`.
    func childPIDs() -> [pid_t] {
        let children = ProcessTable.children(of: pid)
        knownWorkers.formUnion(children)
        return children
    }

    /// Sends `signal` to the adopted PID (a no-op once it has exited).
    func sendSignal(_ signal: Int32) throws {
        guard !hasExited else { return }
        guard Glibc.kill(pid, signal) == 0 else { throw SystemCallError("kill(\(pid), \(signalName(signal)))") }
    }

    /// Waits until the process has exited; false at the timeout.
    func waitForExit(timeout: Duration) -> Bool {
        (try? Sockets.waitFor(exitDescriptor, events: Int16(POLLIN), deadline: .after(timeout))) ?? false
    }

    /// SIGKILL to the process and then to the workers it had (each by PID, and only while it still runs the
    /// same program), then waits (bounded) for its exit. Idempotent.
    func kill() {
        _ = childPIDs()
        if !hasExited {
            Glibc.kill(pid, SIGKILL)
            _ = waitForExit(timeout: .seconds(5))
        }
        for worker in knownWorkers where ProcessTable.entry(worker)?.command == command {
            Glibc.kill(worker, SIGKILL)
        }
    }
}
