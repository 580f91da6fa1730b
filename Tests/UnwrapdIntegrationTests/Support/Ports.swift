import Glibc
import Synchronization

/// Free TCP ports for the daemon's frontends.
///
/// A port is found by binding port 0 and closing the socket. Within this test process no port is handed out
/// twice, so parallel tests never collide with each other. The kernel picks such ports from the ephemeral range
/// with the opposite parity to the ones it uses for outgoing connections, so a client's source port rarely takes
/// one in the short time before the daemon binds it. Where even that gap matters, pass a bound socket instead
/// (`listeningSocket`, for socket activation).
enum Ports {
    private static let handedOut = Mutex<Set<UInt16>>([])

    /// A TCP port free on `host`: "127.0.0.1", "::1", or "*" for every address (IPv4 and IPv6), as a daemon
    /// listening on `[*]:PORT` needs it.
    static func freeTCPPort(host: String = "127.0.0.1") throws(SystemCallError) -> UInt16 {
        for _ in 0..<50 {
            let probeHost = host == "*" ? "::" : host  // dual-stack: the port is free on IPv4 and IPv6
            let (fd, endpoint) = try Sockets.listen(on: .tcp(host: probeHost, port: 0), backlog: 1)
            close(fd)
            let port = endpoint.port!
            let isNew = handedOut.withLock { $0.insert(port).inserted }
            if isNew { return port }
        }
        throw SystemCallError("no unused TCP port on \(host) after 50 attempts", errno: EADDRINUSE)
    }

    /// A listening TCP socket on `host` and a port chosen by the kernel, for a daemon that takes its sockets by
    /// socket activation (`LISTEN_FDS`). The caller owns the descriptor and closes it.
    static func listeningSocket(host: String = "127.0.0.1") throws(SystemCallError) -> (fd: Int32, port: UInt16) {
        let (fd, endpoint) = try Sockets.listen(on: .tcp(host: host, port: 0))
        _ = handedOut.withLock { $0.insert(endpoint.port!) }
        return (fd, endpoint.port!)
    }
}
