import Glibc

@testable import UnwrapdCore

/// Builds a socket address from a numeric host without getaddrinfo, so encoder tests do not depend on the resolver.
func testAddress(_ host: String, _ port: UInt16, scope: UInt32 = 0) -> SocketAddress {
    if host.contains(":") {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        address.sin6_scope_id = scope
        precondition(inet_pton(AF_INET6, host, &address.sin6_addr) == 1, "not an IPv6 literal: \(host)")
        return SocketAddress(address)
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    precondition(inet_pton(AF_INET, host, &address.sin_addr) == 1, "not an IPv4 literal: \(host)")
    return SocketAddress(address)
}
