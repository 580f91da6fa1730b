/// A hand-built TLS 1.2 ClientHello, for what `TLSTestClient` cannot offer: an OpenSSL built without zlib (as
/// Debian's) never offers compression, so a test that the server refuses to compress has to write the offer
/// itself. And the server's first reply, parsed just enough: the ServerHello's version, cipher suite and
/// compression method, or the alert that refused the hello.
enum RawTLSHello {
    /// What the server answered to the hello.
    enum Reply: Equatable, CustomStringConvertible {
        case serverHello(version: UInt16, cipherSuite: UInt16, compressionMethod: UInt8)
        case alert(level: UInt8, TLSAlert)
        /// A record of another content type, or a handshake message that is not a ServerHello.
        case unexpected(contentType: UInt8, firstByte: UInt8?)

        var description: String {
            switch self {
            case .serverHello(let version, let suite, let compression):
                "ServerHello(version 0x\(String(version, radix: 16)), cipher suite 0x\(String(suite, radix: 16)),"
                    + " compression \(compression))"
            case .alert(let level, let alert): "alert \(alert) at level \(level)"
            case .unexpected(let type, let byte): "record type \(type), first byte \(byte.map(String.init) ?? "none")"
            }
        }
    }

    /// Compression methods (RFC 3749): 0 is none, 1 is DEFLATE.
    static let nullCompression: UInt8 = 0
    static let deflate: UInt8 = 1

    /// A TLS 1.2 ClientHello offering the ECDHE AES-GCM suites (ECDSA and RSA), the usual groups and signature
    /// algorithms, and `compressionMethods` in that order; with SNI when `serverName` is set.
    static func clientHello(compressionMethods: [UInt8], serverName: String? = nil) -> [UInt8] {
        var extensions: [UInt8] = []
        if let serverName {
            let name = Array(serverName.utf8)
            let entry = [0] + uint16(name.count) + name
            extensions += tlsExtension(0x0000, uint16(entry.count) + entry)
        }
        let groups: [UInt8] = [0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]
        extensions += tlsExtension(0x000a, uint16(groups.count) + groups)
        extensions += tlsExtension(0x000b, [1, 0])
        let signatures: [UInt8] = [0x04, 0x03, 0x05, 0x03, 0x08, 0x04, 0x08, 0x05, 0x04, 0x01, 0x05, 0x01]
        extensions += tlsExtension(0x000d, uint16(signatures.count) + signatures)
        extensions += tlsExtension(0x0017, [])
        extensions += tlsExtension(0xff01, [0])

        let suites: [UInt8] = [0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30]
        var body: [UInt8] = [0x03, 0x03]
        body += (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        body += [0]
        body += uint16(suites.count) + suites
        body += [UInt8(compressionMethods.count)] + compressionMethods
        body += uint16(extensions.count) + extensions

        let handshake = [0x01] + uint24(body.count) + body
        return [0x16, 0x03, 0x01] + uint16(handshake.count) + handshake
    }

    /// Reads the server's first record from `client` and parses it.
    static func readReply(from client: PlainClient, timeout: Duration = .seconds(5)) throws -> Reply {
        let header = try client.read(exactly: 5, timeout: timeout)
        let length = Int(header[3]) << 8 | Int(header[4])
        let record = try client.read(exactly: length, timeout: timeout)
        switch header[0] {
        case 0x15 where record.count >= 2:
            return .alert(level: record[0], TLSAlert(code: record[1]))
        case 0x16 where record.first == 0x02 && record.count >= 4 + 2 + 32 + 1:
            var offset = 4
            let version = UInt16(record[offset]) << 8 | UInt16(record[offset + 1])
            offset += 2 + 32
            offset += 1 + Int(record[offset])
            guard record.count >= offset + 3 else { return .unexpected(contentType: 0x16, firstByte: 0x02) }
            let suite = UInt16(record[offset]) << 8 | UInt16(record[offset + 1])
            return .serverHello(version: version, cipherSuite: suite, compressionMethod: record[offset + 2])
        default:
            return .unexpected(contentType: header[0], firstByte: record.first)
        }
    }

    private static func tlsExtension(_ type: UInt16, _ data: [UInt8]) -> [UInt8] {
        uint16(Int(type)) + uint16(data.count) + data
    }

    private static func uint16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }
    private static func uint24(_ value: Int) -> [UInt8] { [UInt8(value >> 16 & 0xff)] + uint16(value & 0xffff) }
}
