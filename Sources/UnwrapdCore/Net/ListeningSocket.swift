import Glibc

/// A bound, listening frontend socket. The parent opens one per frontend address and worker slot
/// (`SO_REUSEPORT`) and keeps them all, so a respawned worker takes over its slot's socket and queue.
struct ListeningSocket {
    let descriptor: Int32
    let frontendIndex: Int
    let workerSlot: Int
    /// The address actually bound (the kernel's port when the configured port is 0).
    let address: SocketAddress

    /// Whether this socket is bound to `requested`, or to the port the kernel picked for it when it asks for port 0.
    func isBound(to requested: SocketAddress) -> Bool {
        requested.port == 0 ? address.withPort(0) == requested : address == requested
    }
}

/// Opens the listening sockets for a frontend.
///
/// Options set on a listening socket are inherited by the sockets `accept` returns (Linux), so client-socket
/// options are set here once instead of per connection: `TCP_NODELAY`, keepalive, buffer sizes.
struct ListenerFactory {
    let backlog: Int32
    let keepaliveSeconds: Int
    let receiveBufferSize: Int
    let sendBufferSize: Int
    let tcpFastOpen: Bool
    /// Refuse an address another program already listens on (`requireNoOtherListener`). Off for `-t`, which checks
    /// a configuration while the daemon it is for may be running on the same addresses.
    let refusesOtherListeners: Bool

    /// One socket per resolved address and worker slot for `frontend`. With port 0, the kernel picks the port for
    /// the first socket and the others share it.
    ///
    /// On a reload, `reusable` holds the running configuration's sockets (of `previousFrontends`): a socket of a
    /// frontend with the same host and port, for the same address and worker slot, is taken from it instead of
    /// opening a new one. A kept socket keeps the options it was opened with.
    func open(
        frontend: Frontend, index: Int, workerSlots: Int, reusing reusable: inout [ListeningSocket],
        ofPrevious previousFrontends: [Frontend]
    ) throws(StartupError) -> [ListeningSocket] {
        var sockets: [ListeningSocket] = []
        var reused: Set<Int32> = []
        do throws(StartupError) {
            let resolved: [SocketAddress]
            do {
                resolved = try SocketAddress.resolve(host: frontend.host, port: frontend.port, passive: true)
            } catch {
                throw .invalid("frontend \(frontend.displayName): \(error)")
            }
            // With port 0 the kernel picks a port for the first socket; every other socket of the frontend uses it.
            var chosenPort: UInt16? = nil
            let isSameFrontend = { (socket: ListeningSocket) in
                previousFrontends[socket.frontendIndex].host == frontend.host
                    && previousFrontends[socket.frontendIndex].port == frontend.port
            }
            for resolvedAddress in resolved {
                var address = chosenPort.map { resolvedAddress.withPort($0) } ?? resolvedAddress
                let keptAddress = address
                let isKept = { (socket: ListeningSocket) in isSameFrontend(socket) && socket.isBound(to: keptAddress) }
                if refusesOtherListeners, address.port != 0, !reusable.contains(where: isKept) {
                    try requireNoOtherListener(on: address, displayName: frontend.displayName)
                }
                for slot in 0..<workerSlots {
                    let socket: ListeningSocket
                    if let position = reusable.firstIndex(where: { $0.workerSlot == slot && isKept($0) }) {
                        let kept = reusable.remove(at: position)
                        reused.insert(kept.descriptor)
                        socket = ListeningSocket(
                            descriptor: kept.descriptor, frontendIndex: index, workerSlot: slot, address: kept.address)
                    } else {
                        let opened = try openOne(address: address, displayName: frontend.displayName)
                        socket = ListeningSocket(
                            descriptor: opened.descriptor, frontendIndex: index, workerSlot: slot,
                            address: opened.bound)
                    }
                    sockets.append(socket)
                    if chosenPort == nil, let port = socket.address.port {
                        chosenPort = port
                        address = address.withPort(port)
                    }
                }
            }
        } catch {
            // Kept sockets stay open: the running configuration still uses them.
            for socket in sockets where !reused.contains(socket.descriptor) { close(socket.descriptor) }
            throw error
        }
        return sockets
    }

    private func openOne(address: SocketAddress, displayName: String) throws(StartupError) -> (
        descriptor: Int32, bound: SocketAddress
    ) {
        let descriptor = socket(
            address.family,
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .system(SystemError("socket", displayName)) }
        do throws(StartupError) {
            try configure(descriptor, family: address.family, displayName: displayName)
            let bound = address.withSockAddr { bind(descriptor, $0, $1) }
            guard bound == 0 else { throw StartupError.system(SystemError("bind", "\(address)")) }
            guard listen(descriptor, backlog) == 0 else {
                throw StartupError.system(SystemError("listen", "\(address)"))
            }
            guard let bound = SocketAddress.local(of: descriptor) else {
                throw StartupError.system(SystemError("getsockname", "\(address)"))
            }
            return (descriptor, bound)
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// Refuses `address` when another program already listens on it. The workers' sockets set `SO_REUSEPORT`, so
    /// if that program set it too (another unwrapd, hitch) and runs as the same user, their binds would succeed and
    /// the kernel would split new connections between the two daemons without a word (different certificates,
    /// session-ticket keys that do not resume each other's sessions). A socket bound without `SO_REUSEPORT`
    /// conflicts with any listener on the address; it is closed without listening, so it takes no connection.
    private func requireNoOtherListener(on address: SocketAddress, displayName: String) throws(StartupError) {
        let descriptor = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .system(SystemError("socket", displayName)) }
        defer { close(descriptor) }
        try setAddressOptions(descriptor, family: address.family, reusePort: false, displayName: displayName)
        guard address.withSockAddr({ bind(descriptor, $0, $1) }) != 0 else { return }
        let code = errno
        let failure = SystemError("bind", "\(address)", code: code)
        guard code == EADDRINUSE else { throw .system(failure) }
        throw .invalid("\(failure): another program listens there (`ss -ltnp` shows which)")
    }

    /// The options that decide whether a bind to the address succeeds: address reuse (a restart while connections
    /// of the previous run are in TIME_WAIT), port sharing between the workers' sockets, IPv6 only on IPv6 sockets
    /// (an IPv4 frontend on the same port has its own).
    private func setAddressOptions(
        _ descriptor: Int32, family: Int32, reusePort: Bool, displayName name: String
    ) throws(StartupError) {
        try SocketOptions.set(descriptor, SOL_SOCKET, SO_REUSEADDR, 1, name: "SO_REUSEADDR", on: name)
        if reusePort { try SocketOptions.set(descriptor, SOL_SOCKET, SO_REUSEPORT, 1, name: "SO_REUSEPORT", on: name) }
        if family == AF_INET6 {
            try SocketOptions.set(descriptor, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1, name: "IPV6_V6ONLY", on: name)
        }
    }

    private func configure(_ descriptor: Int32, family: Int32, displayName: String) throws(StartupError) {
        let name = displayName
        try setAddressOptions(descriptor, family: family, reusePort: true, displayName: name)
        try SocketOptions.set(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, 1, name: "TCP_NODELAY", on: name)
        if keepaliveSeconds > 0 {
            try SocketOptions.set(descriptor, SOL_SOCKET, SO_KEEPALIVE, 1, name: "SO_KEEPALIVE", on: name)
            try SocketOptions.set(
                descriptor, Int32(IPPROTO_TCP), TCP_KEEPIDLE, Int32(clamping: keepaliveSeconds), name: "TCP_KEEPIDLE",
                on: name)
        }
        if receiveBufferSize > 0 {
            try SocketOptions.set(
                descriptor, SOL_SOCKET, SO_RCVBUF, Int32(clamping: receiveBufferSize), name: "SO_RCVBUF", on: name)
        }
        if sendBufferSize > 0 {
            try SocketOptions.set(
                descriptor, SOL_SOCKET, SO_SNDBUF, Int32(clamping: sendBufferSize), name: "SO_SNDBUF", on: name)
        }
        if tcpFastOpen {
            try SocketOptions.set(descriptor, Int32(IPPROTO_TCP), TCP_FASTOPEN, backlog, name: "TCP_FASTOPEN", on: name)
        }
    }
}
