import Glibc

extension SocketAddress: CustomStringConvertible {
    /// The address as operators read it in logs: `[192.0.2.1]:443`, `[2001:db8::1]:443` (`[fe80::1%2]:443` with a
    /// scope), a UNIX socket's path (`@name` for an abstract one), `unnamed UNIX socket`, or `family N` for others.
    ///
    /// Builds a `String`: for logs and errors, not for the per-connection path.
    public var description: String {
        if let ipv4 {
            let host = withUnsafeBytes(of: ipv4.sin_addr) { Self.numericHost(AF_INET, $0) }
            return "[\(host)]:\(UInt16(bigEndian: ipv4.sin_port))"
        }
        if let ipv6 {
            let host = withUnsafeBytes(of: ipv6.sin6_addr) { Self.numericHost(AF_INET6, $0) }
            let scope = ipv6.sin6_scope_id == 0 ? "" : "%\(ipv6.sin6_scope_id)"
            return "[\(host)\(scope)]:\(UInt16(bigEndian: ipv6.sin6_port))"
        }
        if family == AF_UNIX { return unixPathDescription }
        return "family \(family)"
    }

    private static func numericHost(_ family: Int32, _ address: UnsafeRawBufferPointer) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN)) { text in
            guard inet_ntop(family, address.baseAddress, text.baseAddress!, socklen_t(text.count)) != nil else {
                return "?"
            }
            return String(cString: text.baseAddress!)
        }
    }

    private var unixPathDescription: String {
        let pathOffset = MemoryLayout<sa_family_t>.size
        let pathLength = Int(length) - pathOffset
        guard pathLength > 0 else { return "unnamed UNIX socket" }
        return withUnsafeBytes(of: storage) { bytes in
            let path = UnsafeRawBufferPointer(rebasing: bytes[pathOffset..<(pathOffset + pathLength)])
            if path[0] == 0 {
                // Abstract namespace: the name is every byte after the leading NUL, NULs included.
                return "@" + String(decoding: path.dropFirst(), as: UTF8.self)
            }
            let end = path.firstIndex(of: 0) ?? path.endIndex
            return String(decoding: path[..<end], as: UTF8.self)
        }
    }
}
