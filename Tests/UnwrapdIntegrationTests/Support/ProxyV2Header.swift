import Glibc

/// A PROXY protocol version 2 header as a backend receives it (HAProxy's proxy-protocol.txt §2.2), decoded by the
/// kit on its own — not with the daemon's code — so tests can check what the daemon writes field by field.
///
/// `parse` takes the bytes a backend received (header first, then whatever follows) and decodes the fixed part,
/// the TCP/IPv4 or TCP/IPv6 address block, and the TLVs; `ssl` decodes a `PP2_TYPE_SSL` TLV with its sub-TLVs.
struct ProxyV2Header: Sendable, Equatable {
    /// The 12-byte signature every v2 header starts with.
    static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    /// TLV types (§2.2.1–2.2.7).
    enum TLVType {
        static let alpn: UInt8 = 0x01
        static let authority: UInt8 = 0x02
        static let ssl: UInt8 = 0x20
        static let sslVersion: UInt8 = 0x21
        static let sslCommonName: UInt8 = 0x22
        static let sslCipher: UInt8 = 0x23
    }

    /// The `client` bits of `PP2_TYPE_SSL`.
    enum ClientFlag {
        static let ssl: UInt8 = 0x01
        static let certificateInConnection: UInt8 = 0x02
        static let certificateInSession: UInt8 = 0x04
    }

    struct TLV: Sendable, Equatable, CustomStringConvertible {
        let type: UInt8
        let value: [UInt8]
        var text: String { String(decoding: value, as: UTF8.self) }
        var description: String { "0x\(String(type, radix: 16)): \(text.debugDescription)" }
    }

    /// `PP2_TYPE_SSL`: client flags, verification result, and its sub-TLVs.
    struct SSL: Sendable, Equatable {
        let client: UInt8
        let verify: UInt32
        let subTLVs: [TLV]
        /// The value of the first sub-TLV of `type` as text, nil if absent.
        func text(_ type: UInt8) -> String? { subTLVs.first { $0.type == type }?.text }
    }

    /// The high nibble of byte 13: 2.
    let version: UInt8
    /// The low nibble of byte 13: 0 LOCAL, 1 PROXY.
    let command: UInt8
    /// Byte 14: 0x11 TCP over IPv4, 0x21 TCP over IPv6, 0x00 UNSPEC, ...
    let familyAndTransport: UInt8
    /// Addresses as `inet_ntop` writes them, and ports; empty/0 for families without them.
    let sourceAddress: String
    let destinationAddress: String
    let sourcePort: UInt16
    let destinationPort: UInt16
    let tlvs: [TLV]
    /// The whole header: 16 bytes and the length field's value.
    let length: Int

    /// The TLVs of `type`, in order.
    func tlvs(_ type: UInt8) -> [TLV] { tlvs.filter { $0.type == type } }
    /// The value of the first TLV of `type` as text, nil if absent.
    func text(_ type: UInt8) -> String? { tlvs(type).first?.text }

    /// The decoded `PP2_TYPE_SSL` TLV, nil when absent; throws when it is malformed.
    func ssl() throws(ProxyHeaderDecodingError) -> SSL? {
        guard let tlv = tlvs(TLVType.ssl).first else { return nil }
        guard tlv.value.count >= 5 else { throw .malformed("SSL TLV of \(tlv.value.count) bytes, less than 5") }
        let verify = tlv.value[1..<5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return SSL(client: tlv.value[0], verify: verify, subTLVs: try Self.decodeTLVs(Array(tlv.value[5...])))
    }

    /// The length of the header at the start of `bytes` (16 + its length field), nil while fewer than 16 bytes.
    static func headerLength(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 16 else { return nil }
        return 16 + Int(bytes[14]) << 8 + Int(bytes[15])
    }

    /// Decodes the header at the start of `bytes` (bytes after it are ignored).
    static func parse(_ bytes: [UInt8]) throws(ProxyHeaderDecodingError) -> ProxyV2Header {
        guard bytes.count >= 16 else { throw .malformed("\(bytes.count) bytes, fewer than the 16 of the fixed part") }
        guard Array(bytes[0..<12]) == signature else {
            throw .malformed("no v2 signature: \(Array(bytes.prefix(12)))")
        }
        let length = headerLength(in: bytes)!
        guard bytes.count >= length else { throw .malformed("length \(length), only \(bytes.count) bytes received") }
        let body = Array(bytes[16..<length])
        let addressLength: Int
        var source = ""
        var destination = ""
        var sourcePort: UInt16 = 0
        var destinationPort: UInt16 = 0
        switch bytes[13] {
        case 0x11:
            addressLength = 12
            guard body.count >= addressLength else { throw .malformed("IPv4 block truncated: \(body.count) bytes") }
            source = text(AF_INET, body[0..<4])
            destination = text(AF_INET, body[4..<8])
            sourcePort = UInt16(body[8]) << 8 | UInt16(body[9])
            destinationPort = UInt16(body[10]) << 8 | UInt16(body[11])
        case 0x21:
            addressLength = 36
            guard body.count >= addressLength else { throw .malformed("IPv6 block truncated: \(body.count) bytes") }
            source = text(AF_INET6, body[0..<16])
            destination = text(AF_INET6, body[16..<32])
            sourcePort = UInt16(body[32]) << 8 | UInt16(body[33])
            destinationPort = UInt16(body[34]) << 8 | UInt16(body[35])
        case 0x00:
            addressLength = 0
        default:
            throw .malformed("family/transport 0x\(String(bytes[13], radix: 16)) not decoded by the kit")
        }
        return ProxyV2Header(
            version: bytes[12] >> 4, command: bytes[12] & 0x0F, familyAndTransport: bytes[13],
            sourceAddress: source, destinationAddress: destination, sourcePort: sourcePort,
            destinationPort: destinationPort, tlvs: try decodeTLVs(Array(body[addressLength...])), length: length)
    }

    /// Type, 16-bit big-endian length, value; the TLVs must fill `bytes` exactly.
    static func decodeTLVs(_ bytes: [UInt8]) throws(ProxyHeaderDecodingError) -> [TLV] {
        var tlvs: [TLV] = []
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 3 else { throw .malformed("TLV header truncated at offset \(offset)") }
            let length = Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
            guard bytes.count - offset - 3 >= length else {
                throw .malformed("TLV 0x\(String(bytes[offset], radix: 16)) of \(length) bytes overruns the header")
            }
            tlvs.append(TLV(type: bytes[offset], value: Array(bytes[(offset + 3)..<(offset + 3 + length)])))
            offset += 3 + length
        }
        return tlvs
    }

    private static func text(_ family: Int32, _ address: ArraySlice<UInt8>) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let bytes = Array(address)
        _ = inet_ntop(family, bytes, &buffer, socklen_t(buffer.count))
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// The bytes are not a PROXY header the kit can decode.
enum ProxyHeaderDecodingError: Error, CustomStringConvertible {
    case malformed(String)

    var description: String {
        switch self {
        case .malformed(let why): "not a decodable PROXY v2 header: \(why)"
        }
    }
}
