import CUnwrapdShims
import Foundation
import Glibc
import Synchronization

/// Where a child's standard input, output or error goes.
enum ChildStream: Sendable {
    /// /dev/null.
    case null
    /// A file: read for stdin; created (or appended to) for stdout/stderr.
    case file(String)
    /// A descriptor of this process, duplicated into place (the kit's pipes).
    case descriptor(Int32)
}

/// A process the kit spawned with `posix_spawn`, in its own process group (so it and everything it forks can be
/// signalled together), with every signal at its default disposition and an empty signal mask, and without any
/// descriptor of the test process except the ones asked for.
///
/// Exit is observed through a pidfd (readable when the process exits), so waits are `poll(2)`s with a deadline.
/// The process is not reaped until `reap()`: while it is an unreaped zombie its PID, and so its process group ID,
/// cannot be reused, which makes signalling the group safe. Deinit kills the group and reaps.
final class ChildProcess: @unchecked Sendable {
    /// Exit status and the process-group members still alive when the process exited.
    struct Termination: Sendable {
        let status: ExitStatus
        /// Processes of its group alive when it had exited (its workers, if it did not wait for them); the kit
        /// killed them with SIGKILL after recording them.
        let survivors: [pid_t]
    }

    let pid: pid_t
    /// The program and arguments, for messages.
    let commandLine: [String]
    /// The pidfd: readable once the process has exited (for callers that poll it with other descriptors).
    let exitDescriptor: Int32
    private let termination = Mutex<Termination?>(nil)

    /// Spawns `executable` (an absolute path) with `arguments` and exactly `environment`.
    /// `passing` descriptors become the child's descriptors 3, 4, ... (socket activation).
    init(
        executable: String,
        arguments: [String],
        environment: [String: String],
        stdin: ChildStream = .null,
        stdout: ChildStream = .null,
        stderr: ChildStream = .null,
        passing descriptors: [Int32] = [],
        displayName: [String]? = nil
    ) throws(SystemCallError) {
        KitProcessSetup.prepare()
        commandLine = displayName ?? [executable] + arguments

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        try ChildProcess.addStream(stdin, as: 0, to: &actions)
        try ChildProcess.addStream(stdout, as: 1, to: &actions)
        try ChildProcess.addStream(stderr, as: 2, to: &actions)
        for fd in ChildProcess.inheritableDescriptors() where !descriptors.contains(fd) {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
        try ChildProcess.addPassedDescriptors(descriptors, to: &actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw SystemCallError("posix_spawn(\(executable))", errno: result)
        }
        let exitDescriptor = unwrapd_pidfd_open(pid)
        guard exitDescriptor >= 0 else {
            let error = SystemCallError("pidfd_open(\(pid))")
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            throw error
        }
        self.pid = pid
        self.exitDescriptor = exitDescriptor
    }

    deinit {
        terminate()
        close(exitDescriptor)
    }

    /// The environment of the test process without the variables through which a service manager talks to
    /// its service (the kit sets those itself when a test wants them).
    static func inheritedEnvironment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for name in ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            environment[name] = nil
        }
        return environment
    }

    // MARK: - Signals and exit

    /// The termination, once `reap()` has collected it.
    var reaped: Termination? { termination.withLock { $0 } }

    /// Whether the process has exited (reaped or not).
    var hasExited: Bool {
        if reaped != nil { return true }
        return (try? Sockets.waitFor(exitDescriptor, events: Int16(POLLIN), deadline: .after(.zero))) ?? false
    }

    /// Sends `signal` to the process (not its group). A no-op once reaped.
    func signal(_ signal: Int32) throws(SystemCallError) {
        guard reaped == nil else { return }
        guard kill(pid, signal) == 0 else { throw SystemCallError("kill(\(pid), \(signalName(signal)))") }
    }

    /// Sends `signal` to every process of its group. A no-op once reaped.
    func signalGroup(_ signal: Int32) {
        guard reaped == nil else { return }
        kill(-pid, signal)
    }

    /// Waits until the process has exited or the deadline passed; true when it has exited. Does not reap.
    func waitForExit(until deadline: Deadline) -> Bool {
        if reaped != nil { return true }
        return (try? Sockets.waitFor(exitDescriptor, events: Int16(POLLIN), deadline: deadline)) ?? false
    }

    /// Collects the exit status of an exited process (nil while it runs). Before reaping, records the members of
    /// its process group still alive and kills them, so nothing a test started outlives it.
    @discardableResult
    func reap() -> Termination? {
        if let done = reaped { return done }
        guard hasExited else { return nil }
        let survivors = ProcessTable.members(ofProcessGroup: pid).filter { $0 != pid }
        if !survivors.isEmpty { kill(-pid, SIGKILL) }
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &status, 0) } while result < 0 && errno == EINTR
        // ECHILD would mean someone else reaped it (SIGCHLD ignored): report it as killed, the least wrong value.
        let exitStatus = result == pid ? ExitStatus(waitStatus: status) : .signaled(SIGKILL)
        let done = Termination(status: exitStatus, survivors: survivors)
        termination.withLock { $0 = done }
        return done
    }

    /// Kills the whole process group with SIGKILL (if still running) and reaps. Idempotent.
    func terminate() {
        guard reaped == nil else { return }
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        _ = waitForExit(until: .after(.seconds(10)))
        reap()
    }

    // MARK: - Spawn helpers

    private static func addStream(
        _ stream: ChildStream, as target: Int32, to actions: inout posix_spawn_file_actions_t
    ) throws(SystemCallError) {
        let result: Int32
        switch stream {
        case .null:
            result = posix_spawn_file_actions_addopen(
                &actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
        case .file(let path) where target == 0:
            result = posix_spawn_file_actions_addopen(&actions, target, path, O_RDONLY, 0)
        case .file(let path):
            result = posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        case .descriptor(let fd):
            result = posix_spawn_file_actions_adddup2(&actions, fd, target)
        }
        guard result == 0 else { throw SystemCallError("posix_spawn_file_actions (fd \(target))", errno: result) }
    }

    /// Moves `descriptors` to 3, 4, ... in the child. They first go to high numbers, so that a descriptor that
    /// already sits in 3..<3+n is not overwritten before it is moved.
    private static func addPassedDescriptors(
        _ descriptors: [Int32], to actions: inout posix_spawn_file_actions_t
    ) throws(SystemCallError) {
        guard !descriptors.isEmpty else { return }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let top = Int32(clamping: min(limit.rlim_cur, 4096)) - 1
        let parked = descriptors.indices.map { top - Int32($0) }
        for (fd, park) in zip(descriptors, parked) {
            guard posix_spawn_file_actions_adddup2(&actions, fd, park) == 0 else {
                throw SystemCallError("posix_spawn_file_actions_adddup2(\(fd))")
            }
        }
        for (index, park) in parked.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, park, 3 + Int32(index))
            posix_spawn_file_actions_addclose(&actions, park)
        }
    }

    /// Descriptors >= 3 of this process without close-on-exec: other code in the test process (not the kit,
    /// whose descriptors are all close-on-exec) may have opened some. The child closes them.
    private static func inheritableDescriptors() -> [Int32] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return [] }
        return names.compactMap { Int32($0) }.filter { fd in
            guard fd > 2, let info = try? String(contentsOfFile: "/proc/self/fdinfo/\(fd)", encoding: .utf8),
                let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags:") }),
                let flags = Int(line.dropFirst("flags:".count).trimmingCharacters(in: .whitespaces), radix: 8)
            else { return false }
            return flags & Int(O_CLOEXEC) == 0
        }
    }
}
