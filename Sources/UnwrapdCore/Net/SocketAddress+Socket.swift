import Glibc

extension SocketAddress {
    /// The local address of a socket (`getsockname`): the port the kernel chose, the address a client reached.
    static func local(of descriptor: Int32) -> SocketAddress? {
        var address = SocketAddress()
        let status = address.withUnsafeMutableSockAddr { getsockname(descriptor, $0, $1) }
        return status == 0 ? address : nil
    }

    /// This IP address with another port; other families unchanged.
    func withPort(_ port: UInt16) -> SocketAddress {
        if var address = ipv4 {
            address.sin_port = port.bigEndian
            return SocketAddress(address)
        }
        if var address = ipv6 {
            address.sin6_port = port.bigEndian
            return SocketAddress(address)
        }
        return self
    }
}
