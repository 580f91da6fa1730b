import Testing

@testable import UnwrapdCore

/// `CertificateValidity`: what the log says about a served certificate's dates as the configuration loads.
@Suite struct CertificateValidityTests {
    static let day = 86_400
    /// 2026-12-07T00:00:00Z.
    static let now = 1_796_601_600
    static let validity = CertificateValidity(notBefore: now - 60 * day, notAfter: now + 3 * day)

    static func warning(at time: Int) -> String? {
        validity.warning(at: time, path: "/etc/site.pem", name: "a.example")
    }

    @Test func aCertificateValidForLongerThanTwoWeeksIsNotNamed() {
        let longLived = CertificateValidity(notBefore: Self.now - Self.day, notAfter: Self.now + 15 * Self.day)
        #expect(longLived.warning(at: Self.now, path: "/etc/site.pem", name: "a.example") == nil)
    }

    @Test func oneThatExpiresWithinTwoWeeksIsNamedWithTheDaysLeft() {
        #expect(
            Self.warning(at: Self.now)
                == "pem-file /etc/site.pem: the certificate (a.example) expires at 2026-12-10T00:00:00.000Z, in 3 days")
        #expect(Self.warning(at: Self.now + 2 * Self.day + 1)?.hasSuffix(", in 1 day") == true)
    }

    @Test func anExpiredOneSaysClientsRefuseIt() {
        #expect(
            Self.warning(at: Self.now + 3 * Self.day)
                == "pem-file /etc/site.pem: the certificate (a.example) expired at 2026-12-10T00:00:00.000Z; "
                + "clients refuse it")
    }

    @Test func oneNotValidYetSaysFromWhen() {
        #expect(
            Self.warning(at: Self.now - 61 * Self.day)
                == "pem-file /etc/site.pem: the certificate (a.example) is not valid before 2026-10-08T00:00:00.000Z; "
                + "clients refuse it")
    }
}
