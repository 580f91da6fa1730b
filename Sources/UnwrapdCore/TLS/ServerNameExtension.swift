/// The host name in a ClientHello's `server_name` extension (RFC 6066, section 3), read from the extension's raw
/// bytes as the ClientHello callback sees them, before OpenSSL has parsed it.
///
/// Accepts exactly what OpenSSL 3 accepts (`tls_parse_ctos_server_name`): a list holding one `host_name` entry,
/// with nothing after it, of at most 255 bytes and without a NUL byte. For anything else it returns `nil`, and
/// OpenSSL refuses the ClientHello itself (`decode_error` or `unrecognized_name`) when it parses the extension.
enum ServerNameExtension {
    /// The `host_name` name type.
    static let hostNameType: UInt8 = 0
    /// The longest host name OpenSSL accepts (`TLSEXT_MAXLEN_host_name`).
    static let maximumLength = 255

    /// The host name's bytes in `body` (the extension's bytes after its type and length), or `nil`: a view into
    /// `body`, not a copy.
    static func hostName(in body: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let bytes = body.bindMemory(to: UInt8.self)
        // ServerNameList: a 2-byte length that covers the rest exactly, then one entry:
        // name_type (1 byte), HostName (2-byte length, then the name, covering the rest of the list exactly).
        guard bytes.count >= 5, length(at: 0, in: bytes) == bytes.count - 2, bytes[2] == hostNameType,
            length(at: 3, in: bytes) == bytes.count - 5
        else { return nil }
        let name = UnsafeRawBufferPointer(rebasing: body[5...])
        guard name.count <= maximumLength, !name.contains(0) else { return nil }
        return name
    }

    /// The big-endian 16-bit length at `offset`.
    private static func length(at offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
    }
}
