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
        #"ssl-engine = "rdrand""#,
        #"shared-cache-listen = "[*]:9000""#, #"shared-cache-peer = "[10.0.0.2]:9000""#, #"shared-cache-if = "eth0""#,
    ])
    func configFileKeys(_ line: String) {
        let key = line.prefix { $0 != " " }
        #expect(configError("workers = 1\n\(line)") == "test.conf:2: \(key): not supported yet by unwrapd")
    }

    /// OCSP stapling is supported: `ocsp-resp-file` and `ocsp-verify-staple` (in a `pem-file` block or for all), and
    /// hitch's automatic fetching with its settings; `ocsp-dir = ""` turns that fetching off.
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
        #expect(global.ocsp.directory == "")
        #expect(try runSettings("--ocsp-dir=", "c.pem").ocsp.directory == "")
        let fetching = try configSettings(
            "ocsp-dir = \"/var/cache/ocsp\"\nocsp-connect-tmo = 1.5\nocsp-resp-tmo = 5\nocsp-refresh-interval = 60")
        #expect(fetching.unsupportedFeatures.isEmpty)
        #expect(fetching.ocsp.directory == "/var/cache/ocsp")
        #expect(fetching.ocsp.connectTimeout == 1.5)
        #expect(fetching.ocsp.responseTimeout == 5)
        #expect(fetching.ocsp.refreshInterval == 60)
        #expect(try runSettings("-o", "/srv/ocsp", "c.pem").ocsp.directory == "/srv/ocsp")
        #expect(try runSettings("c.pem").ocsp.directory == "/var/lib/unwrapd/")
        #expect(
            configError("ocsp-refresh-interval = 0")
                == #"test.conf:1: ocsp-refresh-interval: expected a number of seconds greater than 0, found "0""#)
    }

    @Test func defaultValuesAreNoUseOfAFeature() throws {
        let settings = try runSettings("-C", "0", "-e", "", "c.pem")
        #expect(settings.unsupportedFeatures.isEmpty)
        #expect(
            try configSettings("pem-file = { cert = \"a.pem\" ocsp-resp-file = \"\" ocsp-verify-staple = off }")
                .unsupportedFeatures.isEmpty)
    }

    @Test func theLastValueGivenCounts() throws {
        try withConfigFile("pem-file = \"f.pem\"\nocsp-dir = \"/var/cache/ocsp\"") { path in
            let fromFile = try runSettings("--config=\(path)")
            let overridden = try runSettings("--config=\(path)", "--ocsp-dir=/var/lib/hitch/")
            let overriding = try runSettings("--ocsp-dir=/srv/ocsp", "--config=\(path)")
            #expect(fromFile.ocsp.directory == "/var/cache/ocsp")
            #expect(overridden.ocsp.directory == "/var/lib/hitch/")
            #expect(overriding.ocsp.directory == "/srv/ocsp")  // the command line wins, wherever --config is
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
