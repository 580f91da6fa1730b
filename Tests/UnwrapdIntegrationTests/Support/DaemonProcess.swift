import Foundation
import Glibc
import Synchronization

/// A daemon under test, normally the real `unwrapd` binary built next to the test runner.
///
/// It runs in its own process group with stdout and stderr captured to files in the test's directory, and
/// reports readiness over systemd's notify protocol: the kit binds a datagram socket, passes its path in
/// `NOTIFY_SOCKET`, and `start` returns once a datagram with `READY=1` arrived (or throws when the process exits
/// first, with its exit status and stderr). Later notifications (`RELOADING=1`, a new `READY=1` after SIGHUP,
/// `STOPPING=1`) can be awaited with `waitForNotification`. Deinit kills the process group if still running;
/// prefer `defer { daemon.kill() }` or an explicit `stop()` so the daemon's lifetime is visible in the test.
final class DaemonProcess: @unchecked Sendable {
    /// `dirname(/proc/self/exe)/unwrapd`: SwiftPM builds the binary next to the test runner.
    static let binaryPath: String = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let runner = count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        return (runner as NSString).deletingLastPathComponent + "/unwrapd"
    }()

    private static let launchCounter = Mutex(0)

    let pid: pid_t
    /// The command line as started (without the socket-activation wrapper).
    let commandLine: [String]
    let stdoutPath: String
    let stderrPath: String
    private let child: ChildProcess
    private let notifySocket: NotifySocket
    private let received = Mutex<(messages: [NotifyMessage], consumed: Int)>(([], 0))

    /// Starts the daemon and waits until it sent `READY=1` (see `waitUntilReady`).
    static func start(
        _ arguments: [String],
        in directory: TestDirectory,
        executable: String = DaemonProcess.binaryPath,
        environment: [String: String] = [:],
        passing listeningSockets: [Int32] = [],
        readyWithin timeout: Duration = .seconds(10)
    ) throws -> DaemonProcess {
        let daemon = try DaemonProcess(
            arguments, in: directory, executable: executable, environment: environment,
            passing: listeningSockets)
        do {
            try daemon.waitUntilReady(timeout: timeout)
        } catch {
            daemon.kill()
            throw error
        }
        return daemon
    }

    /// Starts the daemon without waiting for readiness.
    ///
    /// `environment` is added to the test process's environment (service-manager variables removed);
    /// `NOTIFY_SOCKET` is set to the kit's socket. `passing` sockets become descriptors 3, 4, ... with
    /// `LISTEN_FDS` and `LISTEN_PID` set as systemd's socket activation does (through `sh -c 'exec ...'`, which
    /// keeps the PID, so LISTEN_PID can name it).
    init(
        _ arguments: [String],
        in directory: TestDirectory,
        executable: String = DaemonProcess.binaryPath,
        environment: [String: String] = [:],
        passing listeningSockets: [Int32] = []
    ) throws {
        guard access(executable, X_OK) == 0 else { throw DaemonError.binaryMissing(path: executable) }
        let number = DaemonProcess.launchCounter.withLock { counter in
            counter += 1
            return counter
        }
        let name = "\((executable as NSString).lastPathComponent)-\(number)"
        stdoutPath = directory.file("\(name).stdout")
        stderrPath = directory.file("\(name).stderr")
        notifySocket = try NotifySocket(path: directory.file("\(name).notify"))

        var fullEnvironment = ChildProcess.inheritedEnvironment().merging(environment) { $1 }
        fullEnvironment["NOTIFY_SOCKET"] = notifySocket.path
        var spawnExecutable = executable
        var spawnArguments = arguments
        if !listeningSockets.isEmpty {
            fullEnvironment["LISTEN_FDS"] = String(listeningSockets.count)
            spawnExecutable = "/bin/sh"
            spawnArguments = ["-c", "LISTEN_PID=$$; export LISTEN_PID; exec \"$0\" \"$@\"", executable] + arguments
        }
        commandLine = [executable] + arguments
        child = try ChildProcess(
            executable: spawnExecutable, arguments: spawnArguments, environment: fullEnvironment,
            stdin: .null, stdout: .file(stdoutPath), stderr: .file(stderrPath), passing: listeningSockets,
            displayName: commandLine)
        pid = child.pid
    }

    deinit { child.terminate() }

    // MARK: - Readiness and notifications

    /// Waits for a datagram containing `READY=1`; returns it (with `MAINPID=`, `STATUS=`, ... if it sent them).
    /// Throws when the process exits first (with its status and stderr) or at the timeout.
    @discardableResult
    func waitUntilReady(timeout: Duration = .seconds(10)) throws -> NotifyMessage {
        do {
            return try waitForNotification("READY=1", timeout: timeout) { $0.isReady }
        } catch DaemonError.notificationMissing(_, let timeout, let notifications, let output) {
            throw DaemonError.notReady(
                command: commandLine, timeout: timeout, notifications: notifications, output: output)
        }
    }

    /// Waits for the next notification (after those returned by earlier waits) that satisfies `matches`.
    /// Throws if the process exits first or at the timeout.
    @discardableResult
    func waitForNotification(
        _ what: String, timeout: Duration = .seconds(10), where matches: (NotifyMessage) -> Bool
    ) throws -> NotifyMessage {
        let deadline = Deadline.after(timeout)
        while true {
            collect(notifySocket.receiveAvailable())
            let found = received.withLock { state -> NotifyMessage? in
                guard let index = state.messages[state.consumed...].firstIndex(where: matches) else { return nil }
                state.consumed = index + 1
                return state.messages[index]
            }
            if let found { return found }
            if child.hasExited {
                collect(notifySocket.receiveAvailable())
                let status = child.reap()!.status
                throw DaemonError.exitedWhileWaiting(
                    command: commandLine, waitingFor: what, status: status, output: outputExcerpt)
            }
            if deadline.hasPassed {
                throw DaemonError.notificationMissing(
                    what: what, timeout: timeout, notifications: notifications, output: outputExcerpt)
            }
            collect(notifySocket.waitForMessages(until: deadline, orUntilReadable: child.exitDescriptor))
        }
    }

    /// Every notification received so far, oldest first.
    var notifications: [NotifyMessage] {
        collect(notifySocket.receiveAvailable())
        return received.withLock { $0.messages }
    }

    private func collect(_ messages: [NotifyMessage]) {
        guard !messages.isEmpty else { return }
        received.withLock { $0.messages += messages }
    }

    // MARK: - Output

    /// Everything the daemon wrote to stdout so far.
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    /// Everything the daemon wrote to stderr so far.
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Lines of stderr and stdout (in that order) containing `text`.
    func logLines(containing text: String) -> [String] {
        (stderr + "\n" + stdout).split(separator: "\n").filter { $0.contains(text) }.map(String.init)
    }

    func logContains(_ text: String) -> Bool { !logLines(containing: text).isEmpty }

    /// Waits (polling the log files: a log line has no signal) until stderr or stdout has a line with `text`.
    @discardableResult
    func waitForLog(containing text: String, timeout: Duration = .seconds(5)) throws -> [String] {
        var lines: [String] = []
        try waitUntil(
            "a log line containing \"\(text)\"", timeout: timeout, interval: .milliseconds(20),
            details: self.outputExcerpt
        ) {
            lines = logLines(containing: text)
            return !lines.isEmpty
        }
        return lines
    }

    /// The tail of stderr and stdout for error messages.
    var outputExcerpt: String {
        ProcessOutput.excerpt("stderr", Array(stderr.utf8)) + ProcessOutput.excerpt("stdout", Array(stdout.utf8))
    }

    // MARK: - Signals, exit, workers

    var isRunning: Bool { !child.hasExited }

    /// Sends `signal` to the daemon's main process.
    func sendSignal(_ signal: Int32) throws {
        try child.signal(signal)
    }

    /// Sends `signal` (default SIGTERM) and waits for the exit; returns the exit status. If the daemon has not
    /// exited by the timeout, kills its process group and throws `DaemonError.didNotExit`.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(10)) throws -> ExitStatus {
        if let done = child.reaped { return done.status }
        if !child.hasExited { try? child.signal(signal) }
        return try waitForExit(timeout: timeout, signalSent: signal)
    }

    /// Waits for the daemon to exit by itself; returns the exit status. At the timeout kills its process group
    /// and throws `DaemonError.didNotExit`.
    @discardableResult
    func waitForExit(timeout: Duration = .seconds(10)) throws -> ExitStatus {
        try waitForExit(timeout: timeout, signalSent: nil)
    }

    private func waitForExit(timeout: Duration, signalSent: Int32?) throws -> ExitStatus {
        guard child.waitForExit(until: .after(timeout)) else {
            child.terminate()
            throw DaemonError.didNotExit(signal: signalSent, timeout: timeout, output: outputExcerpt)
        }
        return child.reap()!.status
    }

    /// Processes of the daemon's group (its workers) that were still alive when the main process exited; the kit
    /// killed them. Empty until the daemon exited and was reaped by `stop`/`waitForExit`.
    var survivorsAtExit: [pid_t] { child.reaped?.survivors ?? [] }

    /// Kills the daemon's whole process group with SIGKILL and reaps it (idempotent).
    func kill() { child.terminate() }

    /// The daemon's child processes (its workers), sorted.
    func childPIDs() -> [pid_t] { ProcessTable.children(of: pid) }

    /// True when `pid` exists and is not a zombie.
    static func isAlive(_ pid: pid_t) -> Bool { ProcessTable.isAlive(pid) }

    /// Waits until the daemon has exactly `count` children, none of them in `excluding` (e.g. the workers before
    /// one was killed: waits for the respawned one). Returns them.
    @discardableResult
    func waitForChildren(count: Int, excluding: Set<pid_t> = [], timeout: Duration = .seconds(10)) throws -> [pid_t] {
        var children: [pid_t] = []
        try waitUntil(
            "\(count) worker processes" + (excluding.isEmpty ? "" : " other than \(excluding.sorted())"),
            timeout: timeout, details: "children: \(children)" + self.outputExcerpt
        ) {
            children = childPIDs()
            return children.count == count && excluding.isDisjoint(with: children)
        }
        return children
    }

    // MARK: - Running to completion

    /// Runs the binary to completion (for `-t`, `-V`, `--help`, bad flags): status, stdout, stderr.
    static func run(
        _ arguments: [String],
        executable: String = DaemonProcess.binaryPath,
        environment: [String: String] = [:],
        stdin: [UInt8] = [],
        timeout: Duration = .seconds(10)
    ) throws -> ProcessOutput {
        guard access(executable, X_OK) == 0 else { throw DaemonError.binaryMissing(path: executable) }
        return try ProcessRunner.run(
            executable, arguments, environment: ChildProcess.inheritedEnvironment().merging(environment) { $1 },
            stdin: stdin, timeout: timeout)
    }
}
