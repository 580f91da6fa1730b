import Glibc
import Testing

@testable import UnwrapdCore

@Suite struct SettingValueTests {
    @Test(arguments: ["on", "ON", "yes", "Y", "true", "True", "t"])
    func trueWords(_ word: String) throws {
        #expect(try SettingValue.boolean(word) == true)
    }

    @Test(arguments: ["off", "Off", "no", "N", "false", "FALSE", "f"])
    func falseWords(_ word: String) throws {
        #expect(try SettingValue.boolean(word) == false)
    }

    @Test func otherWordsAreNotBooleans() {
        #expect(throws: ValueError(expected: "on or off", found: "1")) { try SettingValue.boolean("1") }
        #expect(throws: ValueError(expected: "on or off", found: "")) { try SettingValue.boolean("") }
    }

    @Test func integersWithinTheirRange() throws {
        #expect(try SettingValue.integer("42", in: 0...100, expected: "x") == 42)
        #expect(try SettingValue.integer("-1", in: -1...100, expected: "x") == -1)
        for text in ["101", "-2", "", "-", "4x", "+4", " 4", "99999999999999999999999"] {
            #expect(throws: ValueError(expected: "x", found: text)) {
                try SettingValue.integer(text, in: -1...100, expected: "x")
            }
        }
    }

    @Test func secondsMayHaveAFraction() throws {
        #expect(try SettingValue.seconds("30") == 30)
        #expect(try SettingValue.seconds("2.5") == 2.5)
        for text in ["0", "0.0", "-1", "1e3", "inf", "nan", ".5", "1.2.3", "", "0x10"] {
            #expect(throws: ValueError(expected: "a number of seconds greater than 0", found: text)) {
                try SettingValue.seconds(text)
            }
        }
    }

    @Test func workersAreACountOrAuto() throws {
        #expect(try SettingValue.workers("4") == .fixed(4))
        #expect(try SettingValue.workers("auto") == .perCPU)
        #expect(try SettingValue.workers("AUTO") == .perCPU)
        #expect(throws: ValueError(expected: "a number of at least 1 or auto", found: "0")) {
            try SettingValue.workers("0")
        }
    }

    @Test func logLevelsGoFromZeroToThree() throws {
        #expect(try SettingValue.logLevel("0") == 0)
        #expect(try SettingValue.logLevel("3") == 3)
        #expect(throws: ValueError(expected: "a log level from 0 to 3", found: "4")) { try SettingValue.logLevel("4") }
    }

    @Test func protocolListsAcceptSpacesAndCommas() throws {
        #expect(try SettingValue.protocols("TLSv1.2 TLSv1.3") == [.tls12, .tls13])
        #expect(try SettingValue.protocols("tlsv1.3,TLSv1.0") == [.tls10, .tls13])
        #expect(try SettingValue.protocols("SSLv3") == [.sslv3])
        let expected = "TLS versions from SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3"
        #expect(throws: ValueError(expected: expected, found: "TLSv1.4")) {
            try SettingValue.protocols("TLSv1.2 TLSv1.4")
        }
        #expect(throws: ValueError(expected: expected, found: "")) { try SettingValue.protocols("") }
    }

    @Test func clientVerifyAcceptsHitchsTwoSpellingsOfRequired() throws {
        #expect(try SettingValue.clientVerify("none") == ClientVerify.none)
        #expect(try SettingValue.clientVerify("optional") == .optional)
        #expect(try SettingValue.clientVerify("required") == .required)
        #expect(try SettingValue.clientVerify("require") == .required)
        #expect(throws: ValueError(expected: "none, optional or required", found: "yes")) {
            try SettingValue.clientVerify("yes")
        }
    }

    @Test func alpnProtocolsAreCommaSeparated() throws {
        #expect(try SettingValue.alpnProtocols("h2, http/1.1") == ["h2", "http/1.1"])
        #expect(try SettingValue.alpnProtocols("h2,") == ["h2"])
        #expect(try SettingValue.alpnProtocols("") == [])
        #expect(throws: ValueError.self) { try SettingValue.alpnProtocols("h2,,http/1.1") }
        #expect(throws: ValueError.self) { try SettingValue.alpnProtocols(String(repeating: "x", count: 256)) }
    }

    @Test func syslogFacilitiesAreHitchsNames() throws {
        #expect(try SettingValue.syslogFacility("local3") == "local3")
        #expect(throws: ValueError.self) { try SettingValue.syslogFacility("kern") }
        #expect(throws: ValueError.self) { try SettingValue.syslogFacility("DAEMON") }
    }

    @Test func syslogFacilityCodeFollowsTheName() {
        var settings = Settings()
        #expect(settings.syslogFacilityCode == LOG_DAEMON)
        settings.syslogFacility = "local7"
        #expect(settings.syslogFacilityCode == LOG_LOCAL7)
    }

    @Test func numbersAreWrittenBackWithoutNeedlessFractions() {
        #expect(SettingValue.text(seconds: 30) == "30")
        #expect(SettingValue.text(seconds: 2.5) == "2.5")
        #expect(SettingValue.text(workers: .fixed(3)) == "3")
        #expect(SettingValue.text(workers: .perCPU) == "auto")
    }

    @Test func messagesQuoteWhatWasFoundOnOneLine() {
        #expect(ValueError(expected: "x", found: "a\"b\\c\nd").message == #"expected x, found "a\"b\\c\nd""#)
    }
}
