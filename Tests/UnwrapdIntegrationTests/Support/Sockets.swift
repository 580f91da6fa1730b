import CUnwrapdShims
import Glibc

/// Blocking-socket helpers shared by the kit's clients, backends and port finder. Every descriptor is created
/// close-on-exec, so a daemon spawned by one test never inherits another test's sockets.
enum Sockets {
    /// A `sockaddr` for an endpoint, with its length and address family.
    struct Address {
        var storage = sockaddr_storage()
        var length: socklen_t = 0
        var family: Int32 { Int32(storage.ss_family) }

        func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Result) rethrows -> Result {
            try withUnsafePointer(to: storage) { pointer in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
            }
        }
    }

    /// Resolves a numeric IPv4/IPv6 host (no DNS: the kit talks to loopback only) or a UNIX path.
    static func address(of endpoint: Endpoint) throws(SystemCallError) -> Address {
        var address = Address()
        switch endpoint {
        case .tcp(let host, let port):
            var ipv4 = sockaddr_in()
            var ipv6 = sockaddr_in6()
            if inet_pton(AF_INET, host, &ipv4.sin_addr) == 1 {
                ipv4.sin_family = sa_family_t(AF_INET)
                ipv4.sin_port = port.bigEndian
                withUnsafeMutableBytes(of: &address.storage) { target in
                    withUnsafeBytes(of: ipv4) { target.copyMemory(from: $0) }
                }
                address.length = socklen_t(MemoryLayout<sockaddr_in>.size)
            } else if inet_pton(AF_INET6, host, &ipv6.sin6_addr) == 1 {
                ipv6.sin6_family = sa_family_t(AF_INET6)
                ipv6.sin6_port = port.bigEndian
                withUnsafeMutableBytes(of: &address.storage) { target in
                    withUnsafeBytes(of: ipv6) { target.copyMemory(from: $0) }
                }
                address.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            } else {
                throw SystemCallError("inet_pton(\(host)): not a numeric IPv4 or IPv6 address", errno: EINVAL)
            }
        case .unix(let path):
            var unixAddress = sockaddr_un()
            unixAddress.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            let capacity = MemoryLayout.size(ofValue: unixAddress.sun_path)
            guard bytes.count < capacity else {
                throw SystemCallError(
                    "UNIX socket path \(path) (\(bytes.count) bytes, limit \(capacity - 1))",
                    errno: ENAMETOOLONG)
            }
            withUnsafeMutableBytes(of: &unixAddress.sun_path) { $0.copyBytes(from: bytes) }
            withUnsafeMutableBytes(of: &address.storage) { target in
                withUnsafeBytes(of: unixAddress) { target.copyMemory(from: $0) }
            }
            address.length = socklen_t(MemoryLayout<sockaddr_un>.size)
        }
        return address
    }

    /// A new close-on-exec stream socket of `family`.
    static func streamSocket(family: Int32, nonBlocking: Bool = false) throws(SystemCallError) -> Int32 {
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        let fd = socket(family, type, 0)
        guard fd >= 0 else { throw SystemCallError("socket") }
        return fd
    }

    /// A listening socket on `endpoint` (port 0: the kernel picks one); returns it with the real endpoint.
    /// IPv6 sockets are dual-stack (IPV6_V6ONLY off), so `::` accepts IPv4 too.
    static func listen(
        on endpoint: Endpoint, backlog: Int32 = 128, reuseAddress: Bool = true
    ) throws(SystemCallError) -> (fd: Int32, endpoint: Endpoint) {
        let address = try address(of: endpoint)
        let fd = try streamSocket(family: address.family)
        do throws(SystemCallError) {
            if reuseAddress, case .tcp = endpoint { try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1) }
            if address.family == AF_INET6 { try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 0) }
            let bound = address.withSockaddr { bind(fd, $0, $1) }
            guard bound == 0 else { throw SystemCallError("bind(\(endpoint))") }
            guard Glibc.listen(fd, backlog) == 0 else { throw SystemCallError("listen(\(endpoint))") }
            switch endpoint {
            case .tcp(let host, _): return (fd, .tcp(host: host, port: try localPort(of: fd)))
            case .unix: return (fd, endpoint)
            }
        } catch {
            close(fd)
            throw error
        }
    }

    /// Connects a blocking socket to `endpoint`, giving up after `timeout`. `receiveBufferSize` sets SO_RCVBUF
    /// before connecting (the kernel doubles it and stops autotuning it): a client that does not read then holds
    /// little in its kernel, and back-pressure reaches the peer sooner.
    static func connect(
        to endpoint: Endpoint, timeout: Duration, receiveBufferSize: Int32? = nil
    ) throws(SystemCallError) -> Int32 {
        KitProcessSetup.prepare()
        let address = try address(of: endpoint)
        let fd = try streamSocket(family: address.family, nonBlocking: true)
        do throws(SystemCallError) {
            if let receiveBufferSize { try setOption(fd, SOL_SOCKET, SO_RCVBUF, receiveBufferSize) }
            let result = address.withSockaddr { Glibc.connect(fd, $0, $1) }
            if result != 0 {
                guard errno == EINPROGRESS || errno == EAGAIN else { throw SystemCallError("connect(\(endpoint))") }
                guard try waitFor(fd, events: Int16(POLLOUT), deadline: .after(timeout)) else {
                    throw SystemCallError("connect(\(endpoint)) within \(timeout.shortDescription)", errno: ETIMEDOUT)
                }
                var error: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                guard error == 0 else { throw SystemCallError("connect(\(endpoint))", errno: error) }
            }
            try setBlocking(fd)
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// Sets SO_RCVTIMEO and SO_SNDTIMEO, so a blocking read or write fails with EAGAIN instead of hanging.
    static func setTimeouts(_ fd: Int32, receive: Duration, send: Duration) throws(SystemCallError) {
        var receiveTimeout = receive.timeval
        var sendTimeout = send.timeval
        let size = socklen_t(MemoryLayout<timeval>.size)
        guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receiveTimeout, size) == 0,
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, size) == 0
        else { throw SystemCallError("setsockopt(SO_RCVTIMEO/SO_SNDTIMEO)") }
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SystemCallError) {
        var value = value
        guard setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw SystemCallError("setsockopt(\(level), \(name))")
        }
    }

    static func setBlocking(_ fd: Int32) throws(SystemCallError) {
        let flags = unwrapd_fcntl_get_flags(fd)
        guard flags >= 0, unwrapd_fcntl_set_flags(fd, flags & ~O_NONBLOCK) == 0 else {
            throw SystemCallError("fcntl(O_NONBLOCK off)")
        }
    }

    /// How many segments carrying data a TCP socket has received (`tcpi_data_segs_in` of Linux's `struct tcp_info`,
    /// since 4.6); `nil` from an older kernel, whose `tcp_info` ends before it. glibc's `struct tcp_info` ends
    /// before this counter too, so it is read at its offset in the kernel's (152 bytes; the structure only grows at
    /// its end).
    static func dataSegmentsReceived(by fd: Int32) throws(SystemCallError) -> Int? {
        let offset = 152
        var info = [UInt8](repeating: 0, count: 256)
        var length = socklen_t(info.count)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else {
            throw SystemCallError("getsockopt(TCP_INFO)")
        }
        guard Int(length) >= offset + 4 else { return nil }
        return info.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }

    /// The local port a TCP socket is bound to.
    static func localPort(of fd: Int32) throws(SystemCallError) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { throw SystemCallError("getsockname") }
        return port(of: storage) ?? 0
    }

    /// "host:port" of the peer of a connected socket ("unix" for UNIX sockets).
    static func peerDescription(of fd: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard result == 0 else { return "?" }
        return describe(storage)
    }

    /// "127.0.0.1:PORT", "[::1]:PORT" or "unix" for a socket address.
    static func describe(_ storage: sockaddr_storage) -> String {
        var storage = storage
        let family = Int32(storage.ss_family)
        guard family == AF_INET || family == AF_INET6 else { return family == AF_UNIX ? "unix" : "family \(family)" }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        withUnsafePointer(to: &storage) { pointer in
            let raw = UnsafeRawPointer(pointer)
            let address =
                family == AF_INET
                ? raw + MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!
                : raw + MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!
            _ = inet_ntop(family, address, &text, socklen_t(text.count))
        }
        let host = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let port = port(of: storage) ?? 0
        return family == AF_INET ? "\(host):\(port)" : "[\(host)]:\(port)"
    }

    private static func port(of storage: sockaddr_storage) -> UInt16? {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
        default: return nil
        }
    }

    /// Polls one descriptor for `events` until the deadline; true when ready (or in error/hang-up state).
    static func waitFor(_ fd: Int32, events: Int16, deadline: Deadline) throws(SystemCallError) -> Bool {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let result = poll(&descriptor, 1, deadline.pollMilliseconds)
            if result > 0 { return true }
            if result == 0 { return false }
            if errno != EINTR { throw SystemCallError("poll") }
        }
    }

    /// Writes all of `bytes` to a blocking socket (MSG_NOSIGNAL); fails on error or send timeout.
    static func sendAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) throws(SystemCallError) {
        let failure: SystemCallError? = bytes.withUnsafeBytes { raw in
            do throws(SystemCallError) {
                try sendAll(fd, raw)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemCallError) {
        try sendAll(fd, bytes[...])
    }

    /// Writes all of `bytes` to a blocking socket (MSG_NOSIGNAL); fails on error or send timeout.
    static func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let sent = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if sent > 0 {
                offset += sent
            } else if sent < 0 && errno == EINTR {
                continue
            } else {
                throw SystemCallError("send (\(offset) of \(bytes.count) bytes sent)")
            }
        }
    }
}
