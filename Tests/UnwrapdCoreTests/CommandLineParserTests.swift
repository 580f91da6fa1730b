import Testing

@testable import UnwrapdCore

@Suite struct GetoptFormTests {
    @Test func requiredArgumentsInAllFourForms() throws {
        let expected = BackendAddress.inet(host: "::1", port: "80")
        #expect(try runSettings("-b", "[::1]:80", "cert.pem").backend == expected)
        #expect(try runSettings("-b[::1]:80", "cert.pem").backend == expected)
        #expect(try runSettings("--backend=[::1]:80", "cert.pem").backend == expected)
        #expect(try runSettings("--backend", "[::1]:80", "cert.pem").backend == expected)
    }

    @Test func aRequiredArgumentMayStartWithADash() throws {
        #expect(try runSettings("--recv-bufsize", "-1", "cert.pem").receiveBufferSize == -1)
        #expect(try runSettings("-u", "-weird-", "cert.pem").user == "-weird-")
    }

    @Test func longNamesMayBeShortenedToAnUnambiguousPrefix() throws {
        #expect(try runSettings("--work=2", "cert.pem").workers == .fixed(2))
        #expect(try runSettings("--backl", "64", "cert.pem").backlog == 64)
        #expect(
            commandLineError("--back=[h]:1", "cert.pem")
                == "--back: ambiguous option: could be --backend, --backlog, --backend-refresh, --backend-connect-timeout"
        )
        #expect(try runSettings("--write-proxy", "cert.pem").backendHeader == .proxyV2)
    }

    @Test func ambiguousPrefix() {
        #expect(
            commandLineError("--write-proxy-v", "cert.pem")
                == "--write-proxy-v: ambiguous option: could be --write-proxy-v1, --write-proxy-v2")
        #expect(commandLineError("--s", "cert.pem")?.hasPrefix("--s: ambiguous option: could be --ssl, ") == true)
    }

    @Test func shortFlagsCluster() throws {
        let settings = try runSettings("-qs", "-L2", "cert.pem")
        #expect(settings.syslog)
        #expect(settings.logLevel == 2)
        let clustered = try runSettings("-Oqsn", "4", "cert.pem")
        #expect(clustered.tls.preferServerCiphers)
        #expect(clustered.workers == .fixed(4))
        #expect(try runSettings("-sn4", "cert.pem").workers == .fixed(4))
    }

    @Test func optionalBooleansTakeAValueOnlyAfterEquals() throws {
        #expect(try runSettings("--daemon", "cert.pem").daemonize)
        #expect(try runSettings("--daemon=on", "cert.pem").daemonize)
        #expect(try runSettings("--daemon=yes", "cert.pem").daemonize)
        #expect(try !runSettings("--daemon=off", "cert.pem").daemonize)
        // As getopt: the next argument is not the value but an operand (a PEM file).
        let settings = try runSettings("--daemon", "off")
        #expect(settings.daemonize)
        #expect(settings.certificates == [CertificateSource(path: "off")])
    }

    @Test func optionalBooleanWithABadValue() {
        #expect(commandLineError("--daemon=bogus", "cert.pem") == #"--daemon: expected on or off, found "bogus""#)
        #expect(
            commandLineError("--prefer-server-ciphers=2", "cert.pem")
                == #"--prefer-server-ciphers: expected on or off, found "2""#)
    }

    @Test func shortFormOfAnOptionalBooleanTakesNoValue() {
        // -q=on is -q, then -= (unknown), as in getopt.
        #expect(commandLineError("-q=on", "cert.pem") == "-=: unknown option (unwrapd --help lists them)")
    }

    @Test func flagsTakeNoValue() {
        #expect(commandLineError("--test=on", "cert.pem") == #"--test: expected no value, found "on""#)
        #expect(commandLineError("--tls=yes", "cert.pem") == #"--tls: expected no value, found "yes""#)
    }

    @Test func missingValue() {
        #expect(commandLineError("cert.pem", "-b") == "-b: expected a value after the option, found none")
        #expect(commandLineError("cert.pem", "--backend") == "--backend: expected a value after the option, found none")
    }

    @Test func unknownOptions() {
        #expect(commandLineError("--bogus", "cert.pem") == "--bogus: unknown option (unwrapd --help lists them)")
        #expect(commandLineError("-x", "cert.pem") == "-x: unknown option (unwrapd --help lists them)")
        #expect(commandLineError("-qx", "cert.pem") == "-x: unknown option (unwrapd --help lists them)")
        #expect(commandLineError("--=1", "cert.pem") == "--: unknown option (unwrapd --help lists them)")
    }

    @Test func doubleDashEndsTheOptions() throws {
        let settings = try runSettings("-n", "2", "--", "-t", "--weird.pem")
        #expect(settings.workers == .fixed(2))
        #expect(settings.certificates.map(\.path) == ["-t", "--weird.pem"])
    }

    @Test func optionsAndOperandsMix() throws {
        #expect(
            try CommandLineParser.parse(["unwrapd", "a.pem", "-t", "b.pem", "-n", "2"])
                == .testConfiguration(
                    {
                        var settings = Settings()
                        settings.certificates = [CertificateSource(path: "a.pem"), CertificateSource(path: "b.pem")]
                        settings.workers = .fixed(2)
                        return settings
                    }()))
        #expect(try runSettings("-").certificates == [CertificateSource(path: "-")])
    }
}

@Suite struct CommandLineOptionTests {
    /// Each option, in hitch's and stud's spellings, reaches its setting.
    @Test func everySettingOption() throws {
        #expect(try runSettings("--tls-protos=TLSv1.3", "c.pem").tls.protocols == [.tls13])
        #expect(try runSettings("--tls-protos", "TLSv1.2 TLSv1.3", "c.pem").tls.protocols == [.tls12, .tls13])
        #expect(try runSettings("--tls", "c.pem").tls.protocols == [.tls10, .tls11, .tls12, .tls13])
        #expect(try runSettings("--ssl", "c.pem").tls.protocols == [.sslv3, .tls10, .tls11, .tls12, .tls13])
        #expect(try runSettings("-c", "HIGH", "c.pem").tls.ciphers == "HIGH")
        #expect(try runSettings("--ciphers=HIGH", "c.pem").tls.ciphers == "HIGH")
        #expect(try runSettings("-O", "c.pem").tls.preferServerCiphers)
        #expect(try runSettings("--prefer-server-ciphers", "c.pem").tls.preferServerCiphers)
        #expect(try runSettings("-f", "[*]:1", "c.pem").frontends == [Frontend(host: nil, port: "1")])
        #expect(try runSettings("--frontend=0.0.0.0,2", "c.pem").frontends == [Frontend(host: "0.0.0.0", port: "2")])
        #expect(try runSettings("-b", "/run/b.sock", "c.pem").backend == .unix(path: "/run/b.sock"))
        #expect(try runSettings("--recv-bufsize=4096", "c.pem").receiveBufferSize == 4096)
        #expect(try runSettings("--send-bufsize=8192", "c.pem").sendBufferSize == 8192)
        #expect(try runSettings("-n", "8", "c.pem").workers == .fixed(8))
        #expect(try runSettings("--workers=auto", "c.pem").workers == .perCPU)
        #expect(try runSettings("-B", "512", "c.pem").backlog == 512)
        #expect(try runSettings("--backlog=64", "c.pem").backlog == 64)
        #expect(try runSettings("-k", "60", "c.pem").keepaliveSeconds == 60)
        #expect(try runSettings("--keepalive=0", "c.pem").keepaliveSeconds == 0)
        #expect(try runSettings("-R", "30", "c.pem").backendRefreshSeconds == 30)
        #expect(try runSettings("--backend-refresh=5", "c.pem").backendRefreshSeconds == 5)
        #expect(try runSettings("--enable-tcp-fastopen", "c.pem").tcpFastOpen)
        #expect(try !runSettings("--enable-tcp-fastopen=off", "c.pem").tcpFastOpen)
        #expect(try runSettings("--backend-connect-timeout=3", "c.pem").backendConnectTimeout == 3)
        #expect(try runSettings("--ssl-handshake-timeout", "1.5", "c.pem").handshakeTimeout == 1.5)
        #expect(try runSettings("--max-connections=5000", "c.pem").maxConnections == 5000)
        #expect(try runSettings("c.pem").coalesceWaitMicroseconds == 30)
        #expect(try runSettings("--coalesce-wait=0", "c.pem").coalesceWaitMicroseconds == 0)
        #expect(try runSettings("--coalesce-wait", "100000", "c.pem").coalesceWaitMicroseconds == 100_000)
        #expect(try runSettings("c.pem").ticketWaitMilliseconds == 20)
        #expect(try runSettings("--ticket-wait=0", "c.pem").ticketWaitMilliseconds == 0)
        #expect(try runSettings("--ticket-wait", "1000", "c.pem").ticketWaitMilliseconds == 1000)
        #expect(try runSettings("c.pem").sessionCacheSize == 20_480)
        #expect(try runSettings("-C", "1000", "c.pem").sessionCacheSize == 1000)
        #expect(try runSettings("--session-cache=0", "c.pem").sessionCacheSize == 0)
        #expect(try runSettings("--shared-cache=5", "c.pem").sessionCacheSize == 5)
        #expect(try runSettings("c.pem").sessionTickets)
        #expect(try runSettings("c.pem").drainTimeoutSeconds == 600)
        #expect(try runSettings("--drain-timeout=0", "c.pem").drainTimeoutSeconds == 0)
        #expect(try runSettings("--drain-timeout", "3600", "c.pem").drainTimeoutSeconds == 3600)
        #expect(try runSettings("c.pem").connectionLogLimit == 100)
        #expect(try runSettings("c.pem").ticketKeyRotationSeconds == 3600)
        #expect(try runSettings("--ticket-key-rotation=0", "c.pem").ticketKeyRotationSeconds == 0)
        #expect(try runSettings("--connection-log-limit=0", "c.pem").connectionLogLimit == 0)
        #expect(try runSettings("--connection-log-limit", "5", "c.pem").connectionLogLimit == 5)
        #expect(try !runSettings("--session-tickets=off", "c.pem").sessionTickets)
        #expect(try runSettings("--session-tickets=off", "--session-tickets", "c.pem").sessionTickets)
        #expect(try runSettings("-r", "/var/empty", "c.pem").chroot == "/var/empty")
        #expect(try runSettings("--chroot=/srv", "c.pem").chroot == "/srv")
        #expect(try runSettings("-u", "nobody", "c.pem").user == "nobody")
        #expect(try runSettings("--user=www", "c.pem").user == "www")
        #expect(try runSettings("-g", "nogroup", "c.pem").group == "nogroup")
        #expect(try runSettings("--group=www", "c.pem").group == "www")
        #expect(try runSettings("-L", "0", "c.pem").logLevel == 0)
        #expect(try runSettings("-L", "3", "c.pem").logLevel == 3)
        #expect(try runSettings("--log-level=2", "c.pem").logLevel == 2)
        #expect(try runSettings("-q", "c.pem").quiet)
        #expect(try runSettings("-L", "2", "-q", "c.pem").logLevel == 2)
        #expect(try !runSettings("-q", "--quiet=off", "c.pem").quiet)
        #expect(try runSettings("-l", "/var/log/u.log", "c.pem").logFile == "/var/log/u.log")
        #expect(try runSettings("--log-filename=/tmp/u.log", "c.pem").logFile == "/tmp/u.log")
        #expect(try runSettings("-s", "c.pem").syslog)
        #expect(try runSettings("--syslog=on", "c.pem").syslog)
        #expect(try runSettings("--syslog-facility=local5", "c.pem").syslogFacility == "local5")
        #expect(try runSettings("--daemon", "c.pem").daemonize)
        #expect(try runSettings("--write-ip", "c.pem").backendHeader == .clientIP)
        #expect(try runSettings("--write-proxy-v1", "c.pem").backendHeader == .proxyV1)
        #expect(try runSettings("--write-proxy-v2=on", "c.pem").backendHeader == .proxyV2)
        #expect(try runSettings("--write-proxy", "c.pem").backendHeader == .proxyV2)
        #expect(try runSettings("--proxy-proxy", "c.pem").backendHeader == .passThrough)
        #expect(try runSettings("--sni-nomatch-abort", "c.pem").tls.sniNoMatchAbort)
        #expect(try runSettings("--alpn-protos=h2,http/1.1", "c.pem").alpnProtocols == ["h2", "http/1.1"])
        #expect(try runSettings("-p", "/run/u.pid", "c.pem").pidFile == "/run/u.pid")
        #expect(try runSettings("--pidfile=/run/x.pid", "c.pem").pidFile == "/run/x.pid")
    }

    @Test func badValuesNameTheOptionAsWritten() {
        #expect(commandLineError("-n", "0", "c.pem") == #"-n: expected a number of at least 1 or auto, found "0""#)
        #expect(
            commandLineError("--workers=many", "c.pem")
                == #"--workers: expected a number of at least 1 or auto, found "many""#)
        #expect(
            commandLineError("-b", "foo", "c.pem")
                == #"-b: expected "[HOST]:PORT", "HOST,PORT" or a UNIX socket path, found "foo""#)
        #expect(
            commandLineError("--backend=foo", "c.pem")
                == #"--backend: expected "[HOST]:PORT", "HOST,PORT" or a UNIX socket path, found "foo""#)
        #expect(
            commandLineError("-f", "[*]:99999", "c.pem")
                == #"-f: expected a port number from 0 to 65535 or a service name, found "99999""#)
        #expect(commandLineError("-L", "4", "c.pem") == #"-L: expected a log level from 0 to 3, found "4""#)
        #expect(
            commandLineError("--ssl-handshake-timeout=0", "c.pem")
                == #"--ssl-handshake-timeout: expected a number of seconds greater than 0, found "0""#)
        #expect(commandLineError("-B", "-5", "c.pem") == #"-B: expected a number of at least 1, found "-5""#)
        #expect(
            commandLineError("--coalesce-wait=100001", "c.pem")
                == #"--coalesce-wait: expected microseconds up to 100000, 0 to disable, found "100001""#)
        #expect(
            commandLineError("--ticket-key-rotation=1h", "c.pem")
                == #"--ticket-key-rotation: expected a number of seconds, 0 for never, found "1h""#)
        #expect(
            commandLineError("--connection-log-limit=lots", "c.pem")
                == #"--connection-log-limit: expected lines per second up to 1000000, 0 for no limit, found "lots""#)
        #expect(
            commandLineError("--drain-timeout=-1", "c.pem")
                == #"--drain-timeout: expected a number of seconds, 0 for no limit, found "-1""#)
        #expect(
            commandLineError("--ticket-wait=1001", "c.pem")
                == #"--ticket-wait: expected milliseconds up to 1000, 0 to disable, found "1001""#)
        #expect(
            commandLineError("--session-cache=1048577", "c.pem")
                == #"--session-cache: expected a number of sessions up to 1048576, 0 for each worker's own, "#
                + #"found "1048577""#)
        #expect(
            commandLineError("--tls-protos=TLSv2", "c.pem")
                == #"--tls-protos: expected TLS versions from SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3, found "TLSv2""#
        )
    }

    @Test func aValueSpanningLinesStaysOneLineInTheMessage() {
        #expect(
            commandLineError("-u", "x", "-n", "1\n2", "c.pem")
                == #"-n: expected a number of at least 1 or auto, found "1\n2""#)
    }
}

@Suite struct CommandLineInvocationTests {
    @Test func noArgumentsShowTheHelpAsHitch() throws {
        #expect(try CommandLineParser.parse(["unwrapd"]) == .showHelp)
    }

    @Test func helpVersionAndDefaultConfig() throws {
        #expect(try CommandLineParser.parse(["unwrapd", "-h"]) == .showHelp)
        #expect(try CommandLineParser.parse(["unwrapd", "--help"]) == .showHelp)
        #expect(try CommandLineParser.parse(["unwrapd", "-V"]) == .showVersion)
        #expect(try CommandLineParser.parse(["unwrapd", "--version"]) == .showVersion)
        #expect(try CommandLineParser.parse(["unwrapd", "--default-config"]) == .showDefaultConfiguration)
    }

    @Test func theFirstOfHelpVersionAndDefaultConfigWins() throws {
        #expect(try CommandLineParser.parse(["unwrapd", "-V", "-h"]) == .showVersion)
        #expect(try CommandLineParser.parse(["unwrapd", "--default-config", "-V"]) == .showDefaultConfiguration)
    }

    @Test func helpNeedsNoCertificateAndReadsNoFile() throws {
        #expect(
            try CommandLineParser.parse(["unwrapd", "--config=/nonexistent/unwrapd.conf", "-n", "0", "-h"]) == .showHelp
        )
    }

    @Test func helpDoesNotHideAMalformedCommandLine() {
        #expect(commandLineError("--bogus", "-h") == "--bogus: unknown option (unwrapd --help lists them)")
    }

    @Test func testConfiguration() throws {
        var expected = Settings()
        expected.certificates = [CertificateSource(path: "c.pem")]
        #expect(try CommandLineParser.parse(["unwrapd", "-t", "c.pem"]) == .testConfiguration(expected))
        #expect(try CommandLineParser.parse(["unwrapd", "--test", "c.pem"]) == .testConfiguration(expected))
        #expect(try CommandLineParser.parse(["unwrapd", "c.pem"]) == .run(expected))
    }

    @Test func aCertificateIsRequiredToRunOrTest() {
        let message =
            "No x509 certificate PEM file specified for frontend [*]:8443: give one as an argument, with "
            + "pem-file in the config file, or as +CERT after the frontend's port"
        #expect(commandLineError("-n", "2") == message)
        #expect(commandLineError("-t") == message)
        #expect(
            commandLineError("-f", "[*]:443", "-f", "[*]:444+own.pem")
                == "-f: No x509 certificate PEM file specified for frontend [*]:443: give one as an argument, with pem-file in the config file, or as +CERT after the frontend's port"
        )
    }

    @Test func frontendCertificatesOrAPemDirectorySuffice() throws {
        #expect(try runSettings("-f", "[*]:443+own.pem").certificates.isEmpty)
        try withConfigFile(#"pem-dir = "/etc/unwrapd/cert.d""#) { path in
            let settings = try runSettings("--config=\(path)")
            #expect(settings.pemDirectory == "/etc/unwrapd/cert.d")
        }
    }
}

@Suite struct TwoPassTests {
    @Test func theCommandLineOverridesTheFileWhereverConfigIsGiven() throws {
        try withConfigFile("workers = 2\nbackend = \"[10.0.0.1]:80\"\ndaemon = on\npem-file = \"f.pem\"") { path in
            let after = try runSettings("--config=\(path)", "-n", "3", "--daemon=off")
            #expect(after.workers == .fixed(3))
            #expect(!after.daemonize)
            #expect(after.backend == .inet(host: "10.0.0.1", port: "80"))
            let before = try runSettings("-n", "3", "--config", path)
            #expect(before.workers == .fixed(3))
        }
    }

    @Test func commandLineFrontendsAddToTheFilesAfterThem() throws {
        try withConfigFile("frontend = \"[*]:443\"\npem-file = \"f.pem\"") { path in
            let settings = try runSettings("-f", "[::1]:8443", "--config=\(path)")
            #expect(settings.frontends == [Frontend(host: nil, port: "443"), Frontend(host: "::1", port: "8443")])
        }
    }

    @Test func theFirstFrontendFromAnywhereReplacesTheDefault() throws {
        #expect(try runSettings("-f", "[*]:9443", "c.pem").frontends == [Frontend(host: nil, port: "9443")])
        #expect(try runSettings("-f", "[*]:8443", "c.pem").frontends == [Frontend(host: nil, port: "8443")])
        try withConfigFile("pem-file = \"f.pem\"") { path in
            let settings = try runSettings("--config=\(path)", "-f", "[*]:1")
            #expect(settings.frontends == [Frontend(host: nil, port: "1")])
        }
    }

    @Test func aFrontendOfTheFileCannotBeRepeatedOnTheCommandLine() throws {
        try withConfigFile("pem-file = \"f.pem\"\n\nfrontend = \"[*]:443\"") { path in
            #expect(
                commandLineError("--config=\(path)", "-f", "[*]:443")
                    == "-f: [*]:443 is already defined by frontend (\(path):3); each frontend needs its own address and port"
            )
        }
    }

    @Test func operandCertificatesComeAfterTheFilesSoTheLastOneIsTheDefault() throws {
        try withConfigFile("pem-file = \"f1.pem\"\npem-file = \"f2.pem\"") { path in
            let settings = try runSettings("a.pem", "--config=\(path)", "b.pem")
            #expect(settings.certificates.map(\.path) == ["f1.pem", "f2.pem", "a.pem", "b.pem"])
        }
    }

    @Test func severalConfigFilesApplyInOrder() throws {
        try withConfigFile("workers = 2\npem-file = \"one.pem\"") { first in
            try withConfigFile("workers = 3\nbacklog = 9") { second in
                let settings = try runSettings("--config=\(first)", "--config=\(second)")
                #expect(settings.workers == .fixed(3))
                #expect(settings.backlog == 9)
                #expect(settings.certificates.map(\.path) == ["one.pem"])
            }
        }
    }

    @Test func fileErrorsNameTheFileAndLine() throws {
        try withConfigFile("workers = 2\nworkers = none") { path in
            #expect(
                commandLineError("--config=\(path)", "c.pem")
                    == #"\#(path):2: workers: expected a number of at least 1 or auto, found "none""#)
        }
    }

    @Test func aMissingConfigFileNamesTheOptionAndThePath() {
        #expect(
            commandLineError("--config=/nonexistent/unwrapd.conf", "c.pem")
                == #"--config: cannot read "/nonexistent/unwrapd.conf": No such file or directory (ENOENT)"#)
        #expect(
            commandLineError("--conf", "/nonexistent/x.conf", "c.pem")
                == #"--config: cannot read "/nonexistent/x.conf": No such file or directory (ENOENT)"#)
    }

    @Test func backendHeadersFromFileAndCommandLineExcludeEachOther() throws {
        try withConfigFile("pem-file = \"f.pem\"\nwrite-proxy-v2 = on") { path in
            #expect(
                commandLineError("--config=\(path)", "--write-ip")
                    == "--write-ip: cannot be combined with write-proxy-v2 (\(path):2): write-ip, write-proxy-v1, write-proxy-v2 and proxy-proxy are mutually exclusive"
            )
            let settings = try runSettings("--config=\(path)", "--write-proxy-v2=off", "--write-ip")
            #expect(settings.backendHeader == .clientIP)
        }
        #expect(
            commandLineError("--write-ip", "--proxy-proxy", "c.pem")
                == "--proxy-proxy: cannot be combined with --write-ip: write-ip, write-proxy-v1, write-proxy-v2 and proxy-proxy are mutually exclusive"
        )
        #expect(try runSettings("--write-ip", "--write-ip=off", "--write-proxy", "c.pem").backendHeader == .proxyV2)
    }

    @Test func deprecatedProtocolFlagsCannotOverrideTheFilesChoice() throws {
        try withConfigFile("pem-file = \"f.pem\"\ntls-protos = TLSv1.3") { path in
            #expect(
                commandLineError("--config=\(path)", "--tls")
                    == "--tls: cannot override the protocols chosen by tls-protos (\(path):2); use --tls-protos")
            let settings = try runSettings("--config=\(path)", "--tls-protos=TLSv1.2")
            #expect(settings.tls.protocols == [.tls12])
        }
    }

    @Test func tlsAndSslExcludeEachOther() {
        #expect(commandLineError("--tls", "--ssl", "c.pem") == "--ssl: --tls and --ssl are mutually exclusive")
        #expect(commandLineError("--ssl", "--tls", "c.pem") == "--tls: --tls and --ssl are mutually exclusive")
    }

    @Test func tlsProtosOnTheCommandLineOverridesTheDeprecatedFlags() throws {
        #expect(try runSettings("--ssl", "--tls-protos=TLSv1.3", "c.pem").tls.protocols == [.tls13])
    }
}
