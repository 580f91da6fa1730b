import Glibc

extension SocketAddress {
    /// Resolves a host and port for stream sockets with getaddrinfo(3), at setup time (it may block on DNS).
    ///
    /// - `host == nil` with `passive`: the wildcard addresses (`0.0.0.0`, `::`) of the families configured on this
    ///   machine, for listening everywhere. `AI_ADDRCONFIG` applies to passive lookups only, as in hitch: a frontend
    ///   does not get an IPv6 wildcard on a host without IPv6, while a backend name is taken as written.
    /// - Numeric hosts (`192.0.2.1`, `2001:db8::1`, without brackets) resolve without DNS; names go through NSS.
    /// - `port` is a number or a service name.
    ///
    /// Returns the addresses in getaddrinfo's order (RFC 6724 preference), without duplicates.
    public static func resolve(host: String?, port: String, passive: Bool) throws(AddressError) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = passive ? AI_PASSIVE | AI_ADDRCONFIG : 0
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(host, port, &hints, &list)
        guard status == 0 else {
            throw .unresolvable(host: host, port: port, reason: resolutionFailure(status, savedErrno: errno))
        }
        defer { freeaddrinfo(list) }

        var addresses: [SocketAddress] = []
        var entry = list
        while let current = entry {
            if let address = current.pointee.ai_addr {
                let resolved = SocketAddress(address, length: current.pointee.ai_addrlen)
                if !addresses.contains(resolved) { addresses.append(resolved) }
            }
            entry = current.pointee.ai_next
        }
        guard !addresses.isEmpty else {
            throw .unresolvable(host: host, port: port, reason: "no addresses")
        }
        return addresses
    }

    private static func resolutionFailure(_ status: Int32, savedErrno: Int32) -> String {
        let text = gai_strerror(status).map { String(cString: $0) } ?? "getaddrinfo error \(status)"
        guard status == EAI_SYSTEM else { return text }
        return "\(text): \(SystemError.explanation(savedErrno))"
    }

    /// The address of a UNIX domain socket at `path` (a filesystem path; abstract names are not supported).
    public static func unix(path: String) throws(AddressError) -> SocketAddress {
        let pathCapacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        let bytes = path.utf8
        guard !bytes.isEmpty, !bytes.contains(0) else { throw .invalidUnixPath(path: path) }
        guard bytes.count < pathCapacity else { throw .unixPathTooLong(path: path, maximum: pathCapacity - 1) }

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { pathBytes in
            pathBytes.copyBytes(from: bytes)
        }
        let length = MemoryLayout<sa_family_t>.size + bytes.count + 1
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0, length: socklen_t(length)) }
        }
    }
}
