import Testing

@testable import UnwrapdCore

/// The `server_name` extension as the ClientHello callback reads it: exactly what OpenSSL accepts, nothing else.
@Suite struct ServerNameExtensionTests {
    /// The extension's body for `entries` (name type, name bytes), with list length `listLength` (default: right).
    private func body(_ entries: [(type: UInt8, name: [UInt8])], listLength: Int? = nil) -> [UInt8] {
        var list: [UInt8] = []
        for entry in entries {
            list += [entry.type, UInt8(entry.name.count >> 8), UInt8(entry.name.count & 0xff)] + entry.name
        }
        let length = listLength ?? list.count
        return [UInt8(length >> 8), UInt8(length & 0xff)] + list
    }

    private func hostName(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { body in
            ServerNameExtension.hostName(in: body).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    @Test func readsTheOneHostName() {
        #expect(hostName(body([(0, Array("www.example.com".utf8))])) == "www.example.com")
        #expect(hostName(body([(0, Array("WWW.Example.COM.".utf8))])) == "WWW.Example.COM.")
    }

    @Test func aNameOf255BytesIsTheLongest() {
        let longest = [UInt8](repeating: UInt8(ascii: "a"), count: 255)
        #expect(hostName(body([(0, longest)])) == String(repeating: "a", count: 255))
        #expect(hostName(body([(0, longest + [UInt8(ascii: "a")])])) == nil)
    }

    @Test func refusesWhatOpenSSLRefuses() {
        let name = Array("a.example".utf8)
        #expect(hostName([]) == nil, "empty extension")
        #expect(hostName(body([])) == nil, "empty list")
        #expect(hostName(body([(1, name)])) == nil, "not a host_name")
        #expect(hostName(body([(0, name), (0, name)])) == nil, "two entries")
        #expect(hostName(body([(0, Array("a\0b".utf8))])) == nil, "NUL in the name")
        #expect(hostName(body([(0, name)], listLength: name.count + 4)) == nil, "list longer than the extension")
        #expect(hostName(body([(0, name)], listLength: name.count + 2)) == nil, "list shorter than the extension")
        #expect(hostName(body([(0, name)]) + [0]) == nil, "a byte after the list")
        #expect(hostName(Array(body([(0, name)]).dropLast())) == nil, "name cut short")
    }
}
