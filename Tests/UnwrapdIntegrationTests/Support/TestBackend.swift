import Glibc
import Synchronization

/// A plain backend for the daemon to relay to: a TCP server on loopback (port 0: the kernel picks, `endpoint`
/// tells) or a UNIX-socket server, one OS thread per connection, behaving as `BackendBehavior` says.
///
/// Every connection is counted (`acceptedCount`: "the backend never saw a connection") and recorded
/// (`BackendConnection`: bytes, SHA-256, EOF). A UNIX socket is mode 0777 in a traversable directory, so workers
/// running as `nobody` can connect. `stop()` (also on deinit) closes everything and joins every thread.
final class TestBackend: Sendable {
    let endpoint: Endpoint
    let behavior: BackendBehavior
    private let core: BackendCore

    /// Starts listening on `endpoint` and accepting. `keepLimit`: bytes kept per connection (count and SHA-256
    /// always cover everything).
    init(
        _ behavior: BackendBehavior = .echo,
        on endpoint: Endpoint = .tcp(host: "127.0.0.1", port: 0),
        keepLimit: Int = 16 << 20
    ) throws {
        KitProcessSetup.prepare()
        if case .unix(let path) = endpoint { unlink(path) }
        let (fd, bound) = try Sockets.listen(on: endpoint)
        if case .unix(let path) = bound { TestBackend.makeReachable(path) }
        self.endpoint = bound
        self.behavior = behavior
        do {
            core = try BackendCore(listenFD: fd, endpoint: bound, behavior: behavior, keepLimit: keepLimit)
        } catch {
            close(fd)
            throw error
        }
    }

    /// A backend on a UNIX socket `name` inside `directory`.
    static func unix(
        _ behavior: BackendBehavior = .echo, in directory: TestDirectory, name: String = "backend.sock",
        keepLimit: Int = 16 << 20
    ) throws -> TestBackend {
        try TestBackend(behavior, on: .unix(path: directory.file(name)), keepLimit: keepLimit)
    }

    deinit { core.stop() }

    /// The TCP port (0 for a UNIX socket).
    var port: UInt16 { endpoint.port ?? 0 }
    /// How the daemon's `--backend` names it: `[127.0.0.1]:PORT`, `[::1]:PORT`, or the socket path.
    var hitchAddress: String { endpoint.hitchAddress }

    /// Connections accepted so far.
    var acceptedCount: Int { core.state.withLock { $0.connections.count } }
    var connections: [BackendConnection] { core.state.withLock { $0.connections } }

    /// Waits until connection `index` (0: the first) has been accepted and returns it (or only waits: the result
    /// may be dropped).
    @discardableResult
    func waitForConnection(_ index: Int = 0, timeout: Duration = .seconds(5)) throws -> BackendConnection {
        let found = core.state.wait(until: .after(timeout)) { state in
            state.connections.indices.contains(index) ? state.connections[index] : nil
        }
        guard let found else {
            throw BackendError.noConnection(index: index, timeout: timeout, accepted: acceptedCount)
        }
        return found
    }

    /// Stops accepting, shuts down and closes every connection, joins every thread. Idempotent.
    func stop() { core.stop() }

    /// Socket mode 0777 and search permission on its directory for everyone.
    private static func makeReachable(_ path: String) {
        chmod(path, 0o777)
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        var info = stat()
        if !directory.isEmpty, stat(directory, &info) == 0, info.st_mode & 0o011 != 0o011 {
            chmod(directory, (info.st_mode & 0o7777) | 0o011)
        }
    }
}

/// The shared part of a backend that its threads hold (the `TestBackend` handle can go away; stop joins them).
private final class BackendCore: Sendable {
    struct State {
        var connections: [BackendConnection] = []
        var threads: [JoinableThread] = []
        var stopped = false
    }

    let listenFD: Int32
    let endpoint: Endpoint
    let behavior: BackendBehavior
    let keepLimit: Int
    let state = Monitor(State())
    private let acceptThread = Mutex<AcceptThread?>(nil)

    init(listenFD: Int32, endpoint: Endpoint, behavior: BackendBehavior, keepLimit: Int) throws {
        self.listenFD = listenFD
        self.endpoint = endpoint
        self.behavior = behavior
        self.keepLimit = keepLimit
        let thread = try AcceptThread(name: "backend accept", listenFD: listenFD) { [self] in accepted($0) }
        acceptThread.withLock { $0 = thread }
    }

    func stop() {
        let first = state.update { state in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        acceptThread.withLock { $0 }?.stop()
        let (connections, threads) = state.withLock { ($0.connections, $0.threads) }
        for connection in connections { connection.shutDownForStop() }
        for thread in threads { thread.join() }
        for connection in connections { connection.closeDescriptor() }
        close(listenFD)
        if case .unix(let path) = endpoint { unlink(path) }
    }

    private func accepted(_ fd: Int32) {
        let peer = Sockets.peerDescription(of: fd)
        let connection: BackendConnection? = state.update { state in
            guard !state.stopped else { return nil }
            let connection = BackendConnection(index: state.connections.count, fd: fd, peer: peer)
            state.connections.append(connection)
            return connection
        }
        guard let connection else {
            close(fd)
            return
        }
        if case .silent = behavior { return }
        do {
            let thread = try JoinableThread(name: "backend connection") { [self] in
                ConnectionServer(connection: connection, behavior: behavior, keepLimit: keepLimit).serve()
            }
            state.withLock { $0.threads.append(thread) }
        } catch {
            connection.recordReadEnd(eof: false, error: "\(error)", sha256: "")
            connection.closeDescriptor()
        }
    }
}

/// Serves one backend connection on its thread: reads (and echoes) until EOF, starts the response when its
/// trigger fires, then closes.
private struct ConnectionServer {
    let connection: BackendConnection
    let behavior: BackendBehavior
    let keepLimit: Int

    private var trigger: BackendBehavior.Trigger? {
        switch behavior {
        case .respond(_, let when, _), .respondInParts(_, _, let when, _), .sendPseudoRandom(_, _, let when): when
        default: nil
        }
    }

    func serve() {
        let fd = connection.fd
        let hasher = SHA256Hasher()
        var responder: JoinableThread?
        var recent: [UInt8] = []
        var eof = false
        var readError: String?
        if trigger == .onConnect { responder = startResponse() }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        reading: while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 {
                eof = true
                break
            }
            if count < 0 {
                if errno == EINTR { continue }
                readError = "recv: \(errnoName(errno))"
                break
            }
            let chunk = buffer[0..<count]
            chunk.withUnsafeBytes { bytes in
                hasher.update(bytes)
                connection.recordReceived(bytes, keepLimit: keepLimit)
            }
            if case .echo = behavior {
                do {
                    try Sockets.sendAll(fd, chunk)
                    connection.recordSent(count)
                } catch {
                    connection.recordSendError("\(error)")
                    readError = "echo failed: \(error)"
                    break reading
                }
            }
            if responder == nil, fires(after: chunk, recent: &recent) { responder = startResponse() }
        }
        let digest = hasher.hexDigest
        connection.recordReadEnd(eof: eof, error: readError, sha256: digest)
        if eof, case .echo = behavior {
            shutdown(fd, Int32(SHUT_WR))
            connection.recordSendFinished(sha256: digest)
        }
        if eof, responder == nil, trigger == .afterEOF { responder = startResponse() }
        responder?.join()
        connection.closeDescriptor()
    }

    /// Whether a count or sequence trigger fires with `chunk`; `recent` keeps the bytes a sequence may span.
    private func fires(after chunk: ArraySlice<UInt8>, recent: inout [UInt8]) -> Bool {
        switch trigger {
        case .afterReceiving(let count):
            return connection.receivedCount >= count
        case .afterReceivingSequence(let sequence):
            recent += chunk
            if recent.count >= sequence.count {
                for start in 0...(recent.count - sequence.count)
                where recent[start..<start + sequence.count].elementsEqual(sequence) {
                    return true
                }
            }
            recent = Array(recent.suffix(max(0, sequence.count - 1)))
            return false
        default:
            return false
        }
    }

    /// Sends `parts` one write each, `pause` apart, then does `then`.
    private static func send(
        _ parts: [[UInt8]], pause: Duration, then: BackendBehavior.AfterResponse, on connection: BackendConnection
    ) throws(SystemCallError) {
        if then == .halfCloseInTheSameSegment { try Sockets.setOption(connection.fd, Int32(IPPROTO_TCP), TCP_CORK, 1) }
        for (index, part) in parts.enumerated() {
            if index > 0 { sleepBriefly(pause) }
            try Sockets.sendAll(connection.fd, part)
            connection.recordSent(part.count)
        }
        connection.recordSendFinished(sha256: SHA256Hasher.digest(parts.flatMap { $0 }))
        switch then {
        case .close: shutdown(connection.fd, Int32(SHUT_RDWR))
        case .halfClose, .halfCloseInTheSameSegment: shutdown(connection.fd, Int32(SHUT_WR))  // sends what a cork holds
        case .keepOpen: break
        }
    }

    /// Starts sending the response on its own thread, so reading goes on meanwhile.
    private func startResponse() -> JoinableThread? {
        let connection = connection
        let behavior = behavior
        return try? JoinableThread(name: "backend response") {
            let fd = connection.fd
            do throws(SystemCallError) {
                switch behavior {
                case .respond(let bytes, _, let then):
                    try Self.send([bytes], pause: .zero, then: then, on: connection)
                case .respondInParts(let parts, let pause, _, let then):
                    try Self.send(parts, pause: pause, then: then, on: connection)
                case .sendPseudoRandom(let count, let seed, _):
                    let digest = try PseudoRandomStream.forEachChunk(count: count, seed: seed) {
                        (part) throws(SystemCallError) in
                        try Sockets.sendAll(fd, part)
                        connection.recordSent(part.count)
                    }
                    connection.recordSendFinished(sha256: digest)
                    shutdown(fd, Int32(SHUT_WR))
                default:
                    break
                }
            } catch {
                connection.recordSendError("\(error)")
            }
        }
    }
}
