import Testing

@testable import UnwrapdCore

@Suite struct UnsupportedFeatureTests {
    @Test(arguments: [
        (["--client"], "--client"),
        (["-e", "rdrand"], "-e"),
        (["--ssl-engine=rdrand"], "--ssl-engine"),
        (["-U", "[*]:9000"], "-U"),
        (["--shared-cache-listen=[*]:9000"], "--shared-cache-listen"),
        (["-P", "[10.0.0.2]:9000"], "-P"),
        (["--shared-cache-peer=[10.0.0.2]:9000"], "--shared-cache-peer"),
        (["-M", "eth0,3"], "-M"),
        (["--shared-cache-if=eth0"], "--shared-cache-if"),
        (["--ocsp-dir=/var/cache/ocsp"], "--ocsp-dir"),
        (["-o", "/var/cache/ocsp"], "-o"),
    ])
    func commandLineFlags(_ arguments: [String], _ option: String) throws {
        #expect(throws: SettingsError(.commandLine(option: option), "not supported yet by unwrapd")) {
            try CommandLineParser.parse(["unwrapd"] + arguments + ["c.pem"])
        }
    }

    @Test func messageOnTheCommandLine() {
        #expect(commandLineError("-n", "2", "--client", "c.pem") == "--client: not supported yet by unwrapd")
    }

    @Test(arguments: [
        #"ocsp-dir = "/var/cache/ocsp""#, "ocsp-connect-tmo = 5", "ocsp-resp-tmo = 5",
        "ocsp-refresh-interval = 60", #"ssl-engine = "rdrand""#,
        #"shared-cache-listen = "[*]:9000""#, #"shared-cache-peer = "[10.0.0.2]:9000""#, #"shared-cache-if = "eth0""#,
    ])
    func configFileKeys(_ line: String) {
        let key = line.prefix { $0 != " " }
        #expect(configError("workers = 1\n\(line)") == "test.conf:2: \(key): not supported yet by unwrapd")
    }

    /// Stapling pre-fetched responses is supported: `ocsp-resp-file` and `ocsp-verify-staple` (in a `pem-file` block
    /// or for all), and `ocsp-dir = ""`, which turns hitch's automatic fetching off.
    @Test func stapledResponsesFromFilesAreSupported() throws {
        let inBlock = try configSettings(
            "frontend = {\n port = 1\n pem-file = {\n  cert = \"a.pem\"\n  ocsp-resp-file = \"a.ocsp\"\n"
                + "  ocsp-verify-staple = yes\n }\n}")
        #expect(inBlock.unsupportedFeatures.isEmpty)
        #expect(inBlock.frontends.first?.certificates.first?.ocspResponsePath == "a.ocsp")
        #expect(inBlock.frontends.first?.certificates.first?.ocspVerifyStaple == true)
        let global = try configSettings(
            "ocsp-verify-staple = on\nocsp-dir = \"\"\npem-file = { cert = \"a.pem\" ocsp-resp-file = \"a.ocsp\" }")
        #expect(global.unsupportedFeatures.isEmpty)
        #expect(global.ocsp.verifyStaple)
        #expect(global.certificates.first?.ocspResponsePath == "a.ocsp")
        #expect(try runSettings("--ocsp-dir=", "c.pem").unsupportedFeatures.isEmpty)
    }

    @Test func defaultValuesAreNoUseOfAFeature() throws {
        let settings = try runSettings("--ocsp-dir=/var/lib/hitch/", "-C", "0", "-e", "", "c.pem")
        #expect(settings.unsupportedFeatures.isEmpty)
        #expect(
            try configSettings("pem-file = { cert = \"a.pem\" ocsp-resp-file = \"\" ocsp-verify-staple = off }")
                .unsupportedFeatures.isEmpty)
    }

    @Test func theLastValueGivenCounts() throws {
        try withConfigFile("pem-file = \"f.pem\"\nocsp-dir = \"/var/cache/ocsp\"") { path in
            #expect(commandLineError("--config=\(path)") == "\(path):2: ocsp-dir: not supported yet by unwrapd")
            #expect(
                commandLineError("--config=\(path)", "--ocsp-dir=/srv/ocsp")
                    == "--ocsp-dir: not supported yet by unwrapd")
            let settings = try runSettings("--config=\(path)", "--ocsp-dir=/var/lib/hitch/")
            #expect(settings.ocsp.directory == "/var/lib/hitch/")
        }
    }
}

@Suite struct ClientVerificationTests {
    @Test func globalClientVerifyNeedsACA() {
        #expect(
            configError("\nclient-verify = required")
                == "test.conf:2: client-verify: required needs client-verify-ca, the CA certificates that client certificates must chain to"
        )
        #expect(
            configError("client-verify = optional")?.hasPrefix(
                "test.conf:1: client-verify: optional needs client-verify-ca") == true)
    }

    @Test func globalCAServesEveryFrontend() throws {
        let settings = try configSettings(
            """
            client-verify = required
            frontend = { port = 1 }
            frontend = { port = 2 client-verify = optional }
            client-verify-ca = "/etc/ca.pem"
            """)
        #expect(settings.tls.overridden(by: settings.frontends[1].tls).clientVerify == .optional)
    }

    @Test func frontendClientVerifyNeedsACAOfItsOwnOrTheGlobalOne() throws {
        #expect(
            configError("workers = 1\nfrontend = {\n port = 443\n client-verify = required\n}")
                == "test.conf:2: frontend: client-verify = required of [*]:443 needs client-verify-ca, the CA certificates that client certificates must chain to"
        )
        _ = try configSettings(#"frontend = { port = 443 client-verify = required client-verify-ca = "/etc/ca.pem" }"#)
    }

    @Test func frontendMayTurnVerificationOff() throws {
        let settings = try configSettings("client-verify = required\nfrontend = { port = 1 client-verify = none }")
        #expect(settings.frontends[0].tls.clientVerify == ClientVerify.none)
    }

    @Test func certificateClientVerifyNeedsACA() throws {
        #expect(
            configError("\npem-file = { cert = \"a.pem\" client-verify = required }")
                == #"test.conf:2: pem-file: client-verify of certificate "a.pem" needs client-verify-ca, the CA certificates that client certificates must chain to"#
        )
        #expect(
            configError("frontend = {\n port = 1\n pem-file = { cert = \"a.pem\" client-verify = optional }\n}")
                == #"test.conf:1: frontend: client-verify of certificate "a.pem" needs client-verify-ca, the CA certificates that client certificates must chain to"#
        )
        _ = try configSettings(
            "client-verify-ca = \"/etc/ca.pem\"\npem-file = { cert = \"a.pem\" client-verify = required }")
        _ = try configSettings("pem-file = { cert = \"a.pem\" client-verify = none }")
    }
}
