import Glibc

/// A raw TCP (or UNIX-socket) client with blocking I/O and deadlines: sends garbage or plain HTTP to a TLS port,
/// holds half-open connections that never send, reads until the peer closes. Also the client tests use to talk to
/// a `TestBackend` directly.
final class PlainClient {
    let endpoint: Endpoint
    private(set) var fd: Int32
    /// Bound on each read when no other timeout is given.
    let ioTimeout: Duration

    /// Connects to `endpoint` (throws `SystemCallError`, e.g. ECONNREFUSED, or ETIMEDOUT after `connectTimeout`).
    init(
        connectingTo endpoint: Endpoint, connectTimeout: Duration = .seconds(5), ioTimeout: Duration = .seconds(10)
    ) throws {
        self.endpoint = endpoint
        self.ioTimeout = ioTimeout
        fd = try Sockets.connect(to: endpoint, timeout: connectTimeout)
        try Sockets.setTimeouts(fd, receive: ioTimeout, send: ioTimeout)
    }

    convenience init(host: String = "127.0.0.1", port: UInt16, ioTimeout: Duration = .seconds(10)) throws {
        try self.init(connectingTo: .tcp(host: host, port: port), ioTimeout: ioTimeout)
    }

    deinit { close() }

    /// "127.0.0.1:PORT" of this end (what the daemon sees as the client address).
    var localPort: UInt16 { (try? Sockets.localPort(of: fd)) ?? 0 }

    func send(_ bytes: [UInt8]) throws {
        try Sockets.sendAll(fd, bytes)
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    /// Half-closes: sends FIN, keeps reading possible.
    func shutdownWrite() throws {
        guard shutdown(fd, Int32(SHUT_WR)) == 0 else { throw SystemCallError("shutdown(SHUT_WR)") }
    }

    /// Reads what is available (up to `maxCount`), waiting until `timeout` for something; empty at EOF.
    /// Throws `TimeoutError` when nothing arrives, `SystemCallError` on a reset.
    func read(upTo maxCount: Int = 65536, timeout: Duration? = nil) throws -> [UInt8] {
        let timeout = timeout ?? ioTimeout
        guard try Sockets.waitFor(fd, events: Int16(POLLIN), deadline: .after(timeout)) else {
            throw TimeoutError(waitingFor: "data from \(endpoint)", timeout: timeout)
        }
        var buffer = [UInt8](repeating: 0, count: maxCount)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return Array(buffer[0..<count]) }
            if errno != EINTR { throw SystemCallError("recv from \(endpoint)") }
        }
    }

    /// Reads exactly `count` bytes within `timeout`; throws if the peer ends the stream first.
    func read(exactly count: Int, timeout: Duration? = nil) throws -> [UInt8] {
        let timeout = timeout ?? ioTimeout
        let deadline = Deadline.after(timeout)
        var bytes: [UInt8] = []
        while bytes.count < count {
            guard !deadline.hasPassed else {
                throw TimeoutError(
                    waitingFor: "\(count) bytes from \(endpoint)", timeout: timeout,
                    details: "got \(bytes.count)")
            }
            let chunk = try read(upTo: count - bytes.count, timeout: deadline.remaining)
            guard !chunk.isEmpty else {
                throw SystemCallError(
                    "read \(count) bytes from \(endpoint): EOF after \(bytes.count)", errno: ECONNRESET)
            }
            bytes += chunk
        }
        return bytes
    }

    /// Reads until the peer closes (EOF or reset) within `timeout`; returns the bytes and how it ended.
    func readToEnd(timeout: Duration? = nil, limit: Int = 64 << 20) throws -> (bytes: [UInt8], end: StreamEnd) {
        var bytes: [UInt8] = []
        let end = try consumeToEnd(timeout: timeout ?? ioTimeout) { chunk in
            if bytes.count < limit { bytes += chunk.prefix(limit - bytes.count) }
        }
        return (bytes, end)
    }

    /// Reads until the peer closes, hashing without keeping (large transfers).
    func readAndHashToEnd(timeout: Duration? = nil) throws -> HashedStream {
        let hasher = SHA256Hasher()
        var count = 0
        let end = try consumeToEnd(timeout: timeout ?? ioTimeout) { chunk in
            hasher.update(chunk)
            count += chunk.count
        }
        return HashedStream(byteCount: count, sha256: hasher.hexDigest, end: end)
    }

    /// Waits, sending nothing, until the peer closes the connection; returns how (bytes it sent are dropped).
    /// For "the daemon closes a client that never completes a handshake".
    func waitForClose(timeout: Duration) throws -> StreamEnd {
        try consumeToEnd(timeout: timeout) { _ in }
    }

    /// Sends `count` bytes of `PseudoRandomStream(seed:)`; returns their SHA-256.
    @discardableResult
    func sendPseudoRandom(count: Int, seed: UInt64 = 1, chunkSize: Int = 1 << 16) throws -> String {
        try PseudoRandomStream.forEachChunk(count: count, seed: seed, chunkSize: chunkSize) { try send(Array($0)) }
    }

    /// Closes the socket (idempotent).
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Sets SO_LINGER to 0, so `close()` sends RST instead of FIN.
    func resetOnClose() throws {
        var option = linger(l_onoff: 1, l_linger: 0)
        guard setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size)) == 0 else {
            throw SystemCallError("setsockopt(SO_LINGER)")
        }
    }

    private func consumeToEnd(timeout: Duration, _ consume: ([UInt8]) -> Void) throws -> StreamEnd {
        let deadline = Deadline.after(timeout)
        var total = 0
        while true {
            guard try Sockets.waitFor(fd, events: Int16(POLLIN), deadline: deadline) else {
                throw TimeoutError(
                    waitingFor: "\(endpoint) to close the connection", timeout: timeout,
                    details: "received \(total) bytes so far")
            }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return .eof }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                if errno == ECONNRESET { return .reset }
                throw SystemCallError("recv from \(endpoint)")
            }
            total += count
            consume(Array(buffer[0..<count]))
        }
    }
}
