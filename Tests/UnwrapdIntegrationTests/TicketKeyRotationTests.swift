import Testing

/// `--ticket-key-rotation`: the parent gives the session-ticket keys a new one every interval, in memory every
/// worker reads. A ticket resumes while its key is one of the last three, on whichever worker, and no longer after.
@Suite struct TicketKeyRotationTests {
    @Test(arguments: [TLSVersion.tls12, .tls13])
    func aTicketResumesForTwoRotationsAndNotAfter(version: TLSVersion) throws {
        let fixture = try RelayFixture("ticket-rotation")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["--ticket-key-rotation=2", "--log-level=2", "--workers=2"])
        defer { daemon.kill() }
        let options = TLSClientOptions(serverName: "a.example", minVersion: version, maxVersion: version)

        let first = try TLSTestClient(port: fixture.port, options: options)
        try first.handshake()
        let session = try first.resumableSession()
        #expect(session.hasTicket)
        first.close()

        /// Whether a new connection offering `session` resumes it.
        func resumes() throws -> Bool {
            var resuming = options
            resuming.session = session
            let client = try TLSTestClient(port: fixture.port, options: resuming)
            defer { client.close() }
            try client.handshake()
            #expect(try client.roundTrip("after a rotation\n") == "after a rotation\n")
            return client.sessionReused
        }
        func awaitGeneration(_ generation: Int) throws {
            try waitUntil("key generation \(generation)", timeout: .seconds(15), details: daemon.stderr) {
                daemon.logContains("session-ticket keys rotated: generation \(generation)")
            }
        }

        // A key every 2 s: after the first rotation, the two resumptions have 4 s before the ticket's key is dropped.
        try awaitGeneration(1)
        // Two connections: either worker may take each; both read the keys from the memory they share.
        #expect(try resumes(), "a ticket of the key before the current one")
        #expect(try resumes(), "a ticket of the key before the current one")
        try awaitGeneration(3)
        #expect(try !resumes(), "a ticket three keys old")
    }

    /// A TLS 1.3 resumption brings a new ticket (RFC 8446 asks clients not to offer one twice), as with OpenSSL's own
    /// ticket keys, and that ticket resumes in turn. With a key callback that answered "decrypted, do not renew",
    /// OpenSSL sent none, and a client that keeps the newest session got a full handshake every other time.
    @Test func eachTLS13ResumptionBringsANewTicketThatResumes() throws {
        let fixture = try RelayFixture("ticket-renewal")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon()
        defer { daemon.kill() }
        let options = TLSClientOptions(serverName: "a.example", minVersion: .tls13)

        var session: TLSSession? = nil
        var tickets: [[UInt8]] = []
        for round in 0..<3 {
            var offering = options
            offering.session = session
            let client = try TLSTestClient(port: fixture.port, options: offering)
            defer { client.close() }
            try client.handshake()
            #expect(client.sessionReused == (round > 0), "connection \(round)")
            // The ticket comes before (or with) the response: once the echo is read, it has been taken in.
            #expect(try client.roundTrip("round \(round)\n") == "round \(round)\n")
            session = try client.resumableSession()
            tickets.append(session!.ticket)
        }
        #expect(Set(tickets).count == 3, "each connection brought a ticket of its own")
    }
}
