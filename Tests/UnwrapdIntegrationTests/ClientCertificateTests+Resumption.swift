import Testing

/// Resumption and client certificates: a resumed session skips the certificate request, so a session may resume
/// only under the certificate and the client-verification policy it was made with. A session from where no
/// certificate is asked for, offered where one is required, gets a full handshake (which asks for the certificate)
/// instead of letting a client without one through to the backend.
extension ClientCertificateTests {
    /// How a client resumes: its protocol version, and a ticket or (TLS 1.2 only) the server's session-ID cache;
    /// for TLS 1.3 also a stateful ticket, a key to the daemon's session cache (`session-tickets = off`).
    struct Resumption: Sendable, CustomTestStringConvertible {
        let version: TLSVersion
        let tickets: Bool
        var statefulTickets = false
        var testDescription: String {
            "\(version) \(tickets ? (statefulTickets ? "stateful ticket" : "ticket") : "session ID")"
        }
        /// What the daemon is started with for this way of resuming.
        var daemonArguments: [String] { statefulTickets ? ["--session-tickets=off"] : [] }

        static let all = [
            Resumption(version: .tls13, tickets: true),
            Resumption(version: .tls13, tickets: true, statefulTickets: true),
            Resumption(version: .tls12, tickets: true), Resumption(version: .tls12, tickets: false),
        ]

        /// Options for a client that resumes this way, sending `serverName` and presenting `certificate`.
        func options(serverName: String?, certificate: CertificateFiles? = nil) -> TLSClientOptions {
            var options = TLSClientOptions(serverName: serverName, minVersion: version, maxVersion: version)
            options.sessionTickets = tickets
            return certificate.map { .clientCertificate($0, options) } ?? options
        }
    }

    /// Connects with `options` and `session`, expects to be served, and returns the client's new session after
    /// checking whether the offered one was resumed.
    private func expectServed(
        port: UInt16, _ options: TLSClientOptions, session: TLSSession?, resumed: Bool, _ comment: Comment,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> TLSSession {
        var options = options
        options.session = session
        let client = try TLSTestClient(port: port, options: options)
        defer { client.close() }
        try expectServed(client, comment, sourceLocation: sourceLocation)
        #expect(client.sessionReused == resumed, comment, sourceLocation: sourceLocation)
        return try client.resumableSession()
    }

    /// Two frontends, one requiring client certificates: a session from the other one does not resume there, while
    /// sessions resume on the frontend that made them, with or without a certificate. The session offered there is
    /// the latest one, fresh: a stateful ticket that had resumed once would be refused for that reason alone.
    @Test(arguments: Resumption.all)
    func aSessionFromAnOpenFrontendDoesNotResumeOnAStrictOne(resumption: Resumption) throws {
        let fixture = try RelayFixture("ccert-resume-frontend")
        defer { fixture.stop() }
        let (certificates, backend, strict) = (fixture.certificates, fixture.backend, fixture.port)
        let (daemon, open) = try startStrictAndOpenFrontends(fixture, resumption.daemonArguments)
        defer { daemon.kill() }
        let anonymous = resumption.options(serverName: nil)
        let alice = resumption.options(serverName: nil, certificate: try certificates.client(commonName: "alice"))

        let openSession = try expectServed(port: open, anonymous, session: nil, resumed: false, "open frontend")
        let resumedSession = try expectServed(
            port: open, anonymous, session: openSession, resumed: true, "open frontend, resuming")
        let aliceSession = try expectServed(port: strict, alice, session: nil, resumed: false, "strict, alice")
        _ = try expectServed(port: strict, alice, session: aliceSession, resumed: true, "strict, alice resuming")

        var offering = anonymous
        offering.session = resumedSession
        try expectRefused(
            try TLSTestClient(port: strict, options: offering), resumption.version,
            alert: Self.missingCertificateAlert(resumption.version), daemon: daemon,
            "strict frontend, the open frontend's session, no certificate")
        #expect(backend.acceptedCount == 4)
    }

    /// One frontend where SNI picks the certificate and with it the policy: a session made for the open name does
    /// not resume for the strict one, whichever certificate is the default. (The certificate has to be chosen
    /// before OpenSSL looks the session up, in the ClientHello callback: the servername callback comes after.)
    @Test(arguments: ["strict certificate first", "strict certificate last"], Resumption.all)
    func aSessionForAnOpenNameDoesNotResumeForAStrictOne(order: String, resumption: Resumption) throws {
        let names = try StrictAndOpenNames(
            "ccert-resume-sni", strictIsDefault: order == "strict certificate last", resumption.daemonArguments)
        defer { names.stop() }
        let (daemon, port) = (names.daemon, names.port)
        let open = resumption.options(serverName: "open.example")

        let session = try expectServed(port: port, open, session: nil, resumed: false, "open.example")
        let resumedSession = try expectServed(
            port: port, open, session: session, resumed: true, "open.example, resuming")

        var offering = resumption.options(serverName: "strict.example")
        offering.session = resumedSession
        try expectRefused(
            try TLSTestClient(port: port, options: offering), resumption.version,
            alert: Self.missingCertificateAlert(resumption.version), daemon: daemon,
            "strict.example, open.example's session, no certificate")
        #expect(names.backend.acceptedCount == 2)
    }
}
