/// Starting, stopping or waiting for a daemon under test failed. Messages carry the command line and the tail of
/// the daemon's stderr and stdout, so a failed test shows why.
enum DaemonError: Error, CustomStringConvertible {
    case exitedWhileWaiting(command: [String], waitingFor: String, status: ExitStatus, output: String)
    case notReady(command: [String], timeout: Duration, notifications: [NotifyMessage], output: String)
    case notificationMissing(what: String, timeout: Duration, notifications: [NotifyMessage], output: String)
    case didNotExit(signal: Int32?, timeout: Duration, output: String)
    case binaryMissing(path: String)

    var description: String {
        switch self {
        case .exitedWhileWaiting(let command, let waitingFor, let status, let output):
            return "`\(command.joined(separator: " "))` exited (\(status)) before sending \(waitingFor)\(output)"
        case .notReady(let command, let timeout, let notifications, let output):
            return "`\(command.joined(separator: " "))` did not send READY=1 within \(timeout.shortDescription)"
                + " (notifications so far: \(notifications.isEmpty ? "none" : notifications.map(\.description).joined(separator: " | ")))"
                + output
        case .notificationMissing(let what, let timeout, let notifications, let output):
            return "no notification \(what) within \(timeout.shortDescription)"
                + " (received: \(notifications.isEmpty ? "none" : notifications.map(\.description).joined(separator: " | ")))"
                + output
        case .didNotExit(let signal, let timeout, let output):
            let cause = signal.map { "after \(signalName($0))" } ?? "by itself"
            return
                "the daemon did not exit \(cause) within \(timeout.shortDescription); killed it with SIGKILL\(output)"
        case .binaryMissing(let path):
            return "no executable at \(path): build it first (`swift build --build-tests`)"
        }
    }
}
