import CUnwrapdShims
import Glibc

/// Runs a program to completion: feeds it stdin bytes, captures stdout and stderr through pipes, and kills it
/// (with its process group) at the timeout. One `poll(2)` loop serves the pipes and the exit, so nothing can
/// deadlock on a full pipe and no extra thread is needed.
enum ProcessRunner {
    /// Output beyond this many bytes per stream is read and dropped.
    static let captureLimit = 256 << 20

    /// Runs `executable` (absolute path) with `arguments`. `environment` nil: the test process's environment
    /// (without service-manager variables). stdin gets `stdin` and then EOF.
    static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        stdin: [UInt8] = [],
        timeout: Duration = .seconds(10)
    ) throws(SystemCallError) -> ProcessOutput {
        let input = try ChildPipe()
        let output = try ChildPipe()
        let errors = try ChildPipe()
        let child: ChildProcess
        do {
            child = try ChildProcess(
                executable: executable, arguments: arguments,
                environment: environment ?? ChildProcess.inheritedEnvironment(),
                stdin: .descriptor(input.readEnd), stdout: .descriptor(output.writeEnd),
                stderr: .descriptor(errors.writeEnd))
        } catch {
            for pipe in [input, output, errors] { pipe.closeBoth() }
            throw error
        }
        input.closeReadEnd()
        output.closeWriteEnd()
        errors.closeWriteEnd()
        defer {
            for pipe in [input, output, errors] { pipe.closeBoth() }
        }

        var session = Session(input: input, stdin: stdin, output: output, errors: errors, child: child)
        let timedOut = session.run(until: .after(timeout))
        if timedOut { child.terminate() }
        let status = child.reap()?.status ?? .signaled(SIGKILL)
        return ProcessOutput(
            commandLine: child.commandLine, status: status, timedOut: timedOut,
            stdout: session.stdout, stderr: session.stderr)
    }

    /// The state of one run's poll loop.
    private struct Session {
        let input: ChildPipe
        let stdin: [UInt8]
        var written = 0
        let output: ChildPipe
        let errors: ChildPipe
        let child: ChildProcess
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var exited = false

        init(input: ChildPipe, stdin: [UInt8], output: ChildPipe, errors: ChildPipe, child: ChildProcess) {
            self.input = input
            self.stdin = stdin
            self.output = output
            self.errors = errors
            self.child = child
            _ = unwrapd_fcntl_set_flags(input.writeEnd, unwrapd_fcntl_get_flags(input.writeEnd) | O_NONBLOCK)
            if stdin.isEmpty { input.closeWriteEnd() }
        }

        /// Serves the pipes until the child exited and closed its output; true when the deadline came first.
        /// Output still open one second after the exit belongs to a leftover grandchild: it is not awaited.
        mutating func run(until deadline: Deadline) -> Bool {
            var exitedAt: Deadline?
            while true {
                let outputOpen = output.readEnd >= 0 || errors.readEnd >= 0
                if exited && (!outputOpen || exitedAt!.hasPassed) { return false }
                if deadline.hasPassed { return true }
                var descriptors = [
                    pollfd(fd: input.writeEnd, events: Int16(POLLOUT), revents: 0),
                    pollfd(fd: output.readEnd, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: errors.readEnd, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: exited ? -1 : child.exitDescriptor, events: Int16(POLLIN), revents: 0),
                ]
                let wait = min(deadline, exitedAt ?? deadline)
                let ready = poll(&descriptors, nfds_t(descriptors.count), wait.pollMilliseconds)
                if ready < 0 && errno != EINTR { return true }
                if descriptors[0].revents != 0 { writeInput() }
                if descriptors[1].revents != 0 { drain(output, into: &stdout) }
                if descriptors[2].revents != 0 { drain(errors, into: &stderr) }
                if descriptors[3].revents != 0 {
                    exited = true
                    exitedAt = .after(.seconds(1))
                }
            }
        }

        private mutating func writeInput() {
            let count = stdin[written...].withUnsafeBytes { write(input.writeEnd, $0.baseAddress, $0.count) }
            if count > 0 { written += count }
            if (count < 0 && errno != EAGAIN && errno != EINTR) || written == stdin.count { input.closeWriteEnd() }
        }

        private func drain(_ pipe: ChildPipe, into captured: inout [UInt8]) {
            var buffer = [UInt8](repeating: 0, count: 65536)
            let count = buffer.withUnsafeMutableBytes { read(pipe.readEnd, $0.baseAddress, $0.count) }
            if count > 0 {
                if captured.count < ProcessRunner.captureLimit { captured += buffer[0..<count] }
            } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                pipe.closeReadEnd()
            }
        }
    }
}

/// A close-on-exec pipe to a child whose ends close once (a class: the run loop and the cleanup share it).
final class ChildPipe {
    private(set) var readEnd: Int32
    private(set) var writeEnd: Int32

    init() throws(SystemCallError) {
        var ends: [Int32] = [-1, -1]
        guard unwrapd_pipe2(&ends, O_CLOEXEC) == 0 else { throw SystemCallError("pipe2") }
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    func closeReadEnd() {
        if readEnd >= 0 { close(readEnd) }
        readEnd = -1
    }

    func closeWriteEnd() {
        if writeEnd >= 0 { close(writeEnd) }
        writeEnd = -1
    }

    func closeBoth() {
        closeReadEnd()
        closeWriteEnd()
    }

    /// A bare close-on-exec pipe whose owner closes the ends itself (a wake-up pipe).
    struct Ends: Sendable {
        let read: Int32
        let write: Int32

        static func make() throws(SystemCallError) -> Ends {
            var ends: [Int32] = [-1, -1]
            guard unwrapd_pipe2(&ends, O_CLOEXEC) == 0 else { throw SystemCallError("pipe2") }
            return Ends(read: ends[0], write: ends[1])
        }
    }
}
