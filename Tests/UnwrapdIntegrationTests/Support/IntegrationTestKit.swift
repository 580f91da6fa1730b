/// The integration-test kit: drives the real `unwrapd` binary with real clients and a real backend.
///
/// Everything is synchronous and bounded: backends run on their own pthreads, clients are blocking sockets with
/// timeouts, waits are `poll(2)`s or condition waits with deadlines. Write tests as plain synchronous
/// `@Test func`s; each uses its own `TestDirectory` and its own ports, so they run in parallel.
///
/// - `TestDirectory`: a fresh temp directory (0755), removed at the end.
/// - `TestCertificates`: server PEMs (SAN, CN-only, wildcard, expired, self-signed; RSA or ECDSA), client
///   certificates and an untrusted one, broken PEMs.
/// - `TestBackend` + `BackendBehavior` + `BackendConnection`: echo / record / respond / pseudo-random / silent
///   backends on TCP or a UNIX socket; per-connection bytes, SHA-256, EOF; `acceptedCount`.
/// - `Ports`: free TCP ports (or bound sockets for socket activation).
/// - `DaemonProcess`: start with systemd-notify readiness, logs as files, signals, workers, stop, run-to-end;
///   `startUnwrapd` (fresh frontend port in front of a backend), `configArgument` (a hitch.conf as `--config=`),
///   `logLines(forClientPort:)` / `waitForLog(forClientPort:)` (what was logged about one client connection).
/// - `TLSTestClient` + `TLSClientOptions`: OpenSSL client with SNI, ALPN, versions, ciphers, client
///   certificates, resumption (`TLSSession`), alerts (`TLSAlert`), half-close, large-transfer helpers,
///   client-initiated renegotiation, how the peer closed the TCP connection (`waitForPeerToClose`: FIN or RST).
/// - `RawTLSHello`: a hand-built TLS 1.2 ClientHello (offers what OpenSSL will not, e.g. compression) and the
///   server's first reply.
/// - `TLSTestClient.transferDuplex`: sends and receives at once on one thread (nonblocking, `poll`), hashing both
///   ways; `TLSClientOptions.receiveBufferSize` for clients that push back early.
/// - `RelayFixture`: directory, certificate, backend (its own or the test's) and frontend port, daemon start.
/// - `ProxyV2Header`: the kit's own decoder of a PROXY v2 header and its TLVs, as a backend received it.
/// - `ProcessTable.residentBytes` (a worker's RSS), `TCPSocketTable.receiveQueue` (unread bytes on any loopback
///   socket, the daemon's too: "the daemon has read this").
/// - `PlainClient`: raw TCP for garbage, plain HTTP, idle connections.
/// - `CommandLineTools`: `openssl s_client`, `curl`, with stdin and a timeout.
/// - `waitUntil`: polling for conditions without a signal (a respawned worker appearing).
///
/// A typical test:
///
///     @Test func relaysBytesToTheBackend() throws {
///         let directory = try TestDirectory("relay")
///         let certificates = try TestCertificates(in: directory)
///         let pem = try certificates.server(["a.example"]).pemFile
///         let backend = try TestBackend(.echo)
///         defer { backend.stop() }
///         let port = try Ports.freeTCPPort()
///         let daemon = try DaemonProcess.start(
///             ["--frontend=[127.0.0.1]:\(port)", "--backend=\(backend.hitchAddress)", pem], in: directory)
///         defer { daemon.kill() }
///
///         let client = try TLSTestClient(port: port, options: .init(serverName: "a.example"))
///         try client.handshake()
///         try client.write("ping")
///         #expect(try client.read(exactly: 4) == Array("ping".utf8))
///         #expect(try daemon.stop() == .exited(0))
///     }
///
/// Keep objects alive with `defer { x.stop() }` / `defer { daemon.kill() }`: besides cleaning up when an
/// expectation throws, it makes their lifetime explicit (an optimised build may end a lifetime at last use).
enum IntegrationTestKit {}
