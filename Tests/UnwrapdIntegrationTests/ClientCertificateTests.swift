import Testing

/// Client certificates (`client-verify` = required | optional | none with `client-verify-ca`), set globally, in a
/// frontend block, and in a `pem-file` block (hitch 1.8). A refused client never reaches the backend, gets the
/// alert that says why (TLS 1.2: during the handshake; TLS 1.3: on its first read, after its side of the handshake
/// completed) and the daemon logs the reason.
@Suite struct ClientCertificateTests {
    private static let versions = [TLSVersion.tls12, .tls13]

    /// `client-verify = MODE` and the kit's client CA.
    static func verification(_ mode: String, _ certificates: TestCertificates) -> [String] {
        ["client-verify = \(mode)", "client-verify-ca = \"\(certificates.clientCAFile)\""]
    }

    /// Starts the daemon on `fixture` with `verification(mode)` (in a config file) and `extra`.
    private func startDaemon(_ fixture: RelayFixture, verifying mode: String, _ extra: [String] = []) throws
        -> DaemonProcess
    {
        let config = try DaemonProcess.configArgument(
            Self.verification(mode, fixture.certificates), in: fixture.directory)
        return try fixture.startDaemon([config] + extra)
    }

    /// `backend = ...` and `pem-file = ...` of `fixture`, for a config file that names its frontends itself.
    private func backendAndCertificate(_ fixture: RelayFixture) -> [String] {
        ["backend = \"\(fixture.backend.hitchAddress)\"", "pem-file = \"\(fixture.pem)\""]
    }

    /// A `frontend` block for 127.0.0.1:`port` with `settings` in it.
    private func frontendBlock(_ port: UInt16, _ settings: [String] = []) -> [String] {
        ["frontend = {", "    host = \"127.0.0.1\"", "    port = \"\(port)\""] + settings.map { "    " + $0 } + ["}"]
    }

    /// The alert that refuses a client without certificate: `certificate_required` in TLS 1.3, where the client
    /// reads it after its handshake, a plain `handshake_failure` in TLS 1.2.
    static func missingCertificateAlert(_ version: TLSVersion) -> TLSAlert {
        version == .tls13 ? .certificateRequired : .handshakeFailure
    }

    /// A client pinned to `version` that presents `certificate` (none when nil).
    private func client(
        _ port: UInt16, _ version: TLSVersion, certificate: CertificateFiles?, serverName: String? = nil
    ) throws -> TLSTestClient {
        var options = TLSClientOptions(serverName: serverName, minVersion: version, maxVersion: version)
        if let certificate { options = .clientCertificate(certificate, options) }
        return try TLSTestClient(port: port, options: options)
    }

    /// Expects the daemon to serve `client`: handshake and an echo through the backend.
    func expectServed(
        _ client: TLSTestClient, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        try client.handshake()
        #expect(try client.roundTrip("served\n") == "served\n", comment, sourceLocation: sourceLocation)
    }

    /// Expects the daemon to refuse `client` with `alert`: TLS 1.2 fails the handshake; with TLS 1.3 the client's
    /// handshake completes, it writes (bytes that must never reach the backend), and its first read gets the alert.
    /// Returns the daemon's log lines about the connection.
    @discardableResult
    func expectRefused(
        _ client: TLSTestClient, _ version: TLSVersion, alert: TLSAlert, daemon: DaemonProcess, _ comment: Comment,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [String] {
        let error: TLSClientError?
        if version == .tls13 {
            try client.handshake()
            // The daemon may have closed already; `aRefusedTLS13ClientIsNotResetBeforeItReadsTheAlert` is about
            // whether this write can fail.
            try? client.write("must never reach the backend\n")
            error = #expect(throws: TLSClientError.self, comment, sourceLocation: sourceLocation) {
                _ = try client.read()
            }
        } else {
            error = #expect(throws: TLSClientError.self, comment, sourceLocation: sourceLocation) {
                try client.handshake()
            }
        }
        #expect(
            error?.receivedAlert == alert, "\(comment): \(String(describing: error))", sourceLocation: sourceLocation)
        return try daemon.waitForLog(forClientPort: client.localPort, containing: "handshake failed")
    }

    // MARK: - client-verify = required

    @Test func requiredServesATrustedClientCertificate() throws {
        let fixture = try RelayFixture("ccert-trusted")
        defer { fixture.stop() }
        let (certificates, port) = (fixture.certificates, fixture.port)
        let daemon = try startDaemon(fixture, verifying: "required", ["--log-level=3"])
        defer { daemon.kill() }
        let alice = try certificates.client(commonName: "alice")

        for version in Self.versions {
            let client = try client(port, version, certificate: alice)
            try expectServed(client, "\(version)")
            let lines = try daemon.waitForLog(forClientPort: client.localPort, containing: "handshake complete")
            #expect(lines.first?.contains("client certificate verified") == true, "\(lines)")
        }
    }

    @Test func requiredRefusesAClientWithoutCertificate() throws {
        let fixture = try RelayFixture("ccert-missing", backend: .record)
        defer { fixture.stop() }
        let (backend, port) = (fixture.backend, fixture.port)
        let daemon = try startDaemon(fixture, verifying: "required")
        defer { daemon.kill() }

        for version in Self.versions {
            let alert = Self.missingCertificateAlert(version)
            let lines = try expectRefused(
                try client(port, version, certificate: nil), version, alert: alert, daemon: daemon, "\(version)")
            #expect(lines.count == 1, "\(lines)")
            #expect(lines.first?.contains("peer did not return a certificate") == true, "\(lines)")
        }
        #expect(backend.acceptedCount == 0)
    }

    /// TLS 1.3 tells a client it was refused only after the client's side of the handshake, and clients like curl
    /// send their request before they read. The daemon has to close a refused connection so that such a write does
    /// not meet a reset, or the client never reads the alert (curl then reports "(55) getpeername() failed"
    /// instead of "alert certificate required"). A close(2) with the client's bytes still unread sends RST.
    @Test func aRefusedTLS13ClientIsNotResetBeforeItReadsTheAlert() throws {
        let fixture = try RelayFixture("ccert-reset", backend: .record)
        defer { fixture.stop() }
        let (backend, port) = (fixture.backend, fixture.port)
        let daemon = try startDaemon(fixture, verifying: "required")
        defer { daemon.kill() }

        let client = try client(port, .tls13, certificate: nil)
        try client.handshake()
        try daemon.waitForLog(forClientPort: client.localPort, containing: "peer did not return a certificate")
        let end = try client.waitForPeerToClose()
        #expect(end == .eof, "the daemon reset the refused connection instead of closing it")

        var writeError: TLSClientError?
        do { try client.write("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n") } catch { writeError = error }
        #expect(writeError == nil, "\(String(describing: writeError))")
        let error = #expect(throws: TLSClientError.self) { _ = try client.read() }
        #expect(error?.receivedAlert == .certificateRequired, "\(String(describing: error))")
        #expect(backend.acceptedCount == 0)
    }

    @Test func requiredRefusesAnUntrustedCertificate() throws {
        let fixture = try RelayFixture("ccert-untrusted", backend: .record)
        defer { fixture.stop() }
        let (certificates, backend, port) = (fixture.certificates, fixture.backend, fixture.port)
        let daemon = try startDaemon(fixture, verifying: "required")
        defer { daemon.kill() }
        let mallory = try certificates.untrustedClient(commonName: "mallory")

        for version in Self.versions {
            let lines = try expectRefused(
                try client(port, version, certificate: mallory), version, alert: .unknownCA, daemon: daemon,
                "\(version)")
            #expect(lines.count == 1, "\(lines)")
            #expect(lines.first?.contains("certificate verify failed") == true, "\(lines)")
            #expect(lines.first?.contains("self-signed certificate") == true, "\(lines)")
        }
        #expect(backend.acceptedCount == 0)
    }

    // MARK: - client-verify = optional

    @Test func optionalServesClientsWithoutCertificateButRefusesUntrustedOnes() throws {
        let fixture = try RelayFixture("ccert-optional")
        defer { fixture.stop() }
        let (certificates, backend, port) = (fixture.certificates, fixture.backend, fixture.port)
        let daemon = try startDaemon(fixture, verifying: "optional")
        defer { daemon.kill() }
        let alice = try certificates.client(commonName: "alice")
        let mallory = try certificates.untrustedClient(commonName: "mallory")

        for version in Self.versions {
            try expectServed(try client(port, version, certificate: nil), "\(version) without certificate")
            try expectServed(try client(port, version, certificate: alice), "\(version) trusted")
        }
        let served = backend.acceptedCount
        #expect(served == 2 * Self.versions.count)
        for version in Self.versions {
            let lines = try expectRefused(
                try client(port, version, certificate: mallory), version, alert: .unknownCA, daemon: daemon,
                "\(version) untrusted")
            #expect(lines.first?.contains("self-signed certificate") == true, "\(lines)")
        }
        #expect(backend.acceptedCount == served)
    }

    // MARK: - Where the setting is

    /// Starts a daemon with two frontends: `fixture.port` requires client certificates (a frontend block), the
    /// returned port asks for none. `extra`: more daemon arguments.
    func startStrictAndOpenFrontends(
        _ fixture: RelayFixture, _ extra: [String] = []
    ) throws -> (daemon: DaemonProcess, open: UInt16) {
        let open = try Ports.freeTCPPort()
        let strict = frontendBlock(fixture.port, Self.verification("required", fixture.certificates))
        let config = try DaemonProcess.configArgument(
            backendAndCertificate(fixture) + strict + frontendBlock(open), in: fixture.directory)
        return (try DaemonProcess.start([config] + extra, in: fixture.directory), open)
    }

    /// `client-verify` in a frontend block applies to that frontend only.
    @Test func aFrontendBlockRequiresCertificatesOnItsPortOnly() throws {
        let fixture = try RelayFixture("ccert-frontend")
        defer { fixture.stop() }
        let (certificates, backend, strict) = (fixture.certificates, fixture.backend, fixture.port)
        let (daemon, open) = try startStrictAndOpenFrontends(fixture)
        defer { daemon.kill() }
        let alice = try certificates.client(commonName: "alice")

        for version in Self.versions {
            try expectRefused(
                try client(strict, version, certificate: nil), version,
                alert: Self.missingCertificateAlert(version), daemon: daemon,
                "\(version) strict frontend, no certificate")
            try expectServed(try client(strict, version, certificate: alice), "\(version) strict frontend, alice")
            try expectServed(try client(open, version, certificate: nil), "\(version) open frontend")
        }
        #expect(backend.acceptedCount == 2 * Self.versions.count)
    }

    /// `client-verify = none` in a frontend block turns a global `required` off there: no certificate is asked
    /// for, so clients without one, or with one nobody trusts, are served; a block without the setting inherits it.
    @Test func aFrontendBlockCanTurnVerificationOff() throws {
        let fixture = try RelayFixture("ccert-none")
        defer { fixture.stop() }
        let (certificates, backend, open) = (fixture.certificates, fixture.backend, fixture.port)
        let inheriting = try Ports.freeTCPPort()
        let config = try DaemonProcess.configArgument(
            backendAndCertificate(fixture) + Self.verification("required", certificates)
                + frontendBlock(open, ["client-verify = none"]) + frontendBlock(inheriting), in: fixture.directory)
        let daemon = try DaemonProcess.start([config, "--log-level=3"], in: fixture.directory)
        defer { daemon.kill() }
        let mallory = try certificates.untrustedClient(commonName: "mallory")

        for version in Self.versions {
            for certificate in [nil, mallory] {
                let client = try client(open, version, certificate: certificate)
                try expectServed(client, "\(version), \(certificate?.commonName ?? "no certificate")")
                let lines = try daemon.waitForLog(forClientPort: client.localPort, containing: "handshake complete")
                #expect(lines.allSatisfy { !$0.contains("client certificate") }, "\(lines)")
            }
            try expectRefused(
                try client(inheriting, version, certificate: nil), version,
                alert: Self.missingCertificateAlert(version), daemon: daemon,
                "\(version) inheriting frontend")
        }
        #expect(backend.acceptedCount == 2 * Self.versions.count)
    }

    /// A daemon on a fresh port whose frontend serves strict.example, with `client-verify = required` in its
    /// `pem-file` block, and open.example, which asks for no certificate. Holds the directory the daemon logs in.
    struct StrictAndOpenNames {
        let directory: TestDirectory
        let certificates: TestCertificates
        let backend: TestBackend
        let daemon: DaemonProcess
        let port: UInt16

        /// Starts it, with `extra` daemon arguments; the strict certificate is listed last (the default) when
        /// `strictIsDefault`.
        init(_ name: String, strictIsDefault: Bool, _ extra: [String] = []) throws {
            directory = try TestDirectory(name)
            certificates = try TestCertificates(in: directory)
            let backend = try TestBackend(.echo)
            do {
                let strictPEM = try certificates.server(["strict.example"]).pemFile
                let openPEM = try certificates.server(["open.example"]).pemFile
                let strictBlock = ["pem-file = {", "    cert = \"\(strictPEM)\"", "    client-verify = required", "}"]
                let openLine = ["pem-file = \"\(openPEM)\""]
                let config = try DaemonProcess.configArgument(
                    ["client-verify-ca = \"\(certificates.clientCAFile)\""]
                        + (strictIsDefault ? openLine + strictBlock : strictBlock + openLine), in: directory)
                (daemon, port) = try DaemonProcess.startUnwrapd([config] + extra, backend: backend, in: directory)
            } catch {
                backend.stop()
                throw error
            }
            self.backend = backend
        }

        func stop() {
            daemon.kill()
            backend.stop()
        }
    }

    /// hitch 1.8: `client-verify` in a `pem-file` block applies when SNI picks that certificate, and also when it
    /// is the default one; the other certificate does not ask for a client certificate.
    @Test(arguments: ["strict certificate first", "strict certificate last"])
    func aPemFileBlockRequiresCertificatesForItsNamesOnly(order: String) throws {
        let strictIsDefault = order == "strict certificate last"
        let names = try StrictAndOpenNames("ccert-pemfile", strictIsDefault: strictIsDefault)
        defer { names.stop() }
        let (daemon, port, backend) = (names.daemon, names.port, names.backend)
        let alice = try names.certificates.client(commonName: "alice")

        var served = 0
        for version in Self.versions {
            let refusal = Self.missingCertificateAlert(version)
            try expectRefused(
                try client(port, version, certificate: nil, serverName: "strict.example"), version, alert: refusal,
                daemon: daemon, "\(order), \(version), strict.example without certificate")
            try expectServed(
                try client(port, version, certificate: alice, serverName: "strict.example"),
                "\(order), \(version), strict.example with alice")
            try expectServed(
                try client(port, version, certificate: nil, serverName: "open.example"),
                "\(order), \(version), open.example")
            served += 2
            let anonymous = try client(port, version, certificate: nil)
            if strictIsDefault {
                try expectRefused(
                    anonymous, version, alert: refusal, daemon: daemon, "\(order), \(version), no SNI")
            } else {
                try expectServed(anonymous, "\(order), \(version), no SNI")
                served += 1
            }
        }
        #expect(backend.acceptedCount == served)
    }
}
