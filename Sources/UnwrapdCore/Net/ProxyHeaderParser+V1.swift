import Glibc

extension ProxyHeaderParser {
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let lineFeed = UInt8(ascii: "\n")
    private static let space = UInt8(ascii: " ")
    /// `PROXY `
    private static let v1PrefixLength = 6

    /// A v1 line (spec §2.1): `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n` with canonical addresses of the announced
    /// family and decimal ports without leading zeros, or `PROXY UNKNOWN` followed by anything up to the CRLF; at most
    /// 107 bytes.
    static func parseV1(_ bytes: UnsafeRawBufferPointer) -> Result {
        guard startsCompatibly(bytes, with: "PROXY ") else { return .invalid(.notProxyProtocol) }
        let searched = range(bytes, 0, min(bytes.count, maximumV1Length))
        guard let end = firstIndex(of: lineFeed, in: searched) else {
            if let error = partialLineError(searched) { return .invalid(error) }
            return searched.count == maximumV1Length ? .invalid(.v1LineTooLong) : .needMoreBytes
        }
        // "PROXY " has no line feed, so the line feed comes after it and the CR check stays within the line.
        guard bytes[end - 1] == carriageReturn else { return .invalid(.v1BadLineEnding) }
        let fields = range(bytes, v1PrefixLength, end - 1)
        guard firstIndex(of: carriageReturn, in: fields) == nil else { return .invalid(.v1BadLineEnding) }
        switch parseFields(fields) {
        case .success(let source): return .complete(length: end + 1, source: source)
        case .failure(let error): return .invalid(error)
        }
    }

    /// Rejects the start of a line, before its CRLF has arrived, once it cannot become valid: a CR not followed by
    /// LF, a protocol other than the three, or a character that cannot appear in a TCP4/TCP6 line.
    private static func partialLineError(_ line: UnsafeRawBufferPointer) -> ProxyHeaderError? {
        // Without a line feed, a CR is acceptable only as the last byte received.
        var contentEnd = line.count
        if let carriageReturnIndex = firstIndex(of: carriageReturn, in: line) {
            guard carriageReturnIndex == line.count - 1 else { return .v1BadLineEnding }
            contentEnd = carriageReturnIndex
        }
        let fields = range(line, min(v1PrefixLength, contentEnd), contentEnd)
        let knownProtocol =
            startsCompatibly(fields, with: "TCP4 ") || startsCompatibly(fields, with: "TCP6 ")
            || startsCompatibly(fields, with: "UNKNOWN")
        guard knownProtocol else { return .v1UnknownProtocol }
        guard fields.count > 5, !startsCompatibly(fields, with: "UNKNOWN") else { return nil }
        return hasOnlyAddressCharacters(range(fields, 5, fields.count)) ? nil : .v1Malformed
    }

    /// The source address a v1 line announces, or why the line is invalid.
    private typealias FieldsResult = Swift.Result<SocketAddress?, ProxyHeaderError>

    /// The fields after `PROXY `, without the CRLF.
    private static func parseFields(_ fields: UnsafeRawBufferPointer) -> FieldsResult {
        if startsExactly(fields, with: "UNKNOWN") {
            // The receiver ignores whatever follows UNKNOWN up to the CRLF.
            return fields.count == 7 || fields[7] == space ? .success(nil) : .failure(.v1UnknownProtocol)
        }
        let family: Int32
        if startsExactly(fields, with: "TCP4 ") {
            family = AF_INET
        } else if startsExactly(fields, with: "TCP6 ") {
            family = AF_INET6
        } else {
            return .failure(.v1UnknownProtocol)
        }

        let addressesAndPorts = range(fields, 5, fields.count)
        guard hasOnlyAddressCharacters(addressesAndPorts),
            let (sourceText, afterSource) = splitAtSpace(addressesAndPorts),
            let (destinationText, afterDestination) = splitAtSpace(afterSource),
            let (sourcePortText, destinationPortText) = splitAtSpace(afterDestination),
            !destinationPortText.isEmpty, firstIndex(of: space, in: destinationPortText) == nil
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

    private static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        while index < bytes.count {
            if bytes[index] == byte { return index }
            index += 1
        }
        return nil
    }

    private static func startsExactly(_ bytes: UnsafeRawBufferPointer, with text: StaticString) -> Bool {
        bytes.count >= text.utf8CodeUnitCount && startsCompatibly(bytes, with: text)
    }

    /// The non-empty field before the first space, and what follows that space.
    private static func splitAtSpace(
        _ bytes: UnsafeRawBufferPointer
    ) -> (field: UnsafeRawBufferPointer, rest: UnsafeRawBufferPointer)? {
        guard let spaceIndex = firstIndex(of: space, in: bytes), spaceIndex > 0 else { return nil }
        return (range(bytes, 0, spaceIndex), range(bytes, spaceIndex + 1, bytes.count))
    }

    /// Whether the part of a TCP4/TCP6 line after the protocol holds only what addresses, ports and spaces are made
    /// of: hexadecimal digits, dots and colons. Checked on partial and complete lines alike, so that a line is refused
    /// for the same reason however it was split across reads.
    private static func hasOnlyAddressCharacters(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                UInt8(ascii: "A")...UInt8(ascii: "F"), UInt8(ascii: "."), UInt8(ascii: ":"), space:
                index += 1
            default:
                return false
            }
        }
        return true
    }

    /// inet_pton(3) of `text` (address characters only, so no NUL inside), copied with a terminating NUL to the stack.
    /// glibc's inet_pton accepts what the spec asks for: four decimal parts without leading zeros for IPv4, RFC 4291
    /// text for IPv6.
    private static func parseAddress(_ text: UnsafeRawBufferPointer, family: Int32, into address: inout in6_addr)
        -> Bool
    {
        let capacity = Int(INET6_ADDRSTRLEN)  // the longest address text and its NUL
        guard text.count < capacity else { return false }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { cString in
            let bytes = UnsafeMutableRawBufferPointer(cString)
            bytes.copyMemory(from: text)
            bytes[text.count] = 0
            return inet_pton(family, cString.baseAddress!, &address) == 1
        }
    }

    /// A decimal 0–65535 without leading zeros.
    private static func parsePort(_ text: UnsafeRawBufferPointer) -> UInt16? {
        guard (1...5).contains(text.count), text.count == 1 || text[0] != UInt8(ascii: "0") else { return nil }
        var value = 0
        var index = 0
        while index < text.count {
            let digit = text[index]
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
            index += 1
        }
        return value <= Int(UInt16.max) ? UInt16(value) : nil
    }

    private static func socketAddress(family: Int32, address: in6_addr, port: UInt16) -> SocketAddress {
        if family == AF_INET {
            var ipv4 = sockaddr_in()
            ipv4.sin_family = sa_family_t(AF_INET)
            ipv4.sin_port = port.bigEndian
            withUnsafeBytes(of: address) { octets in
                withUnsafeMutableBytes(of: &ipv4.sin_addr) { $0.copyMemory(from: range(octets, 0, 4)) }
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
