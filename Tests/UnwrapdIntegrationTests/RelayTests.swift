import Glibc
import Testing

/// The data path (design §2): bytes relayed 1:1 both ways, half-closes passed on in order, many clients at
/// once, back-pressure with bounded memory. The real `unwrapd` between `TLSTestClient`s and `TestBackend`s.
@Suite struct RelayTests {
    /// Where the backend listens.
    enum BackendKind: String, CaseIterable, CustomTestStringConvertible {
        case tcp
        case unix

        var testDescription: String { rawValue }

        func start(_ behavior: BackendBehavior, in directory: TestDirectory, keepLimit: Int = 16 << 20) throws
            -> TestBackend
        {
            switch self {
            case .tcp: try TestBackend(behavior, keepLimit: keepLimit)
            case .unix: try TestBackend.unix(behavior, in: directory, keepLimit: keepLimit)
            }
        }
    }

    @Test(arguments: BackendKind.allCases)
    func bytesAreRelayedOneToOneBothWays(_ kind: BackendKind) throws {
        let fixture = try RelayFixture("relay-1to1") { directory in try kind.start(.echo, in: directory) }
        defer { fixture.stop() }
        let backend = fixture.backend
        let (daemon, client) = try fixture.startDaemonAndConnect(options: TLSClientOptions(serverName: "a.example"))
        defer { daemon.kill() }

        // Every byte value, so that no byte is special on the way.
        let everyByte = (0..<512).map { UInt8(truncatingIfNeeded: $0) }
        try client.write(everyByte)
        let connection = try backend.waitForConnection()
        #expect(try connection.waitForBytes(everyByte.count) == everyByte)
        #expect(try client.read(exactly: everyByte.count) == everyByte)
        switch kind {
        case .tcp: #expect(connection.peer.hasPrefix("127.0.0.1:"))
        case .unix: #expect(connection.peer == "unix")
        }

        // Then 2 MiB in 16 KiB steps, each echoed before the next is sent.
        let size = 2 << 20
        let (sent, received) = try client.echoInLockstep(count: size, seed: 5)
        #expect(received == sent)
        #expect(sent == PseudoRandomStream.sha256(count: size, seed: 5))

        try client.sendCloseNotify()
        let (rest, end) = try client.readToEnd(timeout: .seconds(5))
        #expect(rest.isEmpty)
        #expect(end == .closeNotify)

        // The backend received exactly what the client sent: the same bytes, the same count, nothing more.
        let expected = SHA256Hasher()
        expected.update(everyByte)
        expected.update(PseudoRandomStream(seed: 5).next(size))
        let final = try connection.waitForEOF()
        #expect(final.receivedCount == everyByte.count + size)
        #expect(final.receivedSHA256 == expected.hexDigest)
        #expect(backend.acceptedCount == 1)
        #expect(try daemon.stop() == .exited(0))
    }

    @Test func ipv6AndSeveralFrontendsServeAtOnce() throws {
        let fixture = try RelayFixture("relay-frontends")
        defer { fixture.stop() }
        let backend = fixture.backend
        let endpoints: [Endpoint] = [
            .tcp(host: "::1", port: try Ports.freeTCPPort(host: "::1")),
            .tcp(host: "127.0.0.1", port: try Ports.freeTCPPort()),
            .tcp(host: "127.0.0.1", port: try Ports.freeTCPPort()),
        ]
        let daemon = try fixture.startDaemon(frontends: endpoints)
        defer { daemon.kill() }

        // One client per frontend, all connected at once; each sends its own message.
        var clients: [TLSTestClient] = []
        for endpoint in endpoints {
            let client = try TLSTestClient(connectingTo: endpoint, options: TLSClientOptions(serverName: "a.example"))
            try client.handshake()
            clients.append(client)
        }
        for (index, client) in clients.enumerated() {
            try client.write("hello through frontend \(index) \(endpoints[index])\n")
        }
        for (index, client) in clients.enumerated() {
            let message = "hello through frontend \(index) \(endpoints[index])\n"
            #expect(try client.read(exactly: message.utf8.count) == Array(message.utf8))
            try client.sendCloseNotify()
            #expect(try client.readToEnd(timeout: .seconds(5)).end == .closeNotify)
        }
        #expect(backend.acceptedCount == endpoints.count)
        let texts = try (0..<endpoints.count).map { try backend.waitForConnection($0).waitForEOF() }
            .map { String(decoding: $0.received, as: UTF8.self) }
        #expect(
            Set(texts) == Set(endpoints.indices.map { "hello through frontend \($0) \(endpoints[$0])\n" }))
        #expect(try daemon.stop() == .exited(0))
    }

    // MARK: - Half-close

    /// (a) hitch gets this wrong: it ends the whole connection on the client's close_notify. The backend starts
    /// its response once it has the request (23 bytes), or only once it saw the client's EOF.
    @Test(arguments: [BackendBehavior.Trigger.afterReceiving(23), .afterEOF])
    func aClientThatSendsCloseNotifyRightAfterItsRequestStillGetsTheWholeResponse(
        _ responseStarts: BackendBehavior.Trigger
    ) throws {
        let size = 5 << 20
        let fixture = try RelayFixture(
            "relay-half-a", backend: .sendPseudoRandom(count: size, seed: 11, when: responseStarts))
        defer { fixture.stop() }
        let backend = fixture.backend
        let (daemon, client) = try fixture.startDaemonAndConnect()
        defer { daemon.kill() }

        let request = "GET /large HTTP/1.0\r\n\r\n"
        #expect(request.utf8.count == 23)
        try client.write(request)
        try client.sendCloseNotify()

        #expect(try client.readAndHashToEnd(timeout: .seconds(20)) == .pseudoRandom(count: size, seed: 11))
        let final = try backend.waitForConnection().waitForEOF()
        #expect(final.received == Array(request.utf8))
        #expect(try daemon.stop() == .exited(0))
    }

    /// A backend that sends a response and then goes quiet without closing (a keep-alive connection between two
    /// requests): the last bytes still reach the client at once. The worker defers a client write after a short
    /// backend read to the end of its loop iteration (one TLS record for a response written in two parts); a
    /// deferral that could wait for another event would leave these bytes stuck. Several large responses make the
    /// worker hit its per-event budget and continue in later iterations, where such a deferral once did.
    @Test func aResponseFollowedBySilenceArrivesWholeAndAtOnce() throws {
        let size = 3 << 20 + 123
        let response = (0..<size).map { UInt8(truncatingIfNeeded: $0 / 7 ^ $0) }
        let request = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        let fixture = try RelayFixture(
            "relay-quiet", backend: .respond(response, when: .afterReceiving(request.count), then: .keepOpen))
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon()
        defer { daemon.kill() }

        for attempt in 1...12 {
            var options = TLSClientOptions()
            options.ioTimeout = .seconds(5)
            let client = try TLSTestClient(port: fixture.port, options: options)
            try client.handshake()
            try client.write(request)
            #expect(try client.read(exactly: size) == response, "response \(attempt)")
            client.close()
        }
    }

    /// (b) The backend's EOF is the client's close_notify, after the last byte; the other direction stays open.
    @Test func theBackendsEOFReachesTheClientAsCloseNotifyAfterAllDataWhileTheClientCanStillSend() throws {
        let size = 5 << 20
        let fixture = try RelayFixture(
            "relay-half-b", backend: .sendPseudoRandom(count: size, seed: 12, when: .onConnect))
        defer { fixture.stop() }
        let backend = fixture.backend
        let (daemon, client) = try fixture.startDaemonAndConnect()
        defer { daemon.kill() }

        #expect(try client.readAndHashToEnd(timeout: .seconds(20)) == .pseudoRandom(count: size, seed: 12))

        // The backend only shut down its sending side: what the client sends now still arrives.
        let upload = 1 << 20
        let sent = try client.writePseudoRandom(count: upload, seed: 13)
        let connection = try backend.waitForConnection()
        try connection.waitForBytes(upload, timeout: .seconds(10))
        try client.sendCloseNotify()
        let final = try connection.waitForEOF()
        #expect(final.receivedCount == upload)
        #expect(final.receivedSHA256 == sent)

        // Both directions are done: the daemon closes the client's connection.
        #expect(try client.waitForPeerToClose() == .eof)
        #expect(try daemon.stop() == .exited(0))
    }

    /// (b') The same with a client that reads slower than the backend sends: the backend's EOF then reaches the
    /// worker while bytes still wait for the client (in the relay buffer or in OpenSSL's unfinished write), and the
    /// close_notify must wait behind them. The client reads 4 KiB at a time with a pause of 1 ms — slowness is the
    /// point here, not a wait for readiness — through small socket buffers on both ends of its connection.
    @Test func theBackendsEOFWaitsBehindBytesASlowClientHasNotReadYet() throws {
        // Not a multiple of the 16 KiB relay buffer: the last read leaves room for the EOF behind the last bytes.
        let size = (256 << 10) + 5000
        let fixture = try RelayFixture(
            "relay-half-b2", backend: .sendPseudoRandom(count: size, seed: 16, when: .onConnect))
        defer { fixture.stop() }
        let (daemon, client) = try fixture.startDaemonAndConnect(
            ["--send-bufsize=4096"], options: TLSClientOptions(receiveBufferSize: 4096))
        defer { daemon.kill() }

        let hasher = SHA256Hasher()
        var count = 0
        let deadline = Deadline.after(.seconds(20))
        while !deadline.hasPassed {
            let chunk = try client.read(upTo: 4096)
            if chunk.isEmpty { break }
            hasher.update(chunk)
            count += chunk.count
            sleepBriefly(.milliseconds(1))
        }
        #expect(count == size)
        #expect(hasher.hexDigest == PseudoRandomStream.sha256(count: size, seed: 16))
        #expect(client.peerEnd == .closeNotify)
        #expect(try daemon.stop() == .exited(0))
    }

    /// (c) The client's close_notify is the backend's EOF, after the last byte.
    @Test func theClientsCloseNotifyReachesTheBackendAsEOFAfterAllBytes() throws {
        let fixture = try RelayFixture("relay-half-c") { _ in try TestBackend(.record, keepLimit: 0) }
        defer { fixture.stop() }
        let backend = fixture.backend
        let (daemon, client) = try fixture.startDaemonAndConnect()
        defer { daemon.kill() }

        let size = 3 << 20
        let sent = try client.writePseudoRandom(count: size, seed: 14)
        try client.sendCloseNotify()

        let final = try backend.waitForConnection().waitForEOF(timeout: .seconds(10))
        #expect(final.receivedCount == size)
        #expect(final.receivedSHA256 == sent)
        // The recording backend closes once it saw EOF: that comes back as close_notify, with no data.
        let (rest, end) = try client.readToEnd(timeout: .seconds(5))
        #expect(rest.isEmpty)
        #expect(end == .closeNotify)
        #expect(try daemon.stop() == .exited(0))
    }

    /// (d) A client's TCP EOF without close_notify is a half-close too (design §2): the backend sees EOF after
    /// the request, and its response still reaches the client, ended by close_notify.
    @Test func aClientsEOFWithoutCloseNotifyIsAHalfCloseToo() throws {
        let size = 1 << 20
        let fixture = try RelayFixture(
            "relay-half-d", backend: .sendPseudoRandom(count: size, seed: 15, when: .afterEOF))
        defer { fixture.stop() }
        let backend = fixture.backend
        let (daemon, client) = try fixture.startDaemonAndConnect()
        defer { daemon.kill() }

        let request = "GET /after-eof HTTP/1.0\r\n\r\n"
        try client.write(request)
        #expect(shutdown(client.fd, Int32(SHUT_WR)) == 0)

        let final = try backend.waitForConnection().waitForEOF()
        #expect(final.received == Array(request.utf8))
        #expect(try client.readAndHashToEnd(timeout: .seconds(10)) == .pseudoRandom(count: size, seed: 15))
        #expect(try daemon.stop() == .exited(0))
    }
}

/// The heavy relay tests, one at a time: they use both cores, and the memory test measures the worker's RSS.
@Suite(.serialized) struct RelayLoadTests {
    @Test func fiftyMebibytesEachWayAtTheSameTime() throws {
        let size = 50 << 20
        let fixture = try RelayFixture("relay-duplex") { _ in
            try TestBackend(.sendPseudoRandom(count: size, seed: 31, when: .onConnect), keepLimit: 0)
        }
        defer { fixture.stop() }
        let backend = fixture.backend
        let (daemon, client) = try fixture.startDaemonAndConnect()
        defer { daemon.kill() }

        let transfer = try client.transferDuplex(sending: size, seed: 32, thenCloseNotify: true, timeout: .seconds(60))
        #expect(transfer.sentSHA256 == PseudoRandomStream.sha256(count: size, seed: 32))
        #expect(transfer.received == .pseudoRandom(count: size, seed: 31))

        let final = try backend.waitForConnection().waitForEOF(timeout: .seconds(10))
        #expect(final.receivedCount == size)
        #expect(final.receivedSHA256 == transfer.sentSHA256)
        #expect(final.sentSHA256 == PseudoRandomStream.sha256(count: size, seed: 31))
        #expect(try daemon.stop() == .exited(0))
    }

    /// 200 clients open at once, over two workers; each sends its own pseudo-random stream through an echo
    /// backend and must get back exactly that stream, byte for byte. Four threads drive 50 clients each: every
    /// client writes a chunk, then every client reads its echo, round after round.
    @Test func twoHundredConcurrentClientsEachGetOnlyTheirOwnBytes() throws {
        let threadCount = 4
        let clientsPerThread = 50
        let rounds = 4
        let chunkSize = 8 << 10
        let fixture = try RelayFixture("relay-200") { _ in try TestBackend(.echo, keepLimit: 0) }
        defer { fixture.stop() }
        let backend = fixture.backend
        let port = fixture.port
        let daemon = try fixture.startDaemon(["--workers=2"])
        defer { daemon.kill() }

        let failures = Monitor<[String]>([])
        let threadsConnected = Monitor(0)
        var threads: [JoinableThread] = []
        for thread in 0..<threadCount {
            threads.append(
                try JoinableThread(name: "clients \(thread)") {
                    var connected = false
                    do {
                        var clients: [TLSTestClient] = []
                        for _ in 0..<clientsPerThread {
                            let client = try TLSTestClient(port: port)
                            try client.handshake()
                            clients.append(client)
                        }
                        connected = true
                        threadsConnected.update { $0 += 1 }
                        // Exchange data only once all 200 connections are open.
                        guard
                            threadsConnected.wait(until: .after(.seconds(30)), for: { $0 == threadCount ? true : nil })
                                != nil
                        else { throw TimeoutError(waitingFor: "all client threads to connect", timeout: .seconds(30)) }

                        let streams = (0..<clientsPerThread).map {
                            PseudoRandomStream(seed: UInt64(1000 + thread * clientsPerThread + $0))
                        }
                        for round in 0..<rounds {
                            var expected: [[UInt8]] = []
                            for (index, client) in clients.enumerated() {
                                let chunk = streams[index].next(chunkSize)
                                try client.write(chunk)
                                expected.append(chunk)
                            }
                            for (index, client) in clients.enumerated() {
                                let echoed = try client.read(exactly: chunkSize)
                                if echoed != expected[index] {
                                    let at = echoed.indices.first { echoed[$0] != expected[index][$0] } ?? 0
                                    failures.update {
                                        $0.append(
                                            "client \(thread * clientsPerThread + index), round \(round):"
                                                + " bytes differ from offset \(at)")
                                    }
                                }
                            }
                        }
                        for client in clients { try client.sendCloseNotify() }
                        for (index, client) in clients.enumerated() {
                            let (rest, end) = try client.readToEnd(timeout: .seconds(10))
                            if !rest.isEmpty || end != .closeNotify {
                                failures.update {
                                    $0.append(
                                        "client \(thread * clientsPerThread + index): after its close_notify got"
                                            + " \(rest.count) more bytes and \(end)")
                                }
                            }
                        }
                    } catch {
                        failures.update { $0.append("client thread \(thread): \(error)") }
                        if !connected { threadsConnected.update { $0 += 1 } }
                    }
                })
        }
        for thread in threads { thread.join() }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")

        // The backend got 200 connections, each carrying exactly one client's stream.
        let clientCount = threadCount * clientsPerThread
        #expect(backend.acceptedCount == clientCount)
        var digests: Set<String> = []
        for index in 0..<backend.acceptedCount {
            let final = try backend.waitForConnection(index).waitForEOF(timeout: .seconds(10))
            #expect(final.receivedCount == rounds * chunkSize)
            digests.insert(final.receivedSHA256 ?? "")
        }
        let expected = Set(
            (0..<clientCount).map { PseudoRandomStream.sha256(count: rounds * chunkSize, seed: UInt64(1000 + $0)) })
        #expect(digests == expected)
        #expect(try daemon.stop() == .exited(0))
    }

    /// A client that does not read while the backend sends 64 MiB: the worker stops reading the backend instead
    /// of buffering (its RSS hardly grows; relay buffers are 16 KiB per direction), the backend is held back,
    /// and once the client reads, every byte arrives in order.
    @Test func aClientThatDoesNotReadHoldsTheBackendBackWithBoundedWorkerMemory() throws {
        let size = 64 << 20
        let request = Array("start".utf8)
        let fixture = try RelayFixture("relay-pressure") { _ in
            try TestBackend(
                .sendPseudoRandom(count: size, seed: 41, when: .afterReceiving(request.count)), keepLimit: 0)
        }
        defer { fixture.stop() }
        let backend = fixture.backend
        let port = fixture.port
        let daemon = try fixture.startDaemon()
        defer { daemon.kill() }
        let worker = try daemon.waitForChildren(count: 1)[0]

        // A small receive buffer, so that the kernel holds little on the client's side.
        let client = try TLSTestClient(port: port, options: TLSClientOptions(receiveBufferSize: 64 << 10))
        try client.handshake()
        let connection = try backend.waitForConnection()
        let before = try #require(ProcessTable.residentBytes(worker))
        try client.write(request)

        // No signal says "every buffer on the way is full": poll until the backend's sending stops moving.
        var lastSent = -1
        var unchangedSince = ContinuousClock.now
        try waitUntil(
            "the backend's sending to be held back", timeout: .seconds(20), interval: .milliseconds(20),
            details: "sent \(connection.snapshot.sentCount) of \(size) bytes"
        ) {
            let sent = connection.snapshot.sentCount
            if sent != lastSent {
                lastSent = sent
                unchangedSince = .now
                return false
            }
            return sent > 0 && ContinuousClock.now - unchangedSince > .milliseconds(300)
        }
        let heldAt = connection.snapshot.sentCount
        let during = try #require(ProcessTable.residentBytes(worker))
        let growth = during - before
        #expect(heldAt < size, "the backend sent everything: nothing held it back")
        #expect(growth < 4 << 20, "worker RSS grew by \(growth) bytes while \(heldAt) bytes were sent")
        #expect(connection.snapshot.sentSHA256 == nil)

        #expect(try client.readAndHashToEnd(timeout: .seconds(30)) == .pseudoRandom(count: size, seed: 41))
        #expect(try daemon.stop() == .exited(0))
    }
}
