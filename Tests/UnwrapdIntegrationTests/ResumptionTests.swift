import Testing

/// Session resumption with tickets, on one worker and across workers: every worker encrypts tickets with the keys
/// the parent made before forking, so a session one worker issued resumes on any other.
@Suite struct ResumptionTests {
    /// The worker that completed the handshake of the client from `port`, and that handshake's log line
    /// (`worker N: [127.0.0.1]:PORT on ...: handshake complete: ..., resumed`; needs `--log-level=3`).
    private func handshakeLine(_ daemon: DaemonProcess, clientPort port: UInt16) throws -> (worker: Int?, line: String)
    {
        let lines = try daemon.waitForLog(forClientPort: port, containing: "handshake complete")
        let line = lines.first { $0.contains("handshake complete") }!
        guard let start = line.range(of: "worker ")?.upperBound else { return (nil, line) }
        return (Int(line[start...].prefix { $0.isNumber }), line)
    }

    @Test(arguments: [TLSVersion.tls12, .tls13])
    func aTicketResumesTheSession(version: TLSVersion) throws {
        let fixture = try RelayFixture("resume-ticket")
        defer { fixture.stop() }
        let port = fixture.port
        let daemon = try fixture.startDaemon(["--log-level=3"])
        defer { daemon.kill() }
        let options = TLSClientOptions(serverName: "a.example", minVersion: version, maxVersion: version)

        let first = try TLSTestClient(port: port, options: options)
        try first.handshake()
        #expect(!first.sessionReused)
        let session = try first.resumableSession()
        #expect(session.hasTicket)
        #expect(try first.roundTrip("first\n") == "first\n")
        #expect(try handshakeLine(daemon, clientPort: first.localPort).line.hasSuffix("SNI a.example"))
        first.close()

        var resuming = options
        resuming.session = session
        let second = try TLSTestClient(port: port, options: resuming)
        try second.handshake()
        #expect(second.sessionReused)
        #expect(second.version == version)
        #expect(try second.roundTrip("second\n") == "second\n")
        let (_, line) = try handshakeLine(daemon, clientPort: second.localPort)
        #expect(line.hasSuffix(", resumed"), "\(line)")
    }

    /// With two workers, new connections with the first session are made until one lands on the other worker (the
    /// kernel's SO_REUSEPORT hash of the client's port picks the worker, about even odds each): it must resume
    /// there, as must those that land on the first worker. 40 tries miss the other worker with chance 2^-40.
    @Test(arguments: [TLSVersion.tls12, .tls13])
    func aSessionFromOneWorkerResumesOnTheOther(version: TLSVersion) throws {
        try expectResumptionOnBothWorkers(
            TLSClientOptions(serverName: "a.example", minVersion: version, maxVersion: version))
    }

    /// TLS 1.2 without tickets resumes by session ID, from the session cache all workers share (`session-cache`,
    /// on by default).
    @Test func aSessionIDFromOneWorkerResumesOnTheOther() throws {
        try expectResumptionOnBothWorkers(
            TLSClientOptions(serverName: "a.example", maxVersion: .tls12, sessionTickets: false))
    }

    /// `session-tickets = off`: no ticket carries the session. TLS 1.2 resumes by session ID; a TLS 1.3 ticket is a
    /// session ID of the shared cache (32 bytes, where an encrypted session is 200 or more), resumes on either worker,
    /// and only once. Each connection resumes with the session the one before it brought, until one lands on the
    /// other worker (40 tries miss it with chance 2^-40).
    @Test(arguments: [TLSVersion.tls12, .tls13])
    func withTicketsOffSessionsResumeFromTheSharedCache(version: TLSVersion) throws {
        let fixture = try RelayFixture("resume-stateful")
        defer { fixture.stop() }
        let port = fixture.port
        let daemon = try fixture.startDaemon(["--workers=2", "--log-level=3", "--session-tickets=off"])
        defer { daemon.kill() }
        try daemon.waitForChildren(count: 2)
        let options = TLSClientOptions(serverName: "a.example", minVersion: version, maxVersion: version)

        let first = try TLSTestClient(port: port, options: options)
        try first.handshake()
        #expect(!first.sessionReused)
        let firstSession = try first.resumableSession()
        #expect(firstSession.ticketLength == (version == .tls13 ? 32 : 0))
        let issuer = try #require(try handshakeLine(daemon, clientPort: first.localPort).worker)
        first.close()

        try expectResumptionUntilAnotherWorker(
            daemon, port: port, options: options, session: firstSession, issuer: issuer, chained: true)

        var again = options
        again.session = firstSession
        let replay = try TLSTestClient(port: port, options: again)
        defer { replay.close() }
        try replay.handshake()
        #expect(replay.sessionReused == (version == .tls12), "the first session offered a second time")
    }

    /// A session that holds a large client certificate (here 40 subjectAltNames: more than a standard slot of the
    /// cache holds; with standard slots only, this test fails) resumes by session ID all the same, from the cache's
    /// large table.
    @Test func aSessionIDWithALargeClientCertificateResumesOnEitherWorker() throws {
        try expectResumptionOnBothWorkers { fixture in
            let certificates = fixture.certificates
            let names = (0..<40).map { "host-\($0).clients.example.com" }
            let certificate = try certificates.client(commonName: "large", dnsNames: names)
            let verification = ClientCertificateTests.verification("required", certificates)
            let options = TLSClientOptions(serverName: "a.example", maxVersion: .tls12, sessionTickets: false)
            return (
                .clientCertificate(certificate, options),
                [try DaemonProcess.configArgument(verification, in: fixture.directory)]
            )
        }
    }

    /// The shared cache holds `session-cache` sessions and gives the oldest one's place to a new one: with room for
    /// one, a second client's session takes the first one's. `session-cache = 0` is each worker's own cache again,
    /// OpenSSL's, which holds 20 480 and keeps both.
    @Test(arguments: [1, 0])
    func theSharedCacheHoldsSessionCacheSessions(size: Int) throws {
        let fixture = try RelayFixture("resume-cache-size")
        defer { fixture.stop() }
        let port = fixture.port
        let daemon = try fixture.startDaemon(["--session-cache=\(size)"])
        defer { daemon.kill() }
        let options = TLSClientOptions(serverName: "a.example", maxVersion: .tls12, sessionTickets: false)

        func newSession() throws -> TLSSession {
            let client = try TLSTestClient(port: port, options: options)
            defer { client.close() }
            try client.handshake()
            #expect(!client.sessionReused)
            return try client.resumableSession()
        }
        func resumes(_ session: TLSSession) throws -> Bool {
            var resuming = options
            resuming.session = session
            let client = try TLSTestClient(port: port, options: resuming)
            defer { client.close() }
            try client.handshake()
            #expect(try client.roundTrip("resumed?\n") == "resumed?\n")
            return client.sessionReused
        }
        let first = try newSession()
        #expect(try resumes(first), "the only session in the cache")
        let second = try newSession()
        #expect(try resumes(second))
        // Last: a failed resumption makes a new session, which would take the second one's place.
        #expect(try resumes(first) == (size == 0), "the first session after the second, session-cache = \(size)")
    }

    private func expectResumptionOnBothWorkers(
        _ options: TLSClientOptions, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        try expectResumptionOnBothWorkers(sourceLocation: sourceLocation) { _ in (options, []) }
    }

    /// The same, with the client's options and further daemon arguments that `setUp` makes in the test's fixture.
    private func expectResumptionOnBothWorkers(
        sourceLocation: SourceLocation = #_sourceLocation,
        setUp: (RelayFixture) throws -> (options: TLSClientOptions, arguments: [String])
    ) throws {
        let fixture = try RelayFixture("resume-workers")
        defer { fixture.stop() }
        let port = fixture.port
        let (options, arguments) = try setUp(fixture)
        let daemon = try fixture.startDaemon(["--workers=2", "--log-level=3"] + arguments)
        defer { daemon.kill() }
        try daemon.waitForChildren(count: 2)

        let first = try TLSTestClient(port: port, options: options)
        try first.handshake()
        let session = try first.resumableSession()
        #expect(session.hasTicket == options.sessionTickets, sourceLocation: sourceLocation)
        let issuer = try #require(
            try handshakeLine(daemon, clientPort: first.localPort).worker, sourceLocation: sourceLocation)
        first.close()

        try expectResumptionUntilAnotherWorker(
            daemon, port: port, options: options, session: session, issuer: issuer, chained: false,
            sourceLocation: sourceLocation)
    }

    /// New connections offer `session` until one lands on a worker other than `issuer` (the kernel's SO_REUSEPORT
    /// hash of the client's port picks the worker, about even odds each: 40 tries miss the other with chance
    /// 2^-40), and every one must resume. `chained`: each offers the session the connection before it brought, as
    /// a client of single-use tickets must, after a round trip (the TLS 1.3 ticket leaves with the response).
    private func expectResumptionUntilAnotherWorker(
        _ daemon: DaemonProcess, port: UInt16, options: TLSClientOptions, session first: TLSSession, issuer: Int,
        chained: Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var session = first
        var workersSeen: [Int] = []
        for _ in 0..<40 {
            var resuming = options
            resuming.session = session
            let client = try TLSTestClient(port: port, options: resuming)
            defer { client.close() }
            try client.handshake()
            let (worker, line) = try handshakeLine(daemon, clientPort: client.localPort)
            #expect(
                client.sessionReused, "worker \(String(describing: worker)), issuer \(issuer): \(line)",
                sourceLocation: sourceLocation)
            #expect(line.hasSuffix(", resumed"), "\(line)", sourceLocation: sourceLocation)
            if chained {
                #expect(try client.roundTrip("resumed\n") == "resumed\n", sourceLocation: sourceLocation)
                session = try client.resumableSession()
            }
            let seen = try #require(worker, "no worker number in \(line)", sourceLocation: sourceLocation)
            workersSeen.append(seen)
            if seen != issuer { break }
        }
        #expect(
            workersSeen.contains { $0 != issuer }, "every connection landed on worker \(issuer): \(workersSeen)",
            sourceLocation: sourceLocation)
    }
}
