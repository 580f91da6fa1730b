import Testing

/// `--coalesce-wait`: a response the backend writes in two parts reaches the client as one TLS record when the
/// second part comes within the wait, as two records without the wait; a hold whose rest never comes ends at its
/// deadline. One `SSL_read` returns at most one record, so the client's first read shows how the response left.
@Suite struct CoalescingTests {
    static let request = Array("GET / HTTP/1.1\r\n\r\n".utf8)
    static let head = Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".utf8)
    static let body = [UInt8](repeating: UInt8(ascii: "b"), count: 100)

    /// A backend that writes the head, and the body `pause` later, once it has the request.
    static func twoPartBackend(pause: Duration) -> BackendBehavior {
        .respondInParts([head, body], pause: pause, when: .afterReceiving(request.count))
    }

    @Test func aResponseWrittenInTwoPartsWithinTheWaitArrivesAsOneRecord() throws {
        let fixture = try RelayFixture("coalesce-join", backend: Self.twoPartBackend(pause: .milliseconds(20)))
        defer { fixture.stop() }
        let (daemon, client) = try fixture.startDaemonAndConnect(["--coalesce-wait=100000"])
        defer { daemon.kill() }

        try client.write(Self.request)
        #expect(try client.read(upTo: 4096) == Self.head + Self.body)
    }

    @Test func withoutTheWaitTheSecondPartIsASecondRecord() throws {
        let fixture = try RelayFixture("coalesce-off", backend: Self.twoPartBackend(pause: .milliseconds(20)))
        defer { fixture.stop() }
        let (daemon, client) = try fixture.startDaemonAndConnect(["--coalesce-wait=0"])
        defer { daemon.kill() }

        try client.write(Self.request)
        #expect(try client.read(upTo: 4096) == Self.head)
        #expect(try client.read(upTo: 4096) == Self.body)
    }

    /// The hold timer, not a later event, ends a wait whose rest never comes: the response leaves at the deadline.
    @Test func aWaitWhoseRestNeverComesEndsAtItsDeadline() throws {
        let response = Self.head + Self.body
        let fixture = try RelayFixture(
            "coalesce-end",
            backend: .respond(response, when: .afterReceiving(Self.request.count), then: .keepOpen))
        defer { fixture.stop() }
        let (daemon, client) = try fixture.startDaemonAndConnect(["--coalesce-wait=100000"])
        defer { daemon.kill() }

        let clock = ContinuousClock()
        let start = clock.now
        try client.write(Self.request)
        #expect(try client.read(upTo: 4096) == response)
        let elapsed = clock.now - start
        #expect(elapsed >= .milliseconds(100), "left before the wait of 100 ms ended: \(elapsed)")
        #expect(elapsed < .seconds(2), "the wait did not end at its deadline: \(elapsed)")
    }
}
