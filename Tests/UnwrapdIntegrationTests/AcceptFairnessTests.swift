import Glibc
import Testing

/// A flood of new clients does not starve established connections: a worker starts at most one new handshake per
/// listener per loop iteration, between the events of the connections it already serves.
@Suite struct AcceptFairnessTests {
    @Test func anEstablishedClientIsAnsweredBeforeAQueueOfNewClientsIsServed() throws {
        let waiting = 100
        // RSA: each new client's first handshake step costs the worker a signature (about a millisecond), so the
        // few the worker serves while this test reacts to the answer below stay few on a busy machine too.
        let fixture = try RelayFixture("fairness", keyType: .rsa2048)
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["-n", "1", "--backlog=256"])
        defer { daemon.kill() }
        let worker = try #require(daemon.childPIDs().first)
        let established = try fixture.connectedClient()
        defer { established.close() }
        #expect(try established.roundTrip("warm\n") == "warm\n")

        // With the worker stopped, `waiting` clients connect (the kernel queues them) and send a ClientHello, and
        // then the established client sends a request. Its answer needs two loop iterations once the worker runs:
        // one to pass the request to the backend, one to pass the echo back.
        #expect(kill(worker, SIGSTOP) == 0)
        var resumed = false
        defer { if !resumed { kill(worker, SIGCONT) } }
        let hello = RawTLSHello.clientHello(compressionMethods: [RawTLSHello.nullCompression])
        let newClients = try (0..<waiting).map { _ in try PlainClient(port: fixture.port) }
        defer { for client in newClients { client.close() } }
        for client in newClients { try client.send(hello) }
        try established.write("request\n")
        #expect(kill(worker, SIGCONT) == 0)

        // The answer comes; the worker is stopped again at once, and the new clients that got their ServerHello
        // meanwhile are counted.
        #expect(try established.read(exactly: 8) == Array("request\n".utf8))
        #expect(kill(worker, SIGSTOP) == 0)
        let answered = newClients.filter { client in
            var byte: UInt8 = 0
            return recv(client.fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 1
        }.count
        resumed = kill(worker, SIGCONT) == 0

        // Taking clients in batches (64 per wake-up before) serves all of them first.
        #expect(answered < waiting / 2, "\(answered) of \(waiting) new clients were served before the established one")
        #expect(try RawTLSHello.readReply(from: newClients[waiting - 1]).isServerHello, "the last one is served too")
    }
}

extension RawTLSHello.Reply {
    fileprivate var isServerHello: Bool {
        if case .serverHello = self { return true }
        return false
    }
}
