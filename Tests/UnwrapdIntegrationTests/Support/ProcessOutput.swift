/// What a program run to completion did: how it ended and everything it wrote.
struct ProcessOutput: Sendable, CustomStringConvertible {
    let commandLine: [String]
    let status: ExitStatus
    /// The program was still running at the timeout and was killed (with its process group).
    let timedOut: Bool
    let stdout: [UInt8]
    let stderr: [UInt8]

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    /// Exited with status 0 before the timeout.
    var succeeded: Bool { !timedOut && status == .exited(0) }

    /// Returns self when the program succeeded, else throws an error carrying the status and the output.
    @discardableResult
    func requireSuccess() throws(ProcessFailure) -> ProcessOutput {
        guard succeeded else { throw ProcessFailure(output: self) }
        return self
    }

    var description: String {
        let ending = timedOut ? "timed out and was killed" : status.description
        return "`\(commandLine.joined(separator: " "))` \(ending)"
            + ProcessOutput.excerpt("stdout", stdout) + ProcessOutput.excerpt("stderr", stderr)
    }

    /// The last 4 KiB of a stream for a message, or "" when empty.
    static func excerpt(_ name: String, _ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "" }
        let tail = bytes.suffix(4096)
        let cut = tail.count < bytes.count ? "[... \(bytes.count - tail.count) bytes before]" : ""
        return "\n--- \(name) \(cut)---\n" + String(decoding: tail, as: UTF8.self)
    }
}

/// A program the kit ran did not succeed; the message holds its command line, status, stdout and stderr.
struct ProcessFailure: Error, CustomStringConvertible {
    let output: ProcessOutput
    var description: String { "command failed: \(output)" }
}
