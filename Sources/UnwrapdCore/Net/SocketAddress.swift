import Glibc

/// A socket address of any family — IPv4, IPv6 or UNIX — held inline in a `sockaddr_storage` with its length.
///
/// A plain value (`BitwiseCopyable`, no heap): a connection keeps its client and frontend addresses in its own
/// struct, and the PROXY encoders read them without allocating. Build one from what the kernel reports
/// (`withUnsafeMutableSockAddr` around `accept4`/`getsockname`), from a `sockaddr` pointer, with `resolve` at setup
/// time, or with `unix(path:)`.
public struct SocketAddress: BitwiseCopyable, Sendable {
    /// The raw address; only the first `length` bytes are meaningful.
    public private(set) var storage = sockaddr_storage()
    /// The number of meaningful bytes in `storage`, as bind(2)/connect(2) take it.
    public private(set) var length: socklen_t = 0

    /// An empty address (`AF_UNSPEC`, length 0), to be filled by `withUnsafeMutableSockAddr`.
    public init() {}

    /// Copies `length` bytes of the address at `address`. `length` must not exceed `sockaddr_storage`.
    public init(_ address: UnsafePointer<sockaddr>, length: socklen_t) {
        precondition(Int(length) <= MemoryLayout<sockaddr_storage>.size, "socket address longer than sockaddr_storage")
        withUnsafeMutableBytes(of: &storage) { bytes in
            bytes.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(length)))
        }
        self.length = length
    }

    /// An IPv4 address.
    public init(_ address: sockaddr_in) {
        store(address)
    }

    /// An IPv6 address.
    public init(_ address: sockaddr_in6) {
        store(address)
    }

    private mutating func store<Address>(_ address: Address) {
        withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: address, as: Address.self) }
        length = socklen_t(MemoryLayout<Address>.size)
    }

    /// `AF_INET`, `AF_INET6`, `AF_UNIX`, or `AF_UNSPEC` for an empty address.
    public var family: Int32 { length == 0 ? AF_UNSPEC : Int32(storage.ss_family) }

    /// The IPv4 form of this address, if it has one.
    public var ipv4: sockaddr_in? {
        guard family == AF_INET else { return nil }
        return withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
    }

    /// The IPv6 form of this address, if it has one.
    public var ipv6: sockaddr_in6? {
        guard family == AF_INET6 else { return nil }
        return withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
    }

    /// The port in host byte order; `nil` for families without ports.
    public var port: UInt16? {
        if let ipv4 { return UInt16(bigEndian: ipv4.sin_port) }
        if let ipv6 { return UInt16(bigEndian: ipv6.sin6_port) }
        return nil
    }

    /// An IPv6 address of the form `::ffff:a.b.c.d`: an IPv4 peer seen through a dual-stack IPv6 socket.
    public var isIPv4MappedIPv6: Bool {
        guard let ipv6 else { return false }
        return withUnsafeBytes(of: ipv6.sin6_addr) { octets in
            var index = 0
            while index < 10 && octets[index] == 0 { index += 1 }
            return index == 10 && octets[10] == 0xFF && octets[11] == 0xFF
        }
    }

    /// A loopback address: 127.0.0.0/8, `::1`, or an IPv4-mapped form of 127.0.0.0/8. A TCP connect to one
    /// completes inside connect(2) (the kernel runs both ends of the handshake in the caller's context).
    public var isLoopback: Bool {
        if let ipv4 = unmappedIPv4 { return UInt32(bigEndian: ipv4.sin_addr.s_addr) >> 24 == 127 }
        guard let ipv6 else { return false }
        return withUnsafeBytes(of: ipv6.sin6_addr) { octets in
            octets[15] == 1 && octets[0..<15].allSatisfy { $0 == 0 }
        }
    }

    /// The IPv4 address an IPv4 or IPv4-mapped IPv6 address stands for; `nil` for anything else.
    ///
    /// The PROXY encoders use it to report an IPv4 client as IPv4 whichever socket family accepted it.
    var unmappedIPv4: sockaddr_in? {
        if let ipv4 { return ipv4 }
        guard isIPv4MappedIPv6, let ipv6 else { return nil }
        var result = sockaddr_in()
        result.sin_family = sa_family_t(AF_INET)
        result.sin_port = ipv6.sin6_port
        withUnsafeBytes(of: ipv6.sin6_addr) { octets in
            withUnsafeMutableBytes(of: &result.sin_addr) {
                $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: octets[12..<16]))
            }
        }
        return result
    }

    /// Calls `body` with the address as bind(2), connect(2) and sendto(2) take it.
    public func withSockAddr<Result, Failure: Error>(
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        var copy = storage
        return try withUnsafePointer(to: &copy) { (pointer) throws(Failure) -> Result in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(Failure) -> Result in
                try body(address, length)
            }
        }
    }

    /// Lets `body` fill this address the way accept(2), getsockname(2) and getpeername(2) do: it receives the storage
    /// and a length set to the storage's size, which it updates to the address's length. Returns what `body` returns.
    public mutating func withUnsafeMutableSockAddr<Result>(
        _ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Result
    ) -> Result {
        var reportedLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, &reportedLength) }
        }
        // The kernel reports the full length of an address it had to truncate; never claim more than is stored.
        length = min(reportedLength, socklen_t(MemoryLayout<sockaddr_storage>.size))
        return result
    }
}

extension SocketAddress: Equatable {
    /// Two addresses are equal when their meaningful bytes are.
    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        guard lhs.length == rhs.length else { return false }
        return withUnsafeBytes(of: lhs.storage) { left in
            withUnsafeBytes(of: rhs.storage) { right in
                memcmp(left.baseAddress!, right.baseAddress!, Int(lhs.length)) == 0
            }
        }
    }
}
