import Glibc

extension ProxyHeader {
    /// Writes a PROXY v2 header (version 2, command PROXY) for `connection`:
    ///
    /// - family/transport `0x11` (TCP over IPv4) or `0x21` (TCP over IPv6) with the addresses and ports; a pair that
    ///   cannot be expressed (see `AddressPair`) is sent as `AF_UNSPEC` (`0x00`) with no address block;
    /// - then the TLVs, each only when it has a value: `PP2_TYPE_ALPN`, `PP2_TYPE_AUTHORITY`; `PP2_TYPE_SSL` when
    ///   `includingSSL` (hitch's `proxy-tlv`) with the client flags, the verify result and the sub-TLVs
    ///   `PP2_SUBTYPE_SSL_VERSION`, `PP2_SUBTYPE_SSL_CN`, `PP2_SUBTYPE_SSL_CIPHER`; and type 0xE0 with the client
    ///   certificate in PEM.
    ///
    /// `PP2_SUBTYPE_SSL_SIG_ALG`/`KEY_ALG` are not written: they describe unwrapd's own certificate, hitch does not
    /// send them, and no backend we know of reads them.
    ///
    /// Returns the length written, or `nil` when `buffer` is too small or a value exceeds the 16-bit lengths of the
    /// protocol (see `v2MaximumLength`).
    public static func writeV2(
        _ connection: ProxyV2Connection, includingSSL: Bool = true, into buffer: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var writer = ByteWriter(buffer)
        writer.append(v2Signature)
        writer.append(v2VersionAndProxyCommand)
        let addresses = AddressPair(source: connection.source, destination: connection.destination)
        writer.append(addresses.v2FamilyAndTransport)
        let length = writer.beginLength()
        appendAddresses(&writer, addresses)
        appendTLVs(&writer, connection, includingSSL: includingSSL)
        writer.endLength(startedAt: length)
        return writer.finish()
    }

    /// Source and destination addresses, then source and destination ports, all in network byte order.
    private static func appendAddresses(_ writer: inout ByteWriter, _ addresses: AddressPair) {
        switch addresses {
        case .ipv4(let source, let destination):
            writer.appendMemory(of: source.sin_addr)
            writer.appendMemory(of: destination.sin_addr)
            writer.appendMemory(of: source.sin_port)
            writer.appendMemory(of: destination.sin_port)
        case .ipv6(let source, let destination):
            writer.appendMemory(of: source.sin6_addr)
            writer.appendMemory(of: destination.sin6_addr)
            writer.appendMemory(of: source.sin6_port)
            writer.appendMemory(of: destination.sin6_port)
        case .unspecified:
            break
        }
    }

    private static func appendTLVs(_ writer: inout ByteWriter, _ connection: ProxyV2Connection, includingSSL: Bool) {
        appendTLV(&writer, .alpn, connection.alpn)
        appendTLV(&writer, .authority, connection.authority)
        if includingSSL {
            writer.append(TLVType.ssl.rawValue)
            let length = writer.beginLength()
            writer.append(connection.clientFlags.rawValue)
            writer.appendBigEndian(connection.verifyResult)
            appendTLV(&writer, .sslVersion, connection.tlsVersion)
            appendTLV(&writer, .sslCommonName, connection.clientCommonName)
            appendTLV(&writer, .sslCipher, connection.cipher)
            writer.endLength(startedAt: length)
        }
        appendTLV(&writer, .clientCertificate, connection.clientCertificatePEM)
    }

    /// Type, 16-bit big-endian length, value; nothing for a `nil` or empty value.
    private static func appendTLV(_ writer: inout ByteWriter, _ type: TLVType, _ value: UnsafeRawBufferPointer?) {
        guard let value, !value.isEmpty else { return }
        writer.append(type.rawValue)
        let length = writer.beginLength()
        writer.append(value)
        writer.endLength(startedAt: length)
    }
}

extension ProxyHeader.AddressPair {
    /// The v2 header's 14th byte: address family in the high nibble, transport (STREAM) in the low one.
    fileprivate var v2FamilyAndTransport: UInt8 {
        switch self {
        case .ipv4: 0x11
        case .ipv6: 0x21
        case .unspecified: 0x00
        }
    }
}
