import CUnwrapdShims
import Glibc

/// A listening socket systemd passed to the daemon (socket activation), and the address it is bound to.
struct PassedSocket {
    let descriptor: Int32
    let address: SocketAddress
    /// An IPv6 socket that takes IPv4 clients too (`IPV6_V6ONLY` off, systemd's default `BindIPv6Only=`).
    let isDualStack: Bool

    /// Whether this socket serves `address`: it is bound there, or it is a dual-stack IPv6 wildcard socket and
    /// `address` the IPv4 wildcard on the same port.
    func serves(_ address: SocketAddress) -> Bool {
        if address == self.address { return true }
        guard isDualStack, let ipv6 = self.address.ipv6, let ipv4 = address.ipv4 else { return false }
        let isIPv6Wildcard = withUnsafeBytes(of: ipv6.sin6_addr) { $0.allSatisfy { $0 == 0 } }
        return isIPv6Wildcard && ipv4.sin_addr.s_addr == 0 && address.port == self.address.port
    }

    /// `[::]:443 (descriptor 3)`, for logs and errors.
    var description: String { "\(address) (descriptor \(descriptor))" }
}

/// Socket activation: the listening sockets systemd opened for the daemon (`ListenStream=` in a `.socket` unit),
/// passed as descriptors 3, 4, ... with `LISTEN_FDS` and `LISTEN_PID` naming this process. A frontend whose address
/// one of them is bound to serves on it instead of binding its own, so that clients who connect while the daemon
/// restarts wait in its queue instead of being refused.
enum SocketActivation {
    static let firstDescriptor: Int32 = 3

    /// The sockets passed to this process, made nonblocking and close-on-exec; none when the variables are absent
    /// or name another process. The variables are removed, so that nothing this process starts takes them for its
    /// own. A passed descriptor that is not a listening TCP socket is an error.
    static func takePassedSockets() throws(StartupError) -> [PassedSocket] {
        defer {
            for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { unsetenv(name) }
        }
        guard let pid = environmentNumber("LISTEN_PID"), pid == Int(getpid()),
            let count = environmentNumber("LISTEN_FDS"), count > 0
        else { return [] }
        var sockets: [PassedSocket] = []
        for descriptor in firstDescriptor..<(firstDescriptor + Int32(clamping: count)) {
            sockets.append(try inspect(descriptor))
        }
        return sockets
    }

    private static func inspect(_ descriptor: Int32) throws(StartupError) -> PassedSocket {
        let subject = "socket activation: descriptor \(descriptor)"
        guard integerOption(descriptor, SOL_SOCKET, SO_TYPE) == Int32(SOCK_STREAM.rawValue),
            integerOption(descriptor, SOL_SOCKET, SO_ACCEPTCONN) == 1,
            let address = SocketAddress.local(of: descriptor), address.family == AF_INET || address.family == AF_INET6
        else {
            throw .invalid("\(subject) is not a listening TCP socket (ListenStream= with an address or a port)")
        }
        let flags = unwrapd_fcntl_get_flags(descriptor)
        guard flags >= 0, unwrapd_fcntl_set_flags(descriptor, flags | O_NONBLOCK) == 0,
            unwrapd_fcntl_set_descriptor_flags(descriptor, FD_CLOEXEC) == 0
        else { throw .system(SystemError("fcntl", "\(subject) (\(address))")) }
        let dualStack = address.family == AF_INET6 && integerOption(descriptor, Int32(IPPROTO_IPV6), IPV6_V6ONLY) == 0
        return PassedSocket(descriptor: descriptor, address: address, isDualStack: dualStack)
    }

    private static func integerOption(_ descriptor: Int32, _ level: Int32, _ option: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(descriptor, level, option, &value, &length) == 0 ? value : nil
    }

    private static func environmentNumber(_ name: String) -> Int? {
        guard let text = getenv(name) else { return nil }
        return Int(String(cString: text))
    }
}
