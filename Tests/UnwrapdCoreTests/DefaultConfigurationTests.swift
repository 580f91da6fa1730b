import Foundation
import Testing

@testable import UnwrapdCore

@Suite struct DefaultConfigurationTests {
    @Test func readsBackAsTheDefaults() throws {
        #expect(try ConfigFileParser.parse(DefaultConfiguration.text, path: "default.conf") == Settings())
    }

    @Test func readsBackThroughTheCommandLine() throws {
        try withConfigFile(DefaultConfiguration.text) { path in
            var expected = Settings()
            expected.certificates = [CertificateSource(path: "dev.pem")]
            let invocation = try CommandLineParser.parse(["unwrapd", "--config=\(path)", "dev.pem"])
            #expect(invocation == .run(expected))
        }
    }

    /// Every key unwrapd accepts in a config file appears, set or commented out.
    @Test func namesEveryKey() {
        let lines = DefaultConfiguration.text.split(separator: "\n").map { $0.drop { $0 == "#" || $0 == " " } }
        for key in SettingKey.allCases where !key.scopes.isEmpty {
            #expect(lines.contains { $0.hasPrefix("\(key.rawValue) = ") }, "\(key.rawValue) is missing")
        }
    }

    /// Unsupported features and settings without a default value are commented out; the pem-file and frontend
    /// lines too, so that `make run`'s certificate and a `-f` on the command line are all there is.
    @Test func commentsOutWhatHasNoDefaultValue() {
        let active = DefaultConfiguration.text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
        let activeKeys = Set(active.map { String($0.prefix { $0 != " " }) })
        for key in ["pem-file", "frontend", "ssl-engine", "chroot", "user", "tls", "ssl"] {
            #expect(!activeKeys.contains(key), "\(key) should be commented out")
        }
        #expect(activeKeys.contains("backend"))
        #expect(activeKeys.contains("tls-protos"))
    }

    @Test func linesFitInAHundredAndTwentyColumns() {
        for line in DefaultConfiguration.text.split(separator: "\n") {
            #expect(line.count <= 120, "\(line)")
        }
    }

    /// `Config/unwrapd.conf`, installed as `/etc/unwrapd/unwrapd.conf`, is the generated text.
    @Test func shippedConfigFileIsTheGeneratedText() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let shipped = try Data(contentsOf: repository.appendingPathComponent("Config/unwrapd.conf"))
        #expect(shipped == Data(DefaultConfiguration.text.utf8))
    }
}

@Suite struct UsageTests {
    @Test func versionNamesTheProgramAndVersion() {
        #expect(Usage.versionText == "unwrapd \(Unwrapd.version)\n")
    }

    @Test func helpStartsAsHitchs() {
        #expect(Usage.helpText.hasPrefix("Usage: unwrapd [OPTIONS] PEM\n"))
        #expect(
            Usage.helpText.contains(
                "\n\t-b  --backend=[HOST]:PORT\n\t\tBackend endpoint (default is \"[127.0.0.1]:8000\")\n"))
    }

    /// Every option's long name, and its short letter, appears in the help.
    @Test func listsEveryOption() {
        for option in CommandLineOption.all {
            let name = "--\(option.names[0])"
            #expect(Usage.helpText.contains(name), "\(name) is missing")
            if let short = option.short {
                #expect(Usage.helpText.contains("\t-\(short)  \(name)"), "-\(short) is missing")
            }
        }
    }

    @Test func showsTheDefaults() {
        let help = Usage.helpText
        #expect(help.contains("(Default: \"TLSv1.2 TLSv1.3\")"))
        #expect(help.contains("(Default: \"EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH\")"))
        #expect(help.contains("Frontend listen endpoint (default is \"[*]:8443\")"))
        #expect(help.contains("Number of worker processes, or 'auto' for one per CPU (Default: 1)"))
        #expect(help.contains("Set listen backlog size (Default: 100)"))
        #expect(help.contains("TCP keepalive on client socket (Default: 3600)"))
        #expect(help.contains("Backend connect timeout (Default: 30)"))
        #expect(help.contains("TLS handshake timeout (Default: 30)"))
        #expect(help.contains("Syslog facility to use (Default: \"daemon\")"))
        #expect(help.contains("(Default: \"/var/lib/unwrapd/\")"))
    }

    @Test func marksUnwrapdsAdditionsAndWhatIsNotSupportedYet() {
        let help = Usage.helpText
        #expect(help.contains("from the open-files limit (Default: 0) (unwrapd)"))
        #expect(help.contains("3=debug (unwrapd)"))
        #expect(help.contains("Enable client proxy mode (not supported yet)"))
        #expect(help.contains("Sets OpenSSL engine (Default: \"\") (not supported yet)"))
    }
}
