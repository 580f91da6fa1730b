import Testing

@testable import UnwrapdCore

@Suite struct SettingsErrorTests {
    @Test func descriptionsStayOnOneLine() {
        #expect(commandLineError("--bo\ngus", "c.pem") == #"--bo\ngus: unknown option (unwrapd --help lists them)"#)
        #expect(SettingsError(.configFile(path: "a\r\nb.conf", line: 1), "x").description == #"a\nb.conf:1: x"#)
    }

    @Test func settingsWideErrorsAreTheMessage() {
        #expect(SettingsError(.settings, "whole").description == "whole")
        #expect(SettingsError(.settings, setting: "workers", "whole").description == "whole")
    }
}
