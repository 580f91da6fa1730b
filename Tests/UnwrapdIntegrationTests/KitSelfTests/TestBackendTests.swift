import Glibc
import Testing

/// `TestBackend` behaviors, driven with `PlainClient`.
@Suite struct TestBackendTests {
    @Test func echoSendsBackAndFollowsAHalfClose() throws {
        let backend = try TestBackend(.echo)
        defer { backend.stop() }
        let client = try PlainClient(port: backend.port)

        try client.send("hello")
        #expect(try client.read(exactly: 5) == Array("hello".utf8))
        try client.shutdownWrite()
        let (rest, end) = try client.readToEnd(timeout: .seconds(5))
        #expect(rest.isEmpty)
        #expect(end == .eof)

        let connection = try backend.waitForConnection()
        let final = try connection.waitUntilClosed()
        #expect(final.sawEOF)
        #expect(final.received == Array("hello".utf8))
        #expect(final.sentCount == 5)
        #expect(final.receivedSHA256 == SHA256Hasher.digest(Array("hello".utf8)))
        #expect(connection.peer == "127.0.0.1:\(client.localPort)")
    }

    @Test func recordKeepsBytesAndReportsEOF() throws {
        let backend = try TestBackend(.record)
        defer { backend.stop() }
        let client = try PlainClient(port: backend.port)
        try client.send("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n")
        try client.send("payload")

        let connection = try backend.waitForConnection()
        #expect(try connection.waitForText("payload").hasPrefix("PROXY TCP4 "))
        #expect(!connection.sawEOF)
        try client.shutdownWrite()
        let final = try connection.waitForEOF()
        #expect(final.receivedCount == 39)
        #expect(try client.readToEnd(timeout: .seconds(5)).end == .eof)
        #expect(backend.acceptedCount == 1)
    }

    @Test func respondAfterAnHTTPRequestHead() throws {
        let response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
        let backend = try TestBackend(.respond(Array(response.utf8), when: .endOfHTTPHead, then: .halfClose))
        defer { backend.stop() }
        let client = try PlainClient(port: backend.port)
        try client.send("GET / HTTP/1.1\r\nHost: x\r\n")
        #expect(throws: TimeoutError.self) { try client.read(timeout: .milliseconds(100)) }
        try client.send("\r\n")
        let (bytes, end) = try client.readToEnd(timeout: .seconds(5))
        #expect(String(decoding: bytes, as: UTF8.self) == response)
        #expect(end == .eof)
        try client.shutdownWrite()
        #expect(try backend.waitForConnection().waitUntilClosed().sawEOF)
    }

    /// The response and the FIN reach the client in one segment: its socket counts one data segment, and the end
    /// is there with the bytes.
    @Test func respondWithTheFINInTheSameSegment() throws {
        let response = Array("HTTP/1.0 200 OK\r\n\r\nhello\n".utf8)
        let backend = try TestBackend(.respond(response, when: .onConnect, then: .halfCloseInTheSameSegment))
        defer { backend.stop() }
        let client = try PlainClient(port: backend.port)
        let (bytes, end) = try client.readToEnd(timeout: .seconds(5))
        #expect(bytes == response)
        #expect(end == .eof)
        #expect(try Sockets.dataSegmentsReceived(by: client.fd) == 1)
    }

    @Test func respondOnConnectThenClose() throws {
        let backend = try TestBackend(.respond(Array("bye".utf8), when: .onConnect, then: .close))
        defer { backend.stop() }
        let client = try PlainClient(port: backend.port)
        let (bytes, end) = try client.readToEnd(timeout: .seconds(5))
        #expect(bytes == Array("bye".utf8))
        #expect(end == .eof)
    }

    @Test func largeTransfersBothWaysAreHashedNotKept() throws {
        let size = 50 << 20
        let backend = try TestBackend(.sendPseudoRandom(count: size, seed: 7), keepLimit: 0)
        defer { backend.stop() }
        let client = try PlainClient(port: backend.port)

        let sent = try client.sendPseudoRandom(count: size, seed: 3)
        try client.shutdownWrite()
        let received = try client.readAndHashToEnd(timeout: .seconds(20))
        #expect(
            received
                == HashedStream(byteCount: size, sha256: PseudoRandomStream.sha256(count: size, seed: 7), end: .eof))

        let final = try backend.waitForConnection().waitUntilClosed(timeout: .seconds(10))
        #expect(final.receivedCount == size)
        #expect(final.receivedSHA256 == sent)
        #expect(sent == PseudoRandomStream.sha256(count: size, seed: 3))
        #expect(final.received.isEmpty)
        #expect(final.sentSHA256 == received.sha256)
    }

    @Test func unixSocketBackendIsReachableByEveryone() throws {
        let directory = try TestDirectory("backend-unix")
        let backend = try TestBackend.unix(.echo, in: directory)
        defer { backend.stop() }
        var info = stat()
        #expect(stat(backend.hitchAddress, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o777)

        let client = try PlainClient(connectingTo: backend.endpoint)
        try client.send("over unix")
        #expect(try client.read(exactly: 9) == Array("over unix".utf8))
        #expect(try backend.waitForConnection().peer == "unix")
        backend.stop()
        #expect(access(backend.hitchAddress, F_OK) != 0)
    }

    @Test func ipv6LoopbackBackend() throws {
        let backend = try TestBackend(.echo, on: .tcp(host: "::1", port: 0))
        defer { backend.stop() }
        #expect(backend.hitchAddress == "[::1]:\(backend.port)")
        let client = try PlainClient(host: "::1", port: backend.port)
        try client.send("six")
        #expect(try client.read(exactly: 3) == Array("six".utf8))
        #expect(try backend.waitForConnection().peer.hasPrefix("[::1]:"))
    }

    @Test func silentBackendAcceptsButNeverAnswers() throws {
        let backend = try TestBackend(.silent)
        defer { backend.stop() }
        let client = try PlainClient(port: backend.port)
        try client.send("anyone?")
        #expect(throws: TimeoutError.self) { try client.read(timeout: .milliseconds(100)) }
        // The accept thread may not have run yet on a loaded machine: wait for it, then count.
        _ = try backend.waitForConnection()
        #expect(backend.acceptedCount == 1)
        backend.stop()
        #expect([StreamEnd.eof, .reset].contains(try client.readToEnd(timeout: .seconds(5)).end))
    }

    @Test func countsConnectionsAndRefusesAfterStop() throws {
        let backend = try TestBackend(.echo)
        #expect(backend.acceptedCount == 0)
        #expect(throws: BackendError.self) { try backend.waitForConnection(timeout: .milliseconds(50)) }
        backend.stop()
        let error = #expect(throws: SystemCallError.self) { try PlainClient(port: backend.port) }
        #expect(error?.errno == ECONNREFUSED)
    }

    @Test func freePortsAreDistinctAndBindable() throws {
        let ports =
            try (0..<5).map { _ in try Ports.freeTCPPort() } + [
                try Ports.freeTCPPort(host: "::1"), try Ports.freeTCPPort(host: "*"),
            ]
        #expect(Set(ports).count == ports.count)
        for (port, host) in zip(ports.suffix(2), ["::1", "::"]) {
            let (fd, _) = try Sockets.listen(on: .tcp(host: host, port: port))
            close(fd)
        }
    }

    /// The kernel picks its own ports (a client's source port, a backend's port 0) from the ephemeral range; a
    /// port handed out below it cannot be taken that way before the daemon binds it.
    @Test func freePortsLieBelowTheEphemeralRange() throws {
        for _ in 0..<20 {
            let port = Int(try Ports.freeTCPPort())
            #expect(Ports.range.contains(port) && port < Ports.ephemeralRange.lowerBound)
        }
    }

    @Test func aPortAnotherSocketListensOnIsSkipped() throws {
        let first = Int(try Ports.freeTCPPort())
        var held: [Int: Int32] = [:]
        defer { for fd in held.values { close(fd) } }
        for port in (first + 1)..<min(first + 21, Ports.range.upperBound) {
            if let (fd, _) = try? Sockets.listen(on: .tcp(host: "127.0.0.1", port: UInt16(port))) { held[port] = fd }
        }
        #expect(held.count > 10)
        let next = Int(try Ports.freeTCPPort())
        #expect(held[next] == nil)
    }
}
