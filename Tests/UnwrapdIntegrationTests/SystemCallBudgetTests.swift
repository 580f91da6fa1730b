import Foundation
import Glibc
import Testing

/// The relay makes no system call whose answer it knows already (issue #3: "extra syscalls (read until EAGAIN)"),
/// counted in the real worker by an LD_PRELOAD library (`Fixtures/syscall_counter.c`):
/// - no read of a client socket right after writing to it, before an event says the client answered. After its
///   handshake flight, OpenSSL read the socket at once, and the read(2) said EAGAIN on every full handshake
///   (`ClientSocketBIO` answers such reads itself);
/// - no `TCP_CORK`: a TLS 1.3 session ticket and a response's last bytes wait for what follows them with
///   `MSG_MORE`, where `TCP_CORK` took two `setsockopt` calls per connection (`Connection+Corking.swift`);
/// - no `listen` from `-t`.
@Suite struct SystemCallBudgetTests {
    @Test func shortConnectionsMakeNoNeedlessSystemCalls() throws {
        let daemon = try CountedDaemon("syscalls", counting: "syscall_counter.c")
        defer { daemon.stop() }

        let request = [UInt8](repeating: 0x61, count: 100)
        for _ in 0..<50 {
            let client = try daemon.client()
            defer { client.close() }
            try client.handshake()
            #expect(client.version == .tls13)
            try client.write(request)
            #expect(try client.read(exactly: request.count) == request)
            #expect(try client.resumableSession().hasTicket)
            try client.sendCloseNotify()
            #expect(try client.readToEnd(timeout: .seconds(10)).bytes.isEmpty)
        }

        let readsAfterWrites = try daemon.count(SystemCallCount.eagainReadRightAfterWrite)
        let corkCalls = try daemon.count(SystemCallCount.corkSettings)
        #expect(readsAfterWrites == 0, "\(readsAfterWrites) reads said EAGAIN right after a write")
        #expect(corkCalls == 0, "\(corkCalls) setsockopt(TCP_CORK) calls")
    }

    /// `-t` binds the frontend's sockets, which checks the addresses, but listens on none: beside the running daemon,
    /// or systemd's socket for it, a listening socket in their `SO_REUSEPORT` group would take a share of the new
    /// connections and reset them when `-t` exits.
    @Test func aConfigurationCheckListensOnNothing() throws {
        let fixture = try RelayFixture("check-listen")
        defer { fixture.stop() }
        let counter = try PreloadCounter("syscall_counter.c", in: fixture.directory)
        let check = try DaemonProcess.run(["-t"] + fixture.arguments(), environment: counter.environment)
        #expect(check.succeeded, "\(check)")
        let files = try FileManager.default.contentsOfDirectory(atPath: counter.countsDirectory)
        let checkPID = try #require(files.count == 1 ? pid_t(files[0]) : nil, "count files: \(files)")
        #expect(try counter.count(SystemCallCount.listenCalls.rawValue, of: checkPID) == 0)

        let daemon = try fixture.startDaemon(environment: counter.environment)
        defer { daemon.kill() }
        #expect(try counter.count(SystemCallCount.listenCalls.rawValue, of: daemon.pid) == 1, "the daemon's own")
    }

    /// Reading only when an event says so must not stall a handshake whose first flight comes in parts: a
    /// ClientHello in three writes (the first inside the record header), each read by the worker (its socket's
    /// receive queue empty) before the next is sent, is answered with a ServerHello.
    @Test func aClientHelloInPartsIsAnswered() throws {
        let fixture = try RelayFixture("hello-in-parts")
        defer { fixture.stop() }
        let port = fixture.port
        let daemon = try fixture.startDaemon()
        defer { daemon.kill() }

        let hello = RawTLSHello.clientHello(compressionMethods: [RawTLSHello.nullCompression])
        let client = try PlainClient(port: port)
        defer { client.close() }
        try Sockets.setOption(client.fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        let cuts = [0, 3, 40, hello.count]
        for part in 0..<cuts.count - 1 {
            try Sockets.sendAll(client.fd, Array(hello[cuts[part]..<cuts[part + 1]]))
            try waitUntil("the worker to read part \(part) of the ClientHello", timeout: .seconds(5)) {
                TCPSocketTable.receiveQueue(localPort: port, remotePort: client.localPort) == 0
            }
        }
        let reply = try RawTLSHello.readReply(from: client)
        guard case .serverHello = reply else {
            Issue.record("the reply to a ClientHello in parts: \(reply)")
            return
        }
    }
}

/// What `Fixtures/syscall_counter.c` counts, by counter index.
private enum SystemCallCount: Int {
    /// Reads of a socket that said only EAGAIN right after the process wrote to it.
    case eagainReadRightAfterWrite
    /// `setsockopt(TCP_CORK)` calls.
    case corkSettings
    /// `listen` calls.
    case listenCalls
}
