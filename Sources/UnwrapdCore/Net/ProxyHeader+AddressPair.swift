import Glibc

extension ProxyHeader {
    /// The source (client) and destination (frontend) addresses of a connection as a PROXY header reports them.
    ///
    /// An IPv4 client accepted on a dual-stack IPv6 socket appears as IPv4-mapped IPv6 addresses; such a pair is
    /// reported as IPv4 (`TCP4`, `AF_INET`), which is what the connection is on the wire. This covers one side IPv4
    /// and the other mapped, and both sides mapped. Two IPv6 addresses stay IPv6; any other combination, and
    /// non-IP families, cannot be expressed and is reported as unknown (`UNKNOWN`, `AF_UNSPEC`).
    enum AddressPair {
        case ipv4(source: sockaddr_in, destination: sockaddr_in)
        case ipv6(source: sockaddr_in6, destination: sockaddr_in6)
        case unspecified

        init(source: SocketAddress, destination: SocketAddress) {
            if let source4 = source.unmappedIPv4, let destination4 = destination.unmappedIPv4 {
                self = .ipv4(source: source4, destination: destination4)
            } else if let source6 = source.ipv6, let destination6 = destination.ipv6 {
                self = .ipv6(source: source6, destination: destination6)
            } else {
                self = .unspecified
            }
        }
    }
}
