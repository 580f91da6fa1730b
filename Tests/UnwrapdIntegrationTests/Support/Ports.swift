import Foundation
import Glibc
import Synchronization

/// Free TCP ports for the daemon's frontends.
///
/// A port handed out here stays unbound until the daemon binds it, so nothing else may take it in between. The
/// kernel takes every port it picks by itself (a client's source port, a backend's `bind` to port 0) from
/// `ip_local_port_range`, so the ports come from below that range, where only an explicit bind lands: another
/// program's, which the probe bind sees. Within this test process the ports are handed out in turn and never
/// twice, so parallel tests never collide with each other. (Ports from a `bind` to port 0 could: CI at 473f46f
/// failed when a test backend's `bind` to port 0 took a daemon's port before the daemon bound it.)
enum Ports {
    /// The ports handed out: below the ephemeral range, above the ones services commonly listen on.
    static let range: Range<Int> = 10_000..<ephemeralRange.lowerBound

    /// `ip_local_port_range`, the ports the kernel picks from (Linux's default if it cannot be read).
    static let ephemeralRange: ClosedRange<Int> = {
        let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
        let bounds = text?.split(whereSeparator: \.isWhitespace).compactMap { Int($0) } ?? []
        guard bounds.count == 2, bounds[0] > 10_001, bounds[0] <= bounds[1] else { return 32_768...60_999 }
        return bounds[0]...bounds[1]
    }()

    /// The next candidate, as an offset into `range`. It starts at a place set by the process ID so that two
    /// test processes on one machine do not walk the same ports.
    private static let cursor = Mutex<Int>(Int(getpid()) &* 7_919 % range.count)

    /// A TCP port free on `host`: "127.0.0.1", "::1", or "*" for every address (IPv4 and IPv6), as a daemon
    /// listening on `[*]:PORT` needs it.
    static func freeTCPPort(host: String = "127.0.0.1") throws(SystemCallError) -> UInt16 {
        let probeHost = host == "*" ? "::" : host  // dual-stack: the port is free on IPv4 and IPv6
        for _ in 0..<200 {
            let port = UInt16(
                cursor.withLock { offset in
                    defer { offset = (offset + 1) % range.count }
                    return range.lowerBound + offset
                })
            do throws(SystemCallError) {
                let (fd, _) = try Sockets.listen(on: .tcp(host: probeHost, port: port), backlog: 1)
                close(fd)
                return port
            } catch  where error.errno == EADDRINUSE {
                continue  // another program's port
            }
        }
        throw SystemCallError("no unused TCP port on \(host) in \(range) after 200 attempts", errno: EADDRINUSE)
    }

    /// A listening TCP socket on `host` and a port chosen by the kernel, for a daemon that takes its sockets by
    /// socket activation (`LISTEN_FDS`). The caller owns the descriptor and closes it.
    static func listeningSocket(host: String = "127.0.0.1") throws(SystemCallError) -> (fd: Int32, port: UInt16) {
        let (fd, endpoint) = try Sockets.listen(on: .tcp(host: host, port: 0))
        return (fd, endpoint.port!)
    }
}
