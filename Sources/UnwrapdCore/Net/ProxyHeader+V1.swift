import Glibc

extension ProxyHeader {
    /// Writes the PROXY v1 line `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n`, or `PROXY UNKNOWN\r\n` when the pair cannot
    /// be expressed (see `AddressPair`). `source` is the client, `destination` the frontend address it connected to.
    ///
    /// Returns the length written (at most 104 bytes), or `nil` when `buffer` is too small.
    public static func writeV1(
        source: SocketAddress, destination: SocketAddress, into buffer: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var writer = ByteWriter(buffer)
        switch AddressPair(source: source, destination: destination) {
        case .ipv4(let source, let destination):
            writer.append("PROXY TCP4 ")
            withUnsafeBytes(of: source.sin_addr) { writer.appendNumericHost(family: AF_INET, address: $0) }
            writer.append(" ")
            withUnsafeBytes(of: destination.sin_addr) { writer.appendNumericHost(family: AF_INET, address: $0) }
            appendV1Ports(&writer, source: source.sin_port, destination: destination.sin_port)
        case .ipv6(let source, let destination):
            writer.append("PROXY TCP6 ")
            withUnsafeBytes(of: source.sin6_addr) { writer.appendNumericHost(family: AF_INET6, address: $0) }
            writer.append(" ")
            withUnsafeBytes(of: destination.sin6_addr) { writer.appendNumericHost(family: AF_INET6, address: $0) }
            appendV1Ports(&writer, source: source.sin6_port, destination: destination.sin6_port)
        case .unspecified:
            writer.append("PROXY UNKNOWN\r\n")
        }
        return writer.finish()
    }

    /// ` SPORT DPORT\r\n` from ports in network byte order.
    private static func appendV1Ports(_ writer: inout ByteWriter, source: UInt16, destination: UInt16) {
        writer.append(" ")
        writer.appendDecimal(UInt64(UInt16(bigEndian: source)))
        writer.append(" ")
        writer.appendDecimal(UInt64(UInt16(bigEndian: destination)))
        writer.append("\r\n")
    }
}
