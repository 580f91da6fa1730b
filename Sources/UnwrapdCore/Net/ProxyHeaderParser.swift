/// Validates the PROXY header (v1 or v2) a load balancer sends in clear text before the client's TLS ClientHello
/// (`--proxy-proxy`), so that unwrapd can pass it on to the backend verbatim.
///
/// `parse` is a pure function of the bytes received so far: call it again with everything received whenever more
/// arrives. It says `needMoreBytes` while the bytes are a valid beginning of a header, and rejects them as soon as they
/// cannot become one — a client speaking TLS or HTTP directly is refused on its first byte. `complete` gives the
/// header's length: the bytes after it belong to TLS.
///
/// No allocation, in release and debug builds alike: the parser walks the buffer with index loops over
/// `UnsafeRawBufferPointer` (the generic `Collection` algorithms allocate per element when unoptimised), and v1
/// addresses are copied to a stack buffer for inet_pton(3); an LD_PRELOAD malloc counter saw no allocation. No read
/// past `received`: every access goes through the buffer's subscript, which debug builds bounds-check.
public enum ProxyHeaderParser {
    /// The longest v1 line, CRLF included.
    public static let maximumV1Length = ProxyHeader.v1MaximumLength
    /// The longest v2 header accepted: the 16-byte fixed part, the largest address block (UNIX, 216 bytes) and 4 KB of
    /// TLVs — room for a load balancer's SSL TLVs and a PEM client certificate (`proxy-client-cert` of a hitch in
    /// front) while bounding what a client can make unwrapd buffer before its handshake.
    public static let maximumV2Length = ProxyHeader.v2FixedLength + 216 + 4096
    /// The most bytes `parse` needs to see to decide: a buffer this large always reaches `complete` or `invalid`.
    public static let maximumLength = max(maximumV1Length, maximumV2Length)

    /// What the bytes received so far are.
    public enum Result: Equatable {
        /// A valid beginning of a header; call again when more bytes have arrived.
        case needMoreBytes
        /// A valid header of `length` bytes. `source` is the client address it announces (`TCP4`/`TCP6`, or the v2
        /// PROXY command over IPv4/IPv6), `nil` for `UNKNOWN`, LOCAL, UNSPEC and UNIX.
        case complete(length: Int, source: SocketAddress?)
        /// Not a header, or not one unwrapd accepts.
        case invalid(ProxyHeaderError)
    }

    public static func parse(_ received: UnsafeRawBufferPointer) -> Result {
        guard received.count > 0 else { return .needMoreBytes }
        switch received[0] {
        case UInt8(ascii: "P"): return parseV1(received)
        case ProxyHeader.v2Signature.utf8Start.pointee: return parseV2(received)
        default: return .invalid(.notProxyProtocol)
        }
    }

    /// Whether `bytes` and `expected` agree as far as both go.
    static func startsCompatibly(_ bytes: UnsafeRawBufferPointer, with expected: StaticString) -> Bool {
        let count = min(bytes.count, expected.utf8CodeUnitCount)
        var index = 0
        while index < count && bytes[index] == expected.utf8Start[index] { index += 1 }
        return index == count
    }

    /// The bytes of `bytes` from `start` up to `end`, as a buffer of their own (indexed from 0).
    static func range(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }
}
