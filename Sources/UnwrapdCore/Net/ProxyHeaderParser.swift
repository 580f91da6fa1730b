/// Validates the PROXY header (v1 or v2) a load balancer sends in clear text before the client's TLS ClientHello
/// (`--proxy-proxy`), so that unwrapd can pass it on to the backend verbatim.
///
/// `parse` is a pure function of the bytes received so far: call it again with everything received whenever more
/// arrives. It says `needMoreBytes` while the bytes are a valid beginning of a header, and rejects them as soon as they
/// cannot become one — a client speaking TLS or HTTP directly is refused on its first byte. `complete` gives the
/// header's length: the bytes after it belong to TLS.
///
/// No allocation, and no read past `received`: the parser indexes the buffer only through its (debug-checked)
/// subscripts and slices; v1 addresses are copied to a small stack buffer for inet_pton(3).
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
        guard let first = received.first else { return .needMoreBytes }
        switch first {
        case UInt8(ascii: "P"): return parseV1(received)
        case ProxyHeader.v2Signature.utf8Start.pointee: return parseV2(received)
        default: return .invalid(.notProxyProtocol)
        }
    }

    /// Whether the bytes at the start of `bytes` agree with `expected` as far as both go.
    static func startsCompatibly(_ bytes: UnsafeRawBufferPointer.SubSequence, with expected: StaticString) -> Bool {
        let text = UnsafeRawBufferPointer(start: expected.utf8Start, count: expected.utf8CodeUnitCount)
        return zip(bytes, text).allSatisfy { $0 == $1 }
    }
}
