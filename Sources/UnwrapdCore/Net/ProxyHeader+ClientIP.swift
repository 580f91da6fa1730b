import Glibc

extension ProxyHeader {
    /// Writes stud's `--write-ip` header: one octet with the client socket's address family — the platform's own
    /// `AF_INET`/`AF_INET6` value (2 and 10 on Linux), as stud writes `ss_family` — then the 4 or 16 address octets
    /// in network byte order. No port.
    ///
    /// Like stud, the address is written as the socket reports it: an IPv4 client accepted on a dual-stack IPv6
    /// socket is sent as `AF_INET6` and its IPv4-mapped address.
    ///
    /// Returns 5 or 17, or `nil` when `buffer` is too small or `client` is not an IP address.
    public static func writeClientIP(_ client: SocketAddress, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        var writer = ByteWriter(buffer)
        if let ipv4 = client.ipv4 {
            writer.append(UInt8(truncatingIfNeeded: AF_INET))
            writer.appendMemory(of: ipv4.sin_addr)
        } else if let ipv6 = client.ipv6 {
            writer.append(UInt8(truncatingIfNeeded: AF_INET6))
            writer.appendMemory(of: ipv6.sin6_addr)
        } else {
            return nil
        }
        return writer.finish()
    }
}
