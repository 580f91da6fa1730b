import Glibc

extension SocketAddress: CustomStringConvertible {
    /// The address as operators read it in logs (see `LogLine.append(_:)`). Builds a `String`: for setup messages;
    /// a connection's log line has the address written straight into it.
    public var description: String { String { $0.append(self) } }
}

extension LogLine {
    /// Appends `address` as operators read it in logs: `[192.0.2.1]:443`, `[2001:db8::1]:443` (`[fe80::1%2]:443` with
    /// a scope), a UNIX socket's path (`@name` for an abstract one), `unnamed UNIX socket`, or `family N` for others.
    mutating func append(_ address: SocketAddress) {
        if let ipv4 = address.ipv4 {
            append("[")
            withUnsafeBytes(of: ipv4.sin_addr) { appendNumericHost(family: AF_INET, address: $0) }
            append("]:")
            appendDecimal(UInt64(UInt16(bigEndian: ipv4.sin_port)))
        } else if let ipv6 = address.ipv6 {
            append("[")
            withUnsafeBytes(of: ipv6.sin6_addr) { appendNumericHost(family: AF_INET6, address: $0) }
            if ipv6.sin6_scope_id != 0 {
                append("%")
                appendDecimal(UInt64(ipv6.sin6_scope_id))
            }
            append("]:")
            appendDecimal(UInt64(UInt16(bigEndian: ipv6.sin6_port)))
        } else if address.family == AF_UNIX {
            appendUnixPath(of: address)
        } else {
            append("family ")
            append(Int(address.family))
        }
    }

    private mutating func appendUnixPath(of address: SocketAddress) {
        let pathOffset = MemoryLayout<sa_family_t>.size
        let pathLength = Int(address.length) - pathOffset
        guard pathLength > 0 else { return append("unnamed UNIX socket") }
        withUnsafeBytes(of: address.storage) { bytes in
            let path = UnsafeRawBufferPointer(rebasing: bytes[pathOffset..<(pathOffset + pathLength)])
            if path[0] == 0 {
                // Abstract namespace: the name is every byte after the leading NUL, NULs included.
                append("@")
                append(utf8: UnsafeRawBufferPointer(rebasing: path[1...]))
            } else {
                append(utf8: UnsafeRawBufferPointer(rebasing: path[..<(path.firstIndex(of: 0) ?? path.endIndex)]))
            }
        }
    }
}
