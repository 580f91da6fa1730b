import Glibc

/// A bound, listening frontend socket. The parent opens one per frontend address and worker slot
/// (`SO_REUSEPORT`) and keeps them all, so a respawned worker takes over its slot's socket and queue.
struct ListeningSocket {
    let descriptor: Int32
    let frontendIndex: Int
    let workerSlot: Int
    /// The address actually bound (the kernel's port when the configured port is 0).
    let address: SocketAddress
    /// The socket systemd passed that this is, shared by every worker slot; nil for one the daemon opened.
    var passed: PassedSocket? = nil

    /// Whether this socket is bound to `requested`, or to the port the kernel picked for it when it asks for port 0.
    func isBound(to requested: SocketAddress) -> Bool {
        requested.port == 0 ? address.withPort(0) == requested : address == requested
    }
}

extension Array where Element == ListeningSocket {
    /// The descriptors of these sockets, each once: the worker slots share a socket systemd passed.
    var descriptors: Set<Int32> { Set(map(\.descriptor)) }
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
    /// `-t`: check the configuration while the daemon it is for may be running on the same addresses, or systemd
    /// holds them for it (socket activation). Sockets are bound, which checks the address, but do not listen: in
    /// the `SO_REUSEPORT` group of those addresses a listening socket would take a share of the new connections, to
    /// reset them when `-t` exits. An address another program listens on is not refused (`requireNoOtherListener`).
    let checksOnly: Bool

    /// One socket per resolved address and worker slot for `frontend`. With port 0, the kernel picks the port for
    /// the first socket and the others share it.
    ///
    /// On a reload, `reusable` holds the running configuration's sockets (of `previousFrontends`): a socket of a
    /// frontend with the same host and port, for the same address and worker slot, is taken from it instead of
    /// opening a new one. A kept socket keeps the options it was opened with.
    ///
    /// At start, `passed` holds the sockets systemd passed (`SocketActivation`): an address one of them serves is
    /// served by it, for every worker slot (the workers share its queue), with this factory's options for the
    /// connections it accepts; it is taken out of `passed`. On a reload, a frontend keeps the passed sockets it
    /// served on, for as many slots as it now has.
    func open(
        frontend: Frontend, index: Int, workerSlots: Int, reusing reusable: inout [ListeningSocket],
        ofPrevious previousFrontends: [Frontend], taking passed: inout [PassedSocket]
    ) throws(StartupError) -> [ListeningSocket] {
        var sockets: [ListeningSocket] = []
        var reused: Set<Int32> = []
        var takenHere: [PassedSocket] = []
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
            var keptPassed = Self.passedSocketsKept(by: isSameFrontend, from: &reusable)
            reused.formUnion(keptPassed.map(\.descriptor))
            for resolvedAddress in resolved {
                var address = chosenPort.map { resolvedAddress.withPort($0) } ?? resolvedAddress
                if takenHere.contains(where: { $0.serves(address) }) { continue }  // a dual-stack socket serves both
                if address.port != 0,
                    let socket = Self.removeSocket(serving: address, from: &passed)
                        ?? Self.removeSocket(serving: address, from: &keptPassed)
                {
                    takenHere.append(socket)
                    try adopt(socket, displayName: frontend.displayName)
                    sockets += (0..<workerSlots).map {
                        ListeningSocket(
                            descriptor: socket.descriptor, frontendIndex: index, workerSlot: $0,
                            address: socket.address,
                            passed: socket)
                    }
                    continue
                }
                let keptAddress = address
                let isKept = { (socket: ListeningSocket) in isSameFrontend(socket) && socket.isBound(to: keptAddress) }
                if !checksOnly, address.port != 0, !reusable.contains(where: isKept) {
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
            for descriptor in sockets.descriptors.subtracting(reused) { close(descriptor) }
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
            guard checksOnly || listen(descriptor, backlog) == 0 else {
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

    /// The sockets systemd passed that a frontend of the running configuration (`isSameFrontend`) served on, each
    /// once; their entries (one per slot) leave `reusable`.
    private static func passedSocketsKept(
        by isSameFrontend: (ListeningSocket) -> Bool, from reusable: inout [ListeningSocket]
    ) -> [PassedSocket] {
        var taken: [PassedSocket] = []
        for socket in reusable where isSameFrontend(socket) {
            guard let passed = socket.passed, !taken.contains(where: { $0.descriptor == passed.descriptor }) else {
                continue
            }
            taken.append(passed)
        }
        reusable.removeAll { socket in taken.contains { $0.descriptor == socket.descriptor } }
        return taken
    }

    /// Removes from `sockets` and returns the first one that serves `address`.
    private static func removeSocket(serving address: SocketAddress, from sockets: inout [PassedSocket])
        -> PassedSocket?
    {
        guard let position = sockets.firstIndex(where: { $0.serves(address) }) else { return nil }
        return sockets.remove(at: position)
    }

    /// Serves a frontend on a socket systemd passed: the options its connections inherit, and this backlog.
    private func adopt(_ socket: PassedSocket, displayName: String) throws(StartupError) {
        try setInheritedOptions(socket.descriptor, displayName: "\(displayName) (\(socket.description))")
        guard listen(socket.descriptor, backlog) == 0 else {
            throw .system(SystemError("listen", "\(displayName) (\(socket.description))"))
        }
        Log.info("frontend \(displayName): serving on the socket systemd passed, \(socket.description)")
    }

    private func configure(_ descriptor: Int32, family: Int32, displayName: String) throws(StartupError) {
        try setAddressOptions(descriptor, family: family, reusePort: true, displayName: displayName)
        try setInheritedOptions(descriptor, displayName: displayName)
    }

    /// The options the accepted connections inherit: `TCP_NODELAY`, keepalive, buffer sizes, TCP Fast Open.
    private func setInheritedOptions(_ descriptor: Int32, displayName name: String) throws(StartupError) {
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
