import Testing

@testable import UnwrapdCore

@Suite struct ConfigFileGrammarTests {
    @Test func emptyFileAndCommentsGiveTheDefaults() throws {
        #expect(try configSettings("") == Settings())
        #expect(try configSettings("# only a comment\n\n   \t\n# another\n") == Settings())
    }

    @Test func commentsEndTheLineAnywhere() throws {
        let settings = try configSettings("workers = 4 # four workers\nbacklog = 7# seven\n")
        #expect(settings.workers == .fixed(4))
        #expect(settings.backlog == 7)
    }

    @Test func hashInsideQuotesIsText() throws {
        #expect(try configSettings(#"ciphers = "HIGH#1""#).tls.ciphers == "HIGH#1")
    }

    @Test func quotedAndUnquotedValuesMeanTheSame() throws {
        let quoted = try configSettings(#"workers = "3" daemon = "on" backend = "[::1]:80""#)
        let unquoted = try configSettings("workers = 3\ndaemon = on\nbackend = [::1]:80")
        #expect(quoted == unquoted)
        #expect(quoted.workers == .fixed(3))
        #expect(quoted.daemonize)
        #expect(quoted.backend == .inet(host: "::1", port: "80"))
    }

    @Test func lineBreaksDoNotSeparateAssignments() throws {
        let settings = try configSettings(#"ciphers = "HIGH" backlog = 10 daemon=on"#)
        #expect(settings.tls.ciphers == "HIGH")
        #expect(settings.backlog == 10)
        #expect(settings.daemonize)
        #expect(try configSettings("workers\n=\n5").workers == .fixed(5))
    }

    @Test func backslashEscapesAQuoteOrABackslash() throws {
        #expect(try configSettings(#"user = "a\"b""#).user == #"a"b"#)
        #expect(try configSettings(#"user = "a\\b""#).user == #"a\b"#)
        #expect(try configSettings(#"pem-dir-glob = "\*.pem""#).pemDirectoryGlob == #"\*.pem"#)
    }

    @Test(arguments: ["yes", "Y", "on", "ON", "true", "t", "\"yes\"", "\"On\""])
    func trueBooleans(_ word: String) throws {
        #expect(try configSettings("prefer-server-ciphers = \(word)").tls.preferServerCiphers)
    }

    @Test(arguments: ["no", "N", "off", "Off", "false", "F", "\"no\""])
    func falseBooleans(_ word: String) throws {
        #expect(try !configSettings("proxy-tlv = \(word)").proxyTLV)
    }

    @Test func crlfLineEndingsCountAsOneLine() {
        #expect(
            configError("workers = 1\r\nbacklog = 2\r\nbogus = 3\r\n")
                == #"test.conf:3: expected a setting name (unwrapd --default-config lists them), found "bogus""#)
    }

    @Test func laterAssignmentsWin() throws {
        #expect(try configSettings("workers = 2\nworkers = 3").workers == .fixed(3))
    }
}

@Suite struct ConfigFileSyntaxErrorTests {
    @Test func unknownKey() {
        #expect(
            configError("workers = 2\n\nbogus = 1")
                == #"test.conf:3: expected a setting name (unwrapd --default-config lists them), found "bogus""#)
    }

    @Test func ringSlotsAreNotAcceptedAnyMore() {
        // hitch 1.7 lexes ring-slots and ring-data-len but its grammar rejects them.
        #expect(configError("ring-slots = 10")?.hasSuffix(#"found "ring-slots""#) == true)
    }

    @Test func missingEquals() {
        #expect(configError("daemon\nworkers = 2") == #"test.conf:1: expected "=" after daemon, found "workers""#)
        #expect(configError("daemon") == #"test.conf:1: expected "=" after daemon, found the end of the file"#)
    }

    @Test func missingValue() {
        #expect(configError("workers =\nbacklog = 5") == #"test.conf:1: workers: expected a value, found "backlog" ="#)
        #expect(configError("workers =") == "test.conf:1: workers: expected a value, found the end of the file")
        #expect(configError("workers = = 5") == #"test.conf:1: workers: expected a value, found "=""#)
    }

    @Test func strayPunctuation() {
        #expect(configError("workers = 2\n}") == #"test.conf:2: expected a setting name, found "}""#)
        #expect(configError(#""workers" = 2"#) == #"test.conf:1: expected a setting name, found the string "workers""#)
    }

    @Test func oneValuePerSetting() {
        #expect(
            configError("workers = 4 5")
                == #"test.conf:1: workers: expected one value (quote text that contains spaces), found "4 5""#)
        #expect(
            configError("user = unwrapd stray\nworkers = 1")?.hasPrefix("test.conf:1: user: expected one value") == true
        )
    }

    @Test func valueWordsStopAtTheEndOfTheLine() {
        #expect(
            configError("user = unwrapd\nstray\nworkers = 1")
                == #"test.conf:2: expected "=" after stray, found "workers""#)
    }

    @Test func unterminatedString() {
        #expect(
            configError("workers = 1\nuser = \"unwrapd\nworkers = 2")
                == #"test.conf:2: expected a closing " on the line of the opening one, found none"#)
    }

    @Test func unclosedBlock() {
        #expect(
            configError("workers = 1\nfrontend = {\n  port = \"443\"\n")
                == #"test.conf:2: expected "}" to close the block opened here, found the end of the file"#)
    }

    @Test func blockForAPlainSetting() {
        #expect(
            configError("backend = {\n}")
                == "test.conf:1: backend: expected a value, found a { } block (only frontend and pem-file take one)")
    }

    @Test func badValuesNameKeyLineExpectedAndFound() {
        #expect(
            configError("\n\nbackend = foo")
                == #"test.conf:3: backend: expected "[HOST]:PORT", "HOST,PORT" or a UNIX socket path, found "foo""#)
        #expect(
            configError("workers = 0") == #"test.conf:1: workers: expected a number of at least 1 or auto, found "0""#)
        #expect(configError("daemon = maybe") == #"test.conf:1: daemon: expected on or off, found "maybe""#)
        #expect(
            configError("tls-protos = TLSv1.2 TLSv9")
                == #"test.conf:1: tls-protos: expected TLS versions from SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3, found "TLSv9""#
        )
        #expect(configError("log-level = 4") == #"test.conf:1: log-level: expected a log level from 0 to 3, found "4""#)
        #expect(
            configError("ssl-handshake-timeout = 0")
                == #"test.conf:1: ssl-handshake-timeout: expected a number of seconds greater than 0, found "0""#)
        #expect(configError("backlog = 0") == #"test.conf:1: backlog: expected a number of at least 1, found "0""#)
        #expect(
            configError("keepalive = -1")
                == #"test.conf:1: keepalive: expected a number of seconds, 0 to disable, found "-1""#)
        #expect(
            configError("syslog-facility = kern")?.hasPrefix(
                #"test.conf:1: syslog-facility: expected a syslog facility (auth, "#) == true)
    }

    @Test func commandLineOnlySetting() {
        #expect(
            configError("client = on")
                == "test.conf:1: client: not allowed at the top level: only available on the command line (--client)")
    }
}

@Suite struct ConfigFileTopLevelTests {
    @Test func everyTopLevelSetting() throws {
        let settings = try configSettings(
            """
            frontend = "[*]:443"
            frontend = "[127.0.0.1]:444+/etc/own.pem"
            backend = "/run/varnish.sock"
            pem-file = "/etc/a.pem"
            pem-file = "/etc/b.pem"
            pem-dir = "/etc/cert.d"
            pem-dir-glob = "*.pem"
            tls-protos = TLSv1.1 TLSv1.2
            ciphers = "HIGH"
            ciphersuites = "TLS_AES_128_GCM_SHA256"
            prefer-server-ciphers = on
            sni-nomatch-abort = on
            client-verify = optional
            client-verify-ca = "/etc/ca.pem"
            ecdh-curve = "X25519"
            alpn-protos = "h2, http/1.1"
            write-proxy-v2 = on
            proxy-tlv = off
            proxy-client-cert = on
            proxy-authority = off
            workers = auto
            backlog = 1024
            keepalive = 0
            backend-refresh = 60
            tcp-fastopen = on
            recv-bufsize = 65536
            send-bufsize = 32768
            ssl-handshake-timeout = 2.5
            backend-connect-timeout = 5
            max-connections = 10000
            coalesce-wait = 50
            ticket-wait = 5
            session-cache = 100
            session-tickets = off
            chroot = "/var/empty"
            user = "unwrapd"
            group = "nogroup"
            daemon = on
            pidfile = "/run/unwrapd.pid"
            drain-timeout = 30
            connection-log-limit = 7
            ticket-key-rotation = 600
            log-level = 3
            log-filename = "/var/log/unwrapd.log"
            syslog = on
            syslog-facility = "local0"
            """)
        var frontendWithCertificate = Frontend(host: "127.0.0.1", port: "444")
        frontendWithCertificate.certificates = [CertificateSource(path: "/etc/own.pem")]
        #expect(settings.frontends == [Frontend(host: nil, port: "443"), frontendWithCertificate])
        #expect(settings.backend == .unix(path: "/run/varnish.sock"))
        #expect(
            settings.certificates == [CertificateSource(path: "/etc/a.pem"), CertificateSource(path: "/etc/b.pem")])
        #expect(settings.pemDirectory == "/etc/cert.d")
        #expect(settings.pemDirectoryGlob == "*.pem")
        var tls = TLSOptions()
        tls.protocols = [.tls11, .tls12]
        tls.ciphers = "HIGH"
        tls.cipherSuites = "TLS_AES_128_GCM_SHA256"
        tls.preferServerCiphers = true
        tls.sniNoMatchAbort = true
        tls.clientVerify = .optional
        tls.clientVerifyCA = "/etc/ca.pem"
        tls.ecdhCurve = "X25519"
        #expect(settings.tls == tls)
        #expect(settings.alpnProtocols == ["h2", "http/1.1"])
        #expect(settings.backendHeader == .proxyV2)
        #expect(!settings.proxyTLV)
        #expect(settings.proxyClientCertificate)
        #expect(!settings.proxyAuthority)
        #expect(settings.workers == .perCPU)
        #expect(settings.backlog == 1024)
        #expect(settings.keepaliveSeconds == 0)
        #expect(settings.backendRefreshSeconds == 60)
        #expect(settings.tcpFastOpen)
        #expect(settings.receiveBufferSize == 65536)
        #expect(settings.sendBufferSize == 32768)
        #expect(settings.handshakeTimeout == 2.5)
        #expect(settings.backendConnectTimeout == 5)
        #expect(settings.maxConnections == 10000)
        #expect(settings.coalesceWaitMicroseconds == 50)
        #expect(settings.ticketWaitMilliseconds == 5)
        #expect(settings.sessionCacheSize == 100)
        #expect(!settings.sessionTickets)
        #expect(settings.chroot == "/var/empty")
        #expect(settings.user == "unwrapd")
        #expect(settings.group == "nogroup")
        #expect(settings.daemonize)
        #expect(settings.pidFile == "/run/unwrapd.pid")
        #expect(settings.drainTimeoutSeconds == 30)
        #expect(settings.connectionLogLimit == 7)
        #expect(settings.ticketKeyRotationSeconds == 600)
        #expect(settings.logLevel == 3)
        #expect(settings.logFile == "/var/log/unwrapd.log")
        #expect(settings.syslog)
        #expect(settings.syslogFacility == "local0")
    }

    @Test func unquotedTLSProtocolList() throws {
        #expect(try configSettings("tls-protos = TLSv1.2 TLSv1.3\nworkers = 2").tls.protocols == [.tls12, .tls13])
        #expect(try configSettings(#"tls-protos = "TLSv1.3""#).tls.protocols == [.tls13])
    }

    @Test func unquotedALPNList() throws {
        #expect(try configSettings("alpn-protos = h2, http/1.1").alpnProtocols == ["h2", "http/1.1"])
    }

    @Test func deprecatedProtocolSwitches() throws {
        #expect(try configSettings("tls = on").tls.protocols == [.tls10, .tls11, .tls12, .tls13])
        #expect(try configSettings("ssl = on").tls.protocols == [.sslv3, .tls10, .tls11, .tls12, .tls13])
        #expect(try configSettings("tls = off").tls.protocols == TLSOptions().protocols)
        #expect(try configSettings("ssl = off\ntls-protos = TLSv1.3").tls.protocols == [.tls13])
    }

    @Test func protocolsAreChosenOnceAtTheTopLevel() {
        #expect(
            configError("tls-protos = TLSv1.2\n\ntls = on")
                == "test.conf:3: tls: the protocols were already chosen by tls-protos (test.conf:1); give them once, with tls-protos"
        )
        #expect(
            configError("ssl = on\ntls-protos = TLSv1.3")?.hasPrefix(
                "test.conf:2: tls-protos: the protocols were already chosen by ssl") == true)
        #expect(configError("tls-protos = TLSv1.2\ntls-protos = TLSv1.3") != nil)
    }

    @Test func quietIsItsOwnSwitchBesideTheLogLevel() throws {
        #expect(try configSettings("log-level = 2\nquiet = on").quiet)
        #expect(try configSettings("log-level = 2\nquiet = on").logLevel == 2)
        #expect(try !configSettings("quiet = off").quiet)
    }

    @Test func emptyStringsMeanNotSet() throws {
        let settings = try configSettings(
            """
            frontend = ""
            pem-file = ""
            backend = ""
            chroot = ""
            user = ""
            group = ""
            ciphers = ""
            ssl-engine = ""
            syslog-facility = ""
            alpn-protos = ""
            """)
        #expect(settings == Settings())
    }

    /// Except `ocsp-dir`, where "" turns the fetching of OCSP responses off, as in hitch.
    @Test func anEmptyOCSPDirectoryTurnsFetchingOff() throws {
        var expected = Settings()
        expected.ocsp.directory = ""
        #expect(try configSettings("ocsp-dir = \"\"") == expected)
    }

    @Test func writeProxyIsWriteProxyV2() throws {
        #expect(try configSettings("write-proxy = on").backendHeader == .proxyV2)
        #expect(try configSettings("write-proxy = on\nwrite-proxy-v2 = on").backendHeader == .proxyV2)
        #expect(try configSettings("write-ip = on").backendHeader == .clientIP)
        #expect(try configSettings("write-proxy-v1 = on").backendHeader == .proxyV1)
        #expect(try configSettings("proxy-proxy = on").backendHeader == .passThrough)
    }

    @Test func backendHeadersExcludeEachOther() {
        #expect(
            configError("write-proxy-v2 = on\nwrite-ip = on")
                == "test.conf:2: write-ip: cannot be combined with write-proxy-v2 (test.conf:1): write-ip, write-proxy-v1, write-proxy-v2 and proxy-proxy are mutually exclusive"
        )
        #expect(
            configError("proxy-proxy = on\nwrite-proxy-v1 = on")?.hasPrefix(
                "test.conf:2: write-proxy-v1: cannot be combined with proxy-proxy (test.conf:1)") == true)
    }

    @Test func turningAHeaderOffClearsOnlyItself() throws {
        #expect(try configSettings("write-ip = on\nwrite-ip = off\nwrite-proxy-v1 = on").backendHeader == .proxyV1)
        #expect(try configSettings("write-ip = on\nwrite-proxy-v1 = off").backendHeader == .clientIP)
    }

    @Test func frontendsAccumulateAndReplaceTheDefault() throws {
        let settings = try configSettings(#"frontend = "[*]:1"  frontend = "[::1]:2""#)
        #expect(settings.frontends == [Frontend(host: nil, port: "1"), Frontend(host: "::1", port: "2")])
    }

    @Test func theDefaultFrontendMayBeGivenExplicitly() throws {
        #expect(try configSettings(#"frontend = "[*]:8443""#).frontends == [Frontend(host: nil, port: "8443")])
    }

    @Test func aFrontendAddressIsDefinedOnce() {
        #expect(
            configError("frontend = \"[*]:443\"\nfrontend = {\n host = \"*\"\n port = \"443\"\n}")
                == "test.conf:2: frontend: [*]:443 is already defined by frontend (test.conf:1); each frontend needs its own address and port"
        )
    }

    @Test func unsupportedFeaturesAtTheirDefaultsAreAccepted() throws {
        let settings = try configSettings(
            """
            ocsp-dir = "/var/lib/hitch/"
            ocsp-verify-staple = off
            ocsp-connect-tmo = 4
            ocsp-resp-tmo = 10
            ocsp-refresh-interval = 1800
            ssl-engine = ""
            session-cache = 0
            """)
        #expect(settings.unsupportedFeatures.isEmpty)
    }
}

@Suite struct ConfigFileBlockTests {
    @Test func frontendBlockWithEverySetting() throws {
        let settings = try configSettings(
            """
            frontend = {
                host = "127.0.0.1"
                port = "443"
                pem-file = "/etc/a.pem"
                pem-file = {
                    cert = "/etc/b.crt"
                    private-key = "/etc/b.key"
                    client-verify = optional
                }
                match-global-certs = on
                sni-nomatch-abort = on
                tls-protos = TLSv1.3
                ciphers = "HIGH"
                ciphersuites = "TLS_AES_256_GCM_SHA384"
                prefer-server-ciphers = on
                client-verify = required
                client-verify-ca = "/etc/ca.pem"
            }
            """)
        var expected = Frontend(host: "127.0.0.1", port: "443")
        var keyed = CertificateSource(path: "/etc/b.crt")
        keyed.privateKeyPath = "/etc/b.key"
        keyed.clientVerify = .optional
        expected.certificates = [CertificateSource(path: "/etc/a.pem"), keyed]
        expected.matchGlobalCertificates = true
        expected.tls.sniNoMatchAbort = true
        expected.tls.protocols = [.tls13]
        expected.tls.ciphers = "HIGH"
        expected.tls.cipherSuites = "TLS_AES_256_GCM_SHA384"
        expected.tls.preferServerCiphers = true
        expected.tls.clientVerify = .required
        expected.tls.clientVerifyCA = "/etc/ca.pem"
        #expect(settings.frontends == [expected])
        #expect(settings.tls == TLSOptions())
        #expect(settings.certificates.isEmpty)
    }

    @Test func frontendBlockHostStarOrEmptyIsEveryAddress() throws {
        #expect(
            try configSettings("frontend = { host = \"*\" port = \"1\" }").frontends == [Frontend(host: nil, port: "1")]
        )
        #expect(try configSettings("frontend = { port = 2 }").frontends == [Frontend(host: nil, port: "2")])
        #expect(
            try configSettings("frontend = { host = \"\" port = \"3\" }").frontends == [Frontend(host: nil, port: "3")])
    }

    @Test func frontendBlockNeedsAPort() {
        #expect(
            configError("workers = 1\nfrontend = {\n host = \"*\"\n}")
                == #"test.conf:2: frontend: expected port = "PORT" in the block, found none"#)
        #expect(
            configError("frontend = { port = \"99999\" }")
                == #"test.conf:1: port: expected a port number from 0 to 65535 or a service name, found "99999""#)
    }

    @Test func frontendWithoutCertificatesMustMatchTheGlobalOnes() {
        #expect(
            configError("frontend = {\n port = \"443\"\n match-global-certs = off\n}")
                == "test.conf:1: frontend: match-global-certs = off but the block has no pem-file: [*]:443 would have no certificate"
        )
    }

    @Test func deprecatedSwitchesInAFrontendBlock() throws {
        let settings = try configSettings("frontend = { port = 1 ssl = on }")
        #expect(settings.frontends[0].tls.protocols == [.sslv3, .tls10, .tls11, .tls12, .tls13])
        #expect(
            configError("frontend = {\n port = 1\n ssl = on\n tls = on\n}")
                == "test.conf:4: tls: the protocols were already chosen by ssl (test.conf:3); give them once, with tls-protos"
        )
    }

    @Test func frontendBlockProtocolsAreIndependentOfTheTopLevel() throws {
        let settings = try configSettings("tls-protos = TLSv1.2\nfrontend = { port = 1 tls-protos = TLSv1.3 }")
        #expect(settings.tls.protocols == [.tls12])
        #expect(settings.frontends[0].tls.protocols == [.tls13])
    }

    @Test func emptyTextInAFrontendBlockInherits() throws {
        let settings = try configSettings(#"ciphers = "HIGH" frontend = { port = 1 ciphers = "" pem-file = "" }"#)
        #expect(settings.frontends == [Frontend(host: nil, port: "1")])
    }

    @Test func globalSettingsAreNotAllowedInAFrontendBlock() {
        #expect(
            configError("frontend = {\n port = 1\n workers = 2\n}")
                == "test.conf:3: workers: not allowed inside a frontend block: only allowed at the top level")
        #expect(
            configError("frontend = {\n port = 1\n frontend = \"[*]:2\"\n}")
                == "test.conf:3: frontend: not allowed inside a frontend block: only allowed at the top level")
        #expect(
            configError("frontend = { port = 1 ecdh-curve = \"auto\" }")?.hasPrefix(
                "test.conf:1: ecdh-curve: not allowed inside a frontend block") == true)
    }

    @Test func blockSettingsAreNotAllowedAtTheTopLevel() {
        #expect(
            configError("host = \"*\"")
                == "test.conf:1: host: not allowed at the top level: only allowed inside a frontend block")
        #expect(
            configError("cert = \"a.pem\"")
                == "test.conf:1: cert: not allowed at the top level: only allowed inside a pem-file block")
        #expect(
            configError("frontend = { port = 1 cert = \"a.pem\" }")
                == "test.conf:1: cert: not allowed inside a frontend block: only allowed inside a pem-file block")
        #expect(
            configError("pem-file = { cert = \"a.pem\" port = 1 }")
                == "test.conf:1: port: not allowed inside a pem-file block: only allowed inside a frontend block")
    }

    @Test func pemFileBlockAtTheTopLevel() throws {
        let settings = try configSettings(
            """
            pem-file = "/etc/first.pem"
            pem-file = {
                cert = "/etc/site.crt"
                private-key = "/etc/site.key"
                client-verify = none
            }
            """)
        var block = CertificateSource(path: "/etc/site.crt")
        block.privateKeyPath = "/etc/site.key"
        block.clientVerify = ClientVerify.none
        #expect(settings.certificates == [CertificateSource(path: "/etc/first.pem"), block])
    }

    @Test func pemFileBlockNeedsACertificate() {
        #expect(
            configError("pem-file = {\n private-key = \"k.pem\"\n}")
                == #"test.conf:1: pem-file: expected cert = "PATH" in the block, found none"#)
    }

    @Test func nestedBlocksOnlyForPemFileInAFrontend() {
        #expect(
            configError("frontend = { port = 1 ciphers = { } }")
                == "test.conf:1: ciphers: expected a value, found a { } block (only frontend and pem-file take one)")
        #expect(
            configError("pem-file = { cert = { } }")
                == "test.conf:1: cert: expected a value, found a { } block (only frontend and pem-file take one)")
    }

    @Test func errorsInsideBlocksNameTheirOwnLine() {
        let text = """
            frontend = {
                port = "443"

                prefer-server-ciphers = perhaps
            }
            """
        #expect(configError(text) == #"test.conf:4: prefer-server-ciphers: expected on or off, found "perhaps""#)
    }
}
