import Glibc

extension ProxyHeaderParser {
    private typealias Bytes = UnsafeRawBufferPointer.SubSequence

    private static let carriageReturn = UInt8(ascii: "\r")
    private static let lineFeed = UInt8(ascii: "\n")
    private static let space = UInt8(ascii: " ")

    /// A v1 line (spec §2.1): `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n` with canonical addresses of the announced
    /// family and decimal ports without leading zeros, or `PROXY UNKNOWN` followed by anything up to the CRLF; at most
    /// 107 bytes.
    static func parseV1(_ bytes: UnsafeRawBufferPointer) -> Result {
        guard startsCompatibly(bytes[...], with: "PROXY ") else { return .invalid(.notProxyProtocol) }
        let searched = bytes[..<min(bytes.count, maximumV1Length)]
        guard let end = searched.firstIndex(of: lineFeed) else {
            if let error = partialLineError(searched) { return .invalid(error) }
            return searched.count == maximumV1Length ? .invalid(.v1LineTooLong) : .needMoreBytes
        }
        // "PROXY " has no line feed, so the line feed comes after it and the CR check stays within the line.
        let prefixLength = 6
        guard bytes[end - 1] == carriageReturn else { return .invalid(.v1BadLineEnding) }
        let fields = bytes[prefixLength..<(end - 1)]
        guard !fields.contains(carriageReturn) else { return .invalid(.v1BadLineEnding) }
        switch parseFields(fields) {
        case .success(let source): return .complete(length: end + 1, source: source)
        case .failure(let error): return .invalid(error)
        }
    }

    /// Rejects the start of a line, before its CRLF has arrived, once it cannot become valid: a CR not followed by
    /// LF, a protocol other than the three, or a character that cannot appear in a TCP4/TCP6 line.
    private static func partialLineError(_ line: Bytes) -> ProxyHeaderError? {
        if let carriageReturnIndex = line.firstIndex(of: carriageReturn), carriageReturnIndex < line.endIndex - 1 {
            return .v1BadLineEnding
        }
        let fields = line.dropFirst(6)
        let knownProtocol =
            startsCompatibly(fields, with: "TCP4 ") || startsCompatibly(fields, with: "TCP6 ")
            || startsCompatibly(fields, with: "UNKNOWN")
        guard knownProtocol else { return .v1UnknownProtocol }
        guard fields.count > 5, !startsCompatibly(fields, with: "UNKNOWN") else { return nil }
        return hasOnlyAddressCharacters(fields.dropFirst(5).prefix { $0 != carriageReturn }) ? nil : .v1Malformed
    }

    /// Whether the part of a TCP4/TCP6 line after the protocol holds only what addresses, ports and single spaces are
    /// made of. Checked on partial and complete lines alike, so that a line is refused for the same reason however it
    /// was split across reads.
    private static func hasOnlyAddressCharacters(_ addressesAndPorts: Bytes) -> Bool {
        addressesAndPorts.allSatisfy { isAddressCharacter($0) || $0 == space }
    }

    /// The fields after `PROXY `, without the CRLF; the source address on success.
    private static func parseFields(_ fields: Bytes) -> Swift.Result<SocketAddress?, ProxyHeaderError> {
        if startsExactly(fields, with: "UNKNOWN") {
            // The receiver ignores whatever follows UNKNOWN up to the CRLF.
            let rest = fields.dropFirst(7)
            return rest.isEmpty || rest.first == space ? .success(nil) : .failure(.v1UnknownProtocol)
        }
        let family: Int32
        if startsExactly(fields, with: "TCP4 ") {
            family = AF_INET
        } else if startsExactly(fields, with: "TCP6 ") {
            family = AF_INET6
        } else {
            return .failure(.v1UnknownProtocol)
        }

        guard hasOnlyAddressCharacters(fields.dropFirst(5)),
            let (sourceText, rest1) = splitAtSpace(fields.dropFirst(5)),
            let (destinationText, rest2) = splitAtSpace(rest1),
            let (sourcePortText, destinationPortText) = splitAtSpace(rest2),
            !destinationPortText.isEmpty, !destinationPortText.contains(space)
        else { return .failure(.v1Malformed) }

        // Big enough for either family; inet_pton fills the first 4 bytes for AF_INET.
        var source = in6_addr()
        var destination = in6_addr()
        guard parseAddress(sourceText, family: family, into: &source),
            parseAddress(destinationText, family: family, into: &destination)
        else { return .failure(.v1InvalidAddress) }
        guard let sourcePort = parsePort(sourcePortText), parsePort(destinationPortText) != nil else {
            return .failure(.v1InvalidPort)
        }
        return .success(socketAddress(family: family, address: source, port: sourcePort))
    }

    private static func startsExactly(_ bytes: Bytes, with text: StaticString) -> Bool {
        bytes.count >= text.utf8CodeUnitCount && startsCompatibly(bytes, with: text)
    }

    /// The non-empty field before the first space, and what follows that space.
    private static func splitAtSpace(_ bytes: Bytes) -> (field: Bytes, rest: Bytes)? {
        guard let spaceIndex = bytes.firstIndex(of: space), spaceIndex > bytes.startIndex else { return nil }
        return (bytes[..<spaceIndex], bytes[(spaceIndex + 1)...])
    }

    /// Hexadecimal digits, dots and colons: everything a canonical IPv4 or IPv6 address is made of.
    private static func isAddressCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
            UInt8(ascii: "A")...UInt8(ascii: "F"), UInt8(ascii: "."), UInt8(ascii: ":"):
            true
        default:
            false
        }
    }

    /// inet_pton(3) of `text` (address characters only, so no NUL inside), copied with a terminating NUL to the stack.
    /// glibc's inet_pton accepts what the spec asks for: four decimal parts without leading zeros for IPv4, RFC 4291
    /// text for IPv6.
    private static func parseAddress(_ text: Bytes, family: Int32, into address: inout in6_addr) -> Bool {
        let capacity = Int(INET6_ADDRSTRLEN)  // the longest address text and its NUL
        guard text.count < capacity else { return false }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { cString in
            let bytes = UnsafeMutableRawBufferPointer(cString)
            bytes.copyBytes(from: text)
            bytes[text.count] = 0
            return inet_pton(family, cString.baseAddress!, &address) == 1
        }
    }

    /// A decimal 0–65535 without leading zeros.
    private static func parsePort(_ text: Bytes) -> UInt16? {
        guard (1...5).contains(text.count), text.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            text.count == 1 || text.first != UInt8(ascii: "0")
        else { return nil }
        let value = text.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        return value <= Int(UInt16.max) ? UInt16(value) : nil
    }

    private static func socketAddress(family: Int32, address: in6_addr, port: UInt16) -> SocketAddress {
        if family == AF_INET {
            var ipv4 = sockaddr_in()
            ipv4.sin_family = sa_family_t(AF_INET)
            ipv4.sin_port = port.bigEndian
            withUnsafeBytes(of: address) { octets in
                withUnsafeMutableBytes(of: &ipv4.sin_addr) { $0.copyBytes(from: octets[..<4]) }
            }
            return SocketAddress(ipv4)
        }
        var ipv6 = sockaddr_in6()
        ipv6.sin6_family = sa_family_t(AF_INET6)
        ipv6.sin6_port = port.bigEndian
        ipv6.sin6_addr = address
        return SocketAddress(ipv6)
    }
}
