/// What the daemon logged about one client connection. unwrapd names a client by its address and port,
/// `[127.0.0.1]:PORT on <frontend>: ...`, so a test finds the lines about its own connection by the client's local
/// port (`TLSTestClient.localPort`, `PlainClient.localPort`) even when other connections are logged meanwhile.
extension DaemonProcess {
    /// Log lines (stderr, then stdout) naming the client whose local port is `port`.
    func logLines(forClientPort port: UInt16) -> [String] {
        logLines(containing: "]:\(port) on ")
    }

    /// Waits (polling the log, which has no signal) until a line names the client from `port` and contains
    /// `text` (any line about it when `text` is empty); returns every line about that client so far.
    @discardableResult
    func waitForLog(
        forClientPort port: UInt16, containing text: String = "", timeout: Duration = .seconds(5)
    ) throws -> [String] {
        var lines: [String] = []
        try waitUntil(
            "a log line about client port \(port)" + (text.isEmpty ? "" : " containing \"\(text)\""),
            timeout: timeout, interval: .milliseconds(20), details: self.outputExcerpt
        ) {
            lines = logLines(forClientPort: port)
            return lines.contains { text.isEmpty || $0.contains(text) }
        }
        return lines
    }
}
