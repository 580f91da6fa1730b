import Testing

@testable import UnwrapdCore

@Suite struct CertificateSelectorTests {
    @Test func exactNameBeatsWildcardWhateverTheOrder() {
        let selector = CertificateSelector(names: [["www.example.com"], ["*.example.com"]])
        #expect(selector.select("www.example.com") == 0)
        #expect(selector.select("api.example.com") == 1)
        let reversed = CertificateSelector(names: [["*.example.com"], ["www.example.com"]])
        #expect(reversed.select("www.example.com") == 1)
    }

    @Test func wildcardCoversExactlyOneLabel() {
        let selector = CertificateSelector(names: [["*.example.com"]])
        #expect(selector.select("a.example.com") == 0)
        #expect(selector.select("a.b.example.com") == nil)
        #expect(selector.select("example.com") == nil)
    }

    @Test func matchingIgnoresCaseAndATrailingDot() {
        let selector = CertificateSelector(names: [["WWW.Example.com"]])
        #expect(selector.select("www.EXAMPLE.com.") == 0)
    }

    @Test func unknownNameHasNoMatch() {
        #expect(CertificateSelector(names: [["a.test"]]).select("b.test") == nil)
    }

    @Test func theCertificateListedLastWinsADuplicatedNameAndIsReported() {
        let selector = CertificateSelector(names: [["shared.test", "one.test"], ["shared.test"]])
        #expect(selector.select("shared.test") == 1)
        #expect(selector.select("one.test") == 0)
        #expect(selector.duplicateNames == ["shared.test"])
    }

    /// Names longer than a small `String` (15 bytes) are found like short ones, by the bytes the client sent.
    @Test func longNamesAreFoundByTheirBytes() {
        let long = "a-server-name-of-forty-bytes.example.com"
        let selector = CertificateSelector(names: [
            ["short.test"], [long], ["*.wildcard-parent-of-some-length.example"],
        ])
        #expect(selector.select(long.uppercased()) == 1)
        #expect(selector.select("host.WILDCARD-parent-of-some-length.example.") == 2)
        #expect(selector.select(String(long.dropLast())) == nil, "a prefix of a name is not the name")
        #expect(selector.select(long + "m") == nil, "nor is a name the prefix of it")
    }

    /// The lookup is a binary search over the sorted names: every one of many is found, and names between them
    /// are not.
    @Test func everyOneOfManyNamesIsFoundAndNothingBetween() {
        let names = (0..<1_000).map { "host-\($0 * 2).example.test" }
        let selector = CertificateSelector(names: names.map { [$0] })
        for (index, name) in names.enumerated() { #expect(selector.select(name) == index, "\(name)") }
        for odd in stride(from: 1, to: 2_000, by: 2) { #expect(selector.select("host-\(odd).example.test") == nil) }
        #expect(CertificateSelector(names: []).select("any.test") == nil)
    }

    /// Only ASCII letters are folded: `[` (0x5B) is not `{` (0x7B), and bytes beyond ASCII compare as they are.
    @Test func onlyASCIILettersAreFolded() {
        let selector = CertificateSelector(names: [["{x}.test"], ["b\u{00FC}cher.test"]])
        #expect(selector.select("[x].test") == nil)
        #expect(selector.select("{X}.TEST") == 0)
        #expect(selector.select("B\u{00FC}CHER.test") == 1)
    }
}

extension CertificateSelector {
    /// `select` for a name given as a `String`, as a client would send its UTF-8 bytes.
    fileprivate func select(_ name: String) -> Int? {
        var name = name
        return name.withUTF8 { select(UnsafeRawBufferPointer($0)) }
    }
}
