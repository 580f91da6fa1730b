/// The headers unwrapd can send a backend before the client's decrypted bytes (design §3): PROXY protocol v1 and v2
/// (HAProxy's proxy-protocol.txt) and stud's `--write-ip`.
///
/// Each encoder writes into a caller-provided buffer and returns the number of bytes written, or `nil` when the header
/// does not fit (nothing is ever written past the buffer's end). They run once per connection on the hot path and do
/// not allocate: see `ByteWriter`, and the inputs are `SocketAddress` values and raw byte views.
public enum ProxyHeader {
    /// The longest PROXY v1 line, CRLF included (the spec's worst case, `PROXY UNKNOWN` followed by IPv6-length
    /// fields). `writeV1` writes at most 104 bytes (`PROXY TCP6` with two full-length IPv6 addresses).
    public static let v1MaximumLength = 107
    /// The longest PROXY v2 header: the 16-byte fixed part and a 16-bit length of addresses and TLVs. Without the
    /// client certificate a header stays below 1 KB in practice (SNI and ALPN are bounded at 255 bytes each).
    public static let v2MaximumLength = v2FixedLength + Int(UInt16.max)
    /// The longest `--write-ip` header: the family octet and an IPv6 address.
    public static let clientIPMaximumLength = 1 + 16

    /// The v2 signature, version/command, family/transport and length.
    static let v2FixedLength = 16
    /// The 12 bytes every v2 header starts with (`\r\n\r\n\0\r\nQUIT\n`).
    static let v2Signature: StaticString = "\r\n\r\n\u{0}\r\nQUIT\n"
    /// Version 2 in the high nibble; the command (LOCAL 0, PROXY 1) in the low one.
    static let v2VersionAndProxyCommand: UInt8 = 0x21

    /// v2 TLV types unwrapd writes (spec §2.2; 0xE0 is the first custom type, hitch's client certificate).
    enum TLVType: UInt8 {
        case alpn = 0x01
        case authority = 0x02
        case ssl = 0x20
        case sslVersion = 0x21
        case sslCommonName = 0x22
        case sslCipher = 0x23
        case clientCertificate = 0xE0
    }
}
