import Glibc

extension ProxyHeaderParser {
    /// A v2 header: the signature, version 2, command LOCAL or PROXY, a known family/transport, a length within
    /// `maximumV2Length`, the address block the family needs (for PROXY), then well-formed TLVs. TLV contents are not
    /// interpreted (a CRC32C TLV is left for the backend to check).
    static func parseV2(_ bytes: UnsafeRawBufferPointer) -> Result {
        guard startsCompatibly(bytes, with: ProxyHeader.v2Signature) else { return .invalid(.notProxyProtocol) }
        // After the 12-byte signature: version and command, family and transport, 16-bit length.
        if bytes.count > 12 {
            let versionAndCommand = bytes[12]
            guard versionAndCommand >> 4 == 2 else { return .invalid(.v2UnsupportedVersion) }
            guard versionAndCommand & 0x0F <= 1 else { return .invalid(.v2UnknownCommand) }
        }
        var addressLength = 0
        if bytes.count > 13 {
            guard let length = Self.addressLength(familyAndTransport: bytes[13]) else {
                return .invalid(.v2UnsupportedFamily)
            }
            addressLength = length
        }
        guard bytes.count >= ProxyHeader.v2FixedLength else { return .needMoreBytes }

        let isProxyCommand = bytes[12] & 0x0F == 1
        let length = ProxyHeader.v2FixedLength + (Int(bytes[14]) << 8 | Int(bytes[15]))
        guard length <= maximumV2Length else { return .invalid(.v2TooLong) }
        // LOCAL (a load balancer's health check) carries no meaningful addresses; only PROXY must hold them.
        guard !isProxyCommand || length - ProxyHeader.v2FixedLength >= addressLength else {
            return .invalid(.v2AddressesTruncated)
        }
        guard bytes.count >= length else { return .needMoreBytes }

        guard isProxyCommand else { return .complete(length: length, source: nil) }
        let addressesEnd = ProxyHeader.v2FixedLength + addressLength
        guard tlvsAreWellFormed(range(bytes, addressesEnd, length)) else { return .invalid(.v2MalformedTLV) }
        let addresses = range(bytes, ProxyHeader.v2FixedLength, addressesEnd)
        return .complete(length: length, source: sourceAddress(familyAndTransport: bytes[13], addresses))
    }

    /// The size of the address block for a family/transport byte; `nil` for what unwrapd does not accept: datagram
    /// transports (a TLS client is a stream) and values the spec leaves unassigned.
    private static func addressLength(familyAndTransport: UInt8) -> Int? {
        switch familyAndTransport {
        case 0x00: 0  // UNSPEC
        case 0x11: 12  // TCP over IPv4: 2 × 4 + 2 × 2
        case 0x21: 36  // TCP over IPv6: 2 × 16 + 2 × 2
        case 0x31: 216  // UNIX stream: 2 × 108
        default: nil
        }
    }

    /// Each TLV is a type, a 16-bit big-endian length and that many bytes, and together they end exactly at the end
    /// of the header.
    private static func tlvsAreWellFormed(_ tlvs: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < tlvs.count {
            guard tlvs.count - offset >= 3 else { return false }
            let valueLength = Int(tlvs[offset + 1]) << 8 | Int(tlvs[offset + 2])
            guard tlvs.count - offset - 3 >= valueLength else { return false }
            offset += 3 + valueLength
        }
        return true
    }

    /// The source address and port of an IPv4 or IPv6 address block.
    private static func sourceAddress(familyAndTransport: UInt8, _ block: UnsafeRawBufferPointer) -> SocketAddress? {
        switch familyAndTransport {
        case 0x11:
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyMemory(from: range(block, 0, 4)) }
            withUnsafeMutableBytes(of: &address.sin_port) { $0.copyMemory(from: range(block, 8, 10)) }
            return SocketAddress(address)
        case 0x21:
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyMemory(from: range(block, 0, 16)) }
            withUnsafeMutableBytes(of: &address.sin6_port) { $0.copyMemory(from: range(block, 32, 34)) }
            return SocketAddress(address)
        default:
            return nil
        }
    }
}
