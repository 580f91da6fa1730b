/// Why bytes received before a client's TLS handshake are not an acceptable PROXY header (`--proxy-proxy`).
public enum ProxyHeaderError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Starts with neither `PROXY ` nor the v2 signature: a client that speaks TLS, HTTP or anything else directly.
    case notProxyProtocol
    /// No CRLF within the first 107 bytes of a v1 line.
    case v1LineTooLong
    /// A CR or LF in a v1 line other than its final CRLF.
    case v1BadLineEnding
    /// A v1 protocol other than `TCP4`, `TCP6` and `UNKNOWN`.
    case v1UnknownProtocol
    /// A v1 `TCP4`/`TCP6` line without exactly four fields separated by single spaces.
    case v1Malformed
    /// A v1 address that is not a canonical address of the announced family.
    case v1InvalidAddress
    /// A v1 port that is not a decimal 0–65535 without leading zeros.
    case v1InvalidPort
    /// A v2 version other than 2.
    case v2UnsupportedVersion
    /// A v2 command other than LOCAL and PROXY.
    case v2UnknownCommand
    /// A v2 family and transport other than UNSPEC and a stream over IPv4, IPv6 or UNIX.
    case v2UnsupportedFamily
    /// A v2 length too short for the addresses of the announced family.
    case v2AddressesTruncated
    /// A v2 header longer than `ProxyHeaderParser.maximumV2Length`.
    case v2TooLong
    /// v2 TLVs that do not exactly fill the rest of the header.
    case v2MalformedTLV

    public var description: String { String { $0.append(self) } }
}

extension LogLine {
    /// Appends why the bytes are not an acceptable PROXY header.
    mutating func append(_ rejection: ProxyHeaderError) {
        switch rejection {
        case .notProxyProtocol: append("not a PROXY protocol header")
        case .v1LineTooLong:
            append("PROXY v1 line without CRLF in its first ")
            append(ProxyHeader.v1MaximumLength)
            append(" bytes")
        case .v1BadLineEnding: append("PROXY v1 line with a CR or LF outside its final CRLF")
        case .v1UnknownProtocol: append("PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN")
        case .v1Malformed: append("PROXY v1 line is not \"PROXY TCP4|TCP6 SRC DST SPORT DPORT\" with single spaces")
        case .v1InvalidAddress: append("PROXY v1 address is not a valid address of the announced family")
        case .v1InvalidPort: append("PROXY v1 port is not a number from 0 to 65535 without leading zeros")
        case .v2UnsupportedVersion: append("PROXY v2 header with a version other than 2")
        case .v2UnknownCommand: append("PROXY v2 command is neither LOCAL nor PROXY")
        case .v2UnsupportedFamily: append("PROXY v2 family/transport is not UNSPEC or a stream over IPv4, IPv6 or UNIX")
        case .v2AddressesTruncated: append("PROXY v2 length is too short for the announced addresses")
        case .v2TooLong:
            append("PROXY v2 header longer than ")
            append(ProxyHeaderParser.maximumV2Length)
            append(" bytes")
        case .v2MalformedTLV: append("PROXY v2 TLVs do not fill the header exactly")
        }
    }
}
