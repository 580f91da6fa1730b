import Glibc

// PROVISIONAL: replaced by the proxyheader branch's SocketAddress when merged.

/// A socket address (IPv4, IPv6 or UNIX) held by value.
public struct SocketAddress: @unchecked Sendable, CustomStringConvertible {
    var storage = sockaddr_storage()
    var length: socklen_t = 0

    public init() {}

    public init(_ address: UnsafePointer<sockaddr>, length: socklen_t) {
        self.length = min(length, socklen_t(MemoryLayout<sockaddr_storage>.size))
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(self.length)))
        }
    }

    public var family: Int32 { Int32(storage.ss_family) }

    public var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            switch family {
            case AF_INET: UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
            case AF_INET6: UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
            default: 0
            }
        }
    }

    mutating func setPort(_ port: UInt16) {
        let family = self.family
        withUnsafeMutableBytes(of: &storage) { raw in
            switch family {
            case AF_INET: raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self).pointee.sin_port = port.bigEndian
            case AF_INET6:
                raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_port = port.bigEndian
            default: break
            }
        }
    }

    static func local(of descriptor: Int32) throws(StartupError) -> SocketAddress {
        var address = SocketAddress()
        address.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &address.length) }
        }
        guard status == 0 else { throw .system(SystemError("getsockname")) }
        return address
    }

    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: storage) { raw in
            try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    public var description: String {
        withUnsafeBytes(of: storage) { raw -> String in
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            switch family {
            case AF_INET:
                let address = raw.load(as: sockaddr_in.self)
                var inAddress = address.sin_addr
                inet_ntop(AF_INET, &inAddress, &text, socklen_t(text.count))
                return "[\(String(cString: text))]:\(UInt16(bigEndian: address.sin_port))"
            case AF_INET6:
                let address = raw.load(as: sockaddr_in6.self)
                var inAddress = address.sin6_addr
                inet_ntop(AF_INET6, &inAddress, &text, socklen_t(text.count))
                return "[\(String(cString: text))]:\(UInt16(bigEndian: address.sin6_port))"
            case AF_UNIX:
                let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
                let path = raw[offset..<Int(length)].prefix { $0 != 0 }
                return String(decoding: path, as: UTF8.self)
            default:
                return "(family \(family))"
            }
        }
    }

    public static func resolve(host: String?, port: String, passive: Bool) throws(StartupError) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = passive ? AI_PASSIVE : 0
        var result: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(host, port, &hints, &result)
        guard status == 0 else {
            throw .invalid("cannot resolve [\(host ?? "*")]:\(port): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        var addresses: [SocketAddress] = []
        var cursor = result
        while let entry = cursor {
            addresses.append(SocketAddress(entry.pointee.ai_addr, length: entry.pointee.ai_addrlen))
            cursor = entry.pointee.ai_next
        }
        return addresses
    }

    public static func unix(path: String) throws(StartupError) -> SocketAddress {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw .invalid("UNIX socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + 1)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0, length: length) }
        }
    }
}
