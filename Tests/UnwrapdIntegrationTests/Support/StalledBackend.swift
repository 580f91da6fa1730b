import Glibc

/// A TCP endpoint on loopback to which `connect(2)` hangs: for `--backend-connect-timeout`.
///
/// A listening socket with backlog 0 whose accept queue is filled by connections that are never accepted: Linux
/// then drops every further SYN (the listen-overflow path, SYN cookies or not), so a connecting peer retransmits
/// its SYN and waits until its own timeout. `init` fills the queue and checks the effect with a probe that must
/// not connect within `probeTime`, so a test built on it cannot pass by accident on a kernel that behaves
/// otherwise. `stop()` (also on deinit) closes everything.
final class StalledBackend {
    let endpoint: Endpoint
    private let listenFD: Int32
    private var fillers: [Int32] = []
    private var stopped = false

    init(probeTime: Duration = .milliseconds(300)) throws {
        KitProcessSetup.prepare()
        let (fd, endpoint) = try Sockets.listen(on: .tcp(host: "127.0.0.1", port: 0), backlog: 0)
        listenFD = fd
        self.endpoint = endpoint
        do {
            // Connect until one attempt hangs: the ones that completed sit in the accept queue and fill it.
            for _ in 0..<16 {
                let (probe, connected) = try StalledBackend.connect(to: endpoint, within: probeTime)
                if !connected {
                    close(probe)
                    return
                }
                fillers.append(probe)
            }
            throw SystemCallError(
                "fill the accept queue of \(endpoint): 16 connections completed, none hangs", errno: EAGAIN)
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// `[127.0.0.1]:PORT`, as `--backend` takes it.
    var hitchAddress: String { endpoint.hitchAddress }
    var port: UInt16 { endpoint.port! }

    /// Whether a fresh connection attempt is still pending after `duration` (it is then abandoned).
    func connectHangs(for duration: Duration) throws -> Bool {
        let (probe, connected) = try StalledBackend.connect(to: endpoint, within: duration)
        close(probe)
        return !connected
    }

    /// Closes the listener and the queued connections (idempotent).
    func stop() {
        guard !stopped else { return }
        stopped = true
        for fd in fillers { close(fd) }
        fillers = []
        close(listenFD)
    }

    /// Starts a nonblocking connect; returns the socket and whether it completed within `timeout`. A connect
    /// that fails outright throws.
    private static func connect(to endpoint: Endpoint, within timeout: Duration) throws -> (Int32, Bool) {
        let address = try Sockets.address(of: endpoint)
        let fd = try Sockets.streamSocket(family: address.family, nonBlocking: true)
        if address.withSockaddr({ Glibc.connect(fd, $0, $1) }) == 0 { return (fd, true) }
        guard errno == EINPROGRESS else {
            let error = SystemCallError("connect(\(endpoint))")
            close(fd)
            throw error
        }
        guard try Sockets.waitFor(fd, events: Int16(POLLOUT), deadline: .after(timeout)) else { return (fd, false) }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else {
            close(fd)
            throw SystemCallError("connect(\(endpoint))", errno: error)
        }
        return (fd, true)
    }
}
