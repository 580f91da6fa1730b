import Testing

/// A stream's TLS records leave in shared TCP segments (held back while a `pump` streams: `MSG_MORE` to the client,
/// `TCP_CORK` to the backend, `Connection+Corking`), and the last one is never held back; a TLS 1.3 session ticket
/// leaves with the first response, or soon. One record carries at most 16 KiB, and with `TCP_NODELAY` alone each
/// record was a segment of its own: the receiving socket's count of data segments shows which way they left. The
/// daemon is the slower party here (the peers only hash), so without holding back nothing would merge the records.
/// Measured here, the download's 256 records took 69–82 segments corked and 232 without; 79–106 with `MSG_MORE`.
@Suite struct CorkingTests {
    static let size = 4 << 20
    static let records = size / (16 << 10)
    static let noCounter: Comment = "this kernel's TCP_INFO has no tcpi_data_segs_in (Linux 4.6 or later needed)"

    @Test func aDownloadsRecordsShareSegments() throws {
        let fixture = try RelayFixture(
            "cork-down", backend: .sendPseudoRandom(count: Self.size, seed: 41, when: .onConnect))
        defer { fixture.stop() }
        let (daemon, client) = try fixture.startDaemonAndConnect()
        defer { daemon.kill() }

        #expect(try client.readAndHashToEnd(timeout: .seconds(20)) == .pseudoRandom(count: Self.size, seed: 41))
        let segments = try #require(try Sockets.dataSegmentsReceived(by: client.fd), Self.noCounter)
        #expect(segments * 2 <= Self.records, "\(segments) data segments for \(Self.records) records")
    }

    /// The client writes three records at a time and waits until the backend has them all, so that the backend
    /// never holds the daemon back (a full receive window would merge segments with or without corking). Without
    /// corking each record is a segment (192 of 192 in six runs); corked, 66–94, as the three records of a burst do
    /// not always reach the daemon before it reads.
    @Test func anUploadsRecordsShareSegments() throws {
        let fixture = try RelayFixture("cork-up") { _ in try TestBackend(.record, keepLimit: 0) }
        defer { fixture.stop() }
        let (daemon, client) = try fixture.startDaemonAndConnect()
        defer { daemon.kill() }

        let burst = 3 * (16 << 10)
        let bursts = 64
        let stream = PseudoRandomStream(seed: 42)
        let sent = SHA256Hasher()
        func sendBurst() throws {
            let bytes = stream.next(burst)
            sent.update(bytes)
            try client.write(bytes)
        }
        try sendBurst()
        let connection = try fixture.backend.waitForConnection()
        try connection.waitForBytes(burst, timeout: .seconds(10))
        for index in 2...bursts {
            try sendBurst()
            try connection.waitForBytes(index * burst, timeout: .seconds(10))
        }
        let segments = try #require(try Sockets.dataSegmentsReceived(by: connection.fd), Self.noCounter)
        #expect(segments * 4 <= 3 * (3 * bursts), "\(segments) data segments for \(3 * bursts) records")
        try client.sendCloseNotify()
        #expect(try connection.waitForEOF(timeout: .seconds(10)).receivedSHA256 == sent.hexDigest)
    }

    /// Each exchange ends in a partial segment both ways. Left held back, the kernel would send it only after its
    /// 200 ms ceiling, so 20 exchanges would take 4 s or more; sent at the end of each `pump` they take
    /// milliseconds.
    @Test func theLastPartOfEachBurstLeavesAtOnce() throws {
        let fixture = try RelayFixture("cork-tail", backend: .echo)
        defer { fixture.stop() }
        let (daemon, client) = try fixture.startDaemonAndConnect()
        defer { daemon.kill() }

        let chunk = (64 << 10) + 1000
        let clock = ContinuousClock()
        let start = clock.now
        let (sent, received) = try client.echoInLockstep(count: 20 * chunk, seed: 43, chunkSize: chunk)
        let elapsed = clock.now - start
        #expect(received == sent)
        #expect(elapsed < .seconds(2), "20 echoes of \(chunk) bytes took \(elapsed)")
    }

    /// OpenSSL writes the TLS 1.3 session ticket when the client's Finished arrives; when the client's request came
    /// with it, the ticket is held back, waits for the echo and leaves in the same segment. The client receives two
    /// data segments (our handshake flight, then ticket and echo), and it has its ticket. `--ticket-wait=1000`, so
    /// that a slow test thread cannot outlast the wait.
    @Test func theSessionTicketLeavesWithTheFirstResponse() throws {
        let segments = try segmentsForFlightTicketAndEcho(["--ticket-wait=1000"], requestWithFinished: true)
        #expect(segments == 2, "\(segments) data segments for the flight, the ticket and the echo")
    }

    /// `--ticket-wait=0`: the ticket leaves at once, in a segment of its own, although the request came with the
    /// client's Finished.
    @Test func withoutTicketWaitTheTicketLeavesAlone() throws {
        let segments = try segmentsForFlightTicketAndEcho(["--ticket-wait=0"], requestWithFinished: true)
        #expect(segments == 3, "\(segments) data segments for the flight, the ticket and the echo")
    }

    /// A client whose request did not come with its Finished gets the ticket at once: it may be waiting for the ACK
    /// of its Finished before it sends (Nagle's algorithm, as this test client has it), and a held ticket made such a
    /// client's first request wait for `--ticket-wait` (20 ms by default; here 1 000, so that a held ticket would
    /// still wait for the echo and leave with it: two segments).
    @Test func aClientThatSpeaksAfterItsHandshakeGetsItsTicketAtOnce() throws {
        let segments = try segmentsForFlightTicketAndEcho(["--ticket-wait=1000"], requestWithFinished: false)
        #expect(segments == 3, "\(segments) data segments for the flight, the ticket and the echo")
    }

    /// A response that ends the connection: close_notify leaves in the segment of its last bytes. The backend sends
    /// response and FIN in one segment, so the worker has both at once; `--ticket-wait=0`, so that the held ticket
    /// does not join them anyway. The client receives the flight, the ticket, then response and close_notify: three
    /// data segments (four when close_notify left on its own).
    @Test func closeNotifyLeavesWithTheLastBytes() throws {
        let response = Array("HTTP/1.0 200 OK\r\n\r\nhello\n".utf8)
        let fixture = try RelayFixture(
            "cork-end", backend: .respond(response, when: .afterReceiving(5), then: .halfCloseInTheSameSegment))
        defer { fixture.stop() }
        let (daemon, client) = try fixture.startDaemonAndConnect(["--ticket-wait=0"])
        defer { daemon.kill() }

        try client.write("ping\n")
        let (bytes, end) = try client.readToEnd(timeout: .seconds(5))
        #expect(bytes == response)
        #expect(end == .closeNotify)
        #expect(client.version == .tls13)
        let segments = try #require(try Sockets.dataSegmentsReceived(by: client.fd), Self.noCounter)
        #expect(segments == 3, "\(segments) data segments for the flight, the ticket, the response and close_notify")
    }

    /// A TLS 1.3 handshake and one echo, the request in the segment of the client's Finished or after the
    /// handshake; the data segments the client received by then, once it has its ticket.
    private func segmentsForFlightTicketAndEcho(_ arguments: [String], requestWithFinished: Bool) throws -> Int {
        let fixture = try RelayFixture("cork-ticket")
        defer { fixture.stop() }
        var options = TLSClientOptions()
        options.finishedWithFirstWrite = requestWithFinished
        let (daemon, client) = try fixture.startDaemonAndConnect(arguments, options: options)
        defer { daemon.kill() }

        #expect(try client.roundTrip("ping\n") == "ping\n")
        #expect(client.version == .tls13)
        let segments = try #require(try Sockets.dataSegmentsReceived(by: client.fd), Self.noCounter)
        #expect(try client.resumableSession().hasTicket)
        return segments
    }

    /// A client that waits for its ticket before it speaks gets it at once: it has not spoken. (Held, the ticket would
    /// come `--ticket-wait`, 20 ms, after the backend accepted; the kernel alone releases a held-back segment only
    /// after 200 ms.)
    @Test func aClientThatWaitsForItsTicketGetsItSoon() throws {
        let fixture = try RelayFixture("cork-ticket-wait")
        defer { fixture.stop() }
        let (daemon, client) = try fixture.startDaemonAndConnect()
        defer { daemon.kill() }

        let clock = ContinuousClock()
        let start = clock.now
        let session = try client.resumableSession(timeout: .seconds(2))
        let waited = clock.now - start
        #expect(session.hasTicket)
        #expect(waited < .milliseconds(180), "the ticket came \(waited) after the handshake")
    }
}
