import Glibc

/// One connection a `TestBackend` accepted: what it received (count, SHA-256, the first bytes), what it sent,
/// and how it ended. Test threads wait on it with deadlines; the backend's threads update it.
final class BackendConnection: Sendable {
    /// What is known about the connection at one moment.
    struct Snapshot: Sendable {
        /// The first bytes received, up to the backend's keep limit.
        var received: [UInt8] = []
        var receivedCount = 0
        /// The peer half-closed or closed (read returned 0).
        var sawEOF = false
        /// The read side ended with an error (ECONNRESET, or the backend stopping).
        var readError: String?
        /// SHA-256 of everything received; set when the read side ended.
        var receivedSHA256: String?
        var sentCount = 0
        /// SHA-256 of everything sent; set when sending finished.
        var sentSHA256: String?
        /// Sending failed (the peer went away).
        var sendError: String?
        /// The backend closed its descriptor.
        var isClosed = false
    }

    /// 0 for the first connection the backend accepted, 1 for the next, ...
    let index: Int
    /// The peer's address ("127.0.0.1:40000", "[::1]:40000", "unix").
    let peer: String
    let fd: Int32
    private let state = Monitor(Snapshot())

    init(index: Int, fd: Int32, peer: String) {
        self.index = index
        self.fd = fd
        self.peer = peer
    }

    var snapshot: Snapshot { state.withLock { $0 } }
    var received: [UInt8] { snapshot.received }
    var receivedText: String { String(decoding: snapshot.received, as: UTF8.self) }
    var receivedCount: Int { snapshot.receivedCount }
    var sawEOF: Bool { snapshot.sawEOF }

    /// Waits until at least `count` bytes were received; returns the kept bytes (all of them when `count` is
    /// within the keep limit). Throws at the timeout or if the connection ended before.
    @discardableResult
    func waitForBytes(_ count: Int, timeout: Duration = .seconds(5)) throws -> [UInt8] {
        try wait("\(count) bytes on backend connection \(index)", timeout: timeout) { snapshot in
            if snapshot.receivedCount >= count { return snapshot.received }
            if snapshot.sawEOF || snapshot.readError != nil {
                throw BackendError.endedEarly(
                    connection: index, wanted: "\(count) bytes", snapshot: snapshot)
            }
            return nil
        }
    }

    /// Waits until the received bytes contain `text`; returns all kept bytes as text.
    @discardableResult
    func waitForText(_ text: String, timeout: Duration = .seconds(5)) throws -> String {
        try wait("\"\(text)\" on backend connection \(index)", timeout: timeout) { snapshot in
            let kept = String(decoding: snapshot.received, as: UTF8.self)
            if kept.contains(text) { return kept }
            if snapshot.sawEOF || snapshot.readError != nil {
                throw BackendError.endedEarly(connection: index, wanted: "\"\(text)\"", snapshot: snapshot)
            }
            return nil
        }
    }

    /// Waits until the peer half-closed or closed (EOF); returns the final snapshot of the read side
    /// (count and SHA-256 of everything received).
    @discardableResult
    func waitForEOF(timeout: Duration = .seconds(5)) throws -> Snapshot {
        try wait("EOF on backend connection \(index)", timeout: timeout) { snapshot in
            if snapshot.sawEOF && snapshot.receivedSHA256 != nil { return snapshot }
            if let error = snapshot.readError {
                throw BackendError.endedEarly(connection: index, wanted: "EOF (got \(error))", snapshot: snapshot)
            }
            return nil
        }
    }

    /// Waits until the backend closed the connection (both directions done); returns the final snapshot.
    @discardableResult
    func waitUntilClosed(timeout: Duration = .seconds(5)) throws -> Snapshot {
        try wait("backend connection \(index) to close", timeout: timeout) { $0.isClosed ? $0 : nil }
    }

    private func wait<Result>(
        _ what: String, timeout: Duration, _ ready: (Snapshot) throws -> Result?
    ) throws -> Result {
        var failure: Error?
        let result = state.wait(until: .after(timeout)) { snapshot -> Result? in
            do {
                return try ready(snapshot)
            } catch {
                failure = error
                return nil as Result?
            }
        }
        if let failure { throw failure }
        guard let result else {
            let now = snapshot
            throw TimeoutError(
                waitingFor: what, timeout: timeout,
                details: "received \(now.receivedCount) bytes, EOF: \(now.sawEOF), closed: \(now.isClosed)")
        }
        return result
    }

    // MARK: - Updates from the backend's threads

    func recordReceived(_ bytes: UnsafeRawBufferPointer, keepLimit: Int) {
        state.update { snapshot in
            let room = max(0, keepLimit - snapshot.received.count)
            if room > 0 { snapshot.received += bytes.prefix(room) }
            snapshot.receivedCount += bytes.count
        }
    }

    func recordReadEnd(eof: Bool, error: String?, sha256: String) {
        state.update { snapshot in
            snapshot.sawEOF = eof
            snapshot.readError = error
            snapshot.receivedSHA256 = sha256
        }
    }

    func recordSent(_ count: Int) {
        state.update { $0.sentCount += count }
    }

    func recordSendFinished(sha256: String) {
        state.update { $0.sentSHA256 = sha256 }
    }

    func recordSendError(_ error: String) {
        state.update { $0.sendError = error }
    }

    /// Shuts down both directions (to stop the connection's threads) unless already closed.
    func shutDownForStop() {
        state.withLock { snapshot in
            if !snapshot.isClosed { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Closes the descriptor (once), under the lock, so `shutDownForStop` never touches a reused descriptor.
    func closeDescriptor() {
        state.update { snapshot in
            if !snapshot.isClosed { close(fd) }
            snapshot.isClosed = true
        }
    }
}

/// A backend wait failed because the connection ended first, or the backend could not start.
enum BackendError: Error, CustomStringConvertible {
    case endedEarly(connection: Int, wanted: String, snapshot: BackendConnection.Snapshot)
    case noConnection(index: Int, timeout: Duration, accepted: Int)

    var description: String {
        switch self {
        case .endedEarly(let connection, let wanted, let snapshot):
            let reason = snapshot.readError ?? "EOF"
            let head = String(decoding: snapshot.received.prefix(200), as: UTF8.self)
            return "backend connection \(connection) ended (\(reason)) after \(snapshot.receivedCount) bytes"
                + " while waiting for \(wanted); received: \(head.debugDescription)"
        case .noConnection(let index, let timeout, let accepted):
            return "backend accepted \(accepted) connections, none with index \(index),"
                + " within \(timeout.shortDescription)"
        }
    }
}
