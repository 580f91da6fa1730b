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
}
