import Glibc

/// The usual arrangement of a test about the daemon's operation rather than its data path: a test directory, a
/// server certificate for `a.example`, an echo backend and a free frontend port on 127.0.0.1.
///
///     let fixture = try RelayFixture("proc-term")
///     defer { fixture.stop() }
///     let daemon = try fixture.startDaemon(["-n", "2"])
///     defer { daemon.kill() }
///     try fixture.exchange("ping")
struct RelayFixture {
    let directory: TestDirectory
    let certificates: TestCertificates
    /// The server PEM (key, certificate, chain) for `a.example`, ECDSA P-256 unless the test asked for RSA.
    let pem: String
    let backend: TestBackend
    let port: UInt16

    /// `label` names the test directory (keep it short).
    init(_ label: String, backend behavior: BackendBehavior = .echo, keyType: KeyType = .ecdsaP256) throws {
        try self.init(label, keyType: keyType) { _ in try TestBackend(behavior) }
    }

    /// With a backend the test makes itself, in the fixture's directory (on a UNIX socket there, with a keep
    /// limit, ...): `RelayFixture("relay") { try TestBackend.unix(.echo, in: $0) }`. `stop()` stops it too.
    init(
        _ label: String, keyType: KeyType = .ecdsaP256, makingBackend makeBackend: (TestDirectory) throws -> TestBackend
    ) throws {
        directory = try TestDirectory(label)
        certificates = try TestCertificates(in: directory)
        pem = try certificates.server(["a.example"], keyType: keyType).pemFile
        backend = try makeBackend(directory)
        port = try Ports.freeTCPPort()
    }

    /// `[127.0.0.1]:PORT`: the frontend as the daemon names it in its logs.
    var frontendName: String { "[127.0.0.1]:\(port)" }

    /// `--frontend=... --backend=... <extra> PEM`.
    func arguments(_ extra: [String] = []) -> [String] {
        ["--frontend=\(frontendName)", "--backend=\(backend.hitchAddress)"] + extra + [pem]
    }

    /// Starts the daemon with `arguments(extra)` and waits for its readiness.
    func startDaemon(_ extra: [String] = [], environment: [String: String] = [:]) throws -> DaemonProcess {
        try DaemonProcess.start(arguments(extra), in: directory, environment: environment)
    }

    /// Starts the daemon with `arguments(extra)` and connects a client with `options` (by default none: no SNI, no
    /// verification) to the frontend, handshake done: `let (daemon, client) = try fixture.startDaemonAndConnect()`.
    func startDaemonAndConnect(_ extra: [String] = [], options: TLSClientOptions = .init()) throws
        -> (daemon: DaemonProcess, client: TLSTestClient)
    {
        let daemon = try startDaemon(extra)
        let client = try TLSTestClient(port: port, options: options)
        try client.handshake()
        return (daemon, client)
    }

    /// Starts the daemon listening on `frontends` (IPv6, several at once) instead of `port`, and waits for its
    /// readiness.
    func startDaemon(frontends: [Endpoint], _ extra: [String] = []) throws -> DaemonProcess {
        try DaemonProcess.start(
            frontends.map { "--frontend=\($0.hitchAddress)" } + ["--backend=\(backend.hitchAddress)"] + extra + [pem],
            in: directory)
    }

    /// A TLS client to the frontend (SNI `a.example`, trusting the test CA), handshake done.
    func connectedClient(port: UInt16? = nil, ioTimeout: Duration = .seconds(5)) throws -> TLSTestClient {
        let client = try TLSTestClient(
            port: port ?? self.port,
            options: TLSClientOptions(
                serverName: "a.example", trustedCAFile: certificates.caFile, ioTimeout: ioTimeout))
        try client.handshake()
        return client
    }

    /// One round trip through the daemon on a new connection: handshake, `text` out, the echo back; returns what
    /// came back.
    @discardableResult
    func exchange(_ text: String = "ping", port: UInt16? = nil) throws -> String {
        let client = try connectedClient(port: port)
        defer { client.close() }
        try client.write(text)
        return String(decoding: try client.read(exactly: text.utf8.count), as: UTF8.self)
    }

    /// Sends a plain HTTP request to the TLS frontend (a handshake that fails) and waits until the daemon closed
    /// the connection; returns the client's port, which the daemon's log line names (`[127.0.0.1]:PORT`).
    @discardableResult
    func failHandshake(port: UInt16? = nil) throws -> UInt16 {
        let client = try PlainClient(port: port ?? self.port)
        defer { client.close() }
        let clientPort = client.localPort
        try client.send("GET / HTTP/1.0\r\n\r\n")
        _ = try client.waitForClose(timeout: .seconds(5))
        return clientPort
    }

    /// Stops the backend and removes the directory.
    func stop() {
        backend.stop()
        directory.remove()
    }
}

extension TLSTestClient {
    /// Writes `text` and reads as many bytes back (from an echo backend); returns them as text.
    func roundTrip(_ text: String) throws -> String {
        try write(text)
        return String(decoding: try read(exactly: text.utf8.count), as: UTF8.self)
    }
}
