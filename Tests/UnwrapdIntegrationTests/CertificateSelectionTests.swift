import Foundation
import Glibc
import Testing

/// Which certificate the daemon presents: chains of RSA and ECDSA PEM files, SNI over several certificates (SAN,
/// CN, wildcard, default), `sni-nomatch-abort`, per-frontend certificates, `pem-file` blocks, `pem-dir`; ALPN;
/// and the daemon as curl and `openssl s_client` see it.
@Suite struct CertificateSelectionTests {
    /// The subject CN of the certificate presented for `serverName` (nil: no SNI). The client verifies the chain
    /// against the kit's root CA (without a host-name check, so a default certificate shows as itself).
    private func presentedName(_ serverName: String?, port: UInt16, certificates: TestCertificates) throws -> String? {
        let client = try TLSTestClient(
            port: port, options: TLSClientOptions(serverName: serverName, trustedCAFile: certificates.caFile))
        try client.handshake()
        return client.peerCommonName
    }

    // MARK: - One PEM file

    @Test(arguments: [KeyType.rsa2048, .ecdsaP256])
    func thePEMFilesChainIsSentAndVerifies(keyType: KeyType) throws {
        let directory = try TestDirectory("cert-chain")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(.echo)
        defer { backend.stop() }
        let pem = try certificates.server(["a.example", "www.a.example"], keyType: keyType).pemFile
        let (daemon, port) = try DaemonProcess.startUnwrapd([pem], backend: backend, in: directory)
        defer { daemon.kill() }

        for version in [TLSVersion.tls12, .tls13] {
            let client = try TLSTestClient(
                port: port,
                options: TLSClientOptions(
                    serverName: "www.a.example", minVersion: version, maxVersion: version,
                    trustedCAFile: certificates.caFile, verifyHostname: "www.a.example"))
            try client.handshake()
            #expect(client.verifyResult == 0, "\(client.verifyResultText)")
            #expect(client.peerChain.map(\.commonName) == ["a.example", "unwrapd test intermediate CA"])
            #expect(client.peerDNSNames == ["a.example", "www.a.example"])
            if version == .tls12 {
                let algorithm = keyType == .rsa2048 ? "-RSA-" : "-ECDSA-"
                #expect(client.cipher?.contains(algorithm) == true, "\(String(describing: client.cipher))")
            }
            #expect(try client.roundTrip("chain \(version)\n") == "chain \(version)\n")
        }
    }

    /// The chain sent is the PEM file's, nothing added: a PEM without its intermediate is sent as the leaf alone,
    /// even when `client-verify-ca` holds the intermediate and root that issued it (OpenSSL's automatic chain
    /// building would take them from there, and would verify a chain on every handshake).
    @Test func aPEMWithoutChainIsSentAsItIsNotCompletedFromTheClientCAs() throws {
        let directory = try TestDirectory("cert-no-auto-chain")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(.echo)
        defer { backend.stop() }
        let server = try certificates.server(["a.example"])
        func contents(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
        let chainFile = try #require(server.chainFile)
        let leafOnly = try directory.write(
            try contents(server.keyFile) + contents(server.certificateFile), to: "leaf-only.pem")
        let issuers = try directory.write(try contents(chainFile) + contents(certificates.caFile), to: "issuers.pem")
        let config = try DaemonProcess.configArgument(
            ["client-verify = optional", "client-verify-ca = \"\(issuers)\""], in: directory)
        let (daemon, port) = try DaemonProcess.startUnwrapd([config, leafOnly], backend: backend, in: directory)
        defer { daemon.kill() }

        for version in [TLSVersion.tls12, .tls13] {
            let options = TLSClientOptions(serverName: "a.example", minVersion: version, maxVersion: version)
            let client = try TLSTestClient(port: port, options: options)
            try client.handshake()
            #expect(client.peerChain.map(\.commonName) == ["a.example"], "\(version)")
            #expect(try client.roundTrip("leaf only\n") == "leaf only\n")
        }
    }

    // MARK: - SNI over several PEM files

    /// By subjectAltName (any of them, any case), by CN for a certificate without SAN; the PEM listed last serves
    /// clients without SNI and with a name no certificate has.
    @Test func sniSelectsBySANOrCNAndTheLastIsTheDefault() throws {
        let directory = try TestDirectory("cert-sni")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(.echo)
        defer { backend.stop() }
        let pems = [
            try certificates.server(["a.example", "www.a.example"]).pemFile,
            try certificates.serverWithoutSAN(commonName: "legacy.example").pemFile,
            try certificates.server(["b.example"], keyType: .rsa2048).pemFile,
        ]
        let (daemon, port) = try DaemonProcess.startUnwrapd(pems, backend: backend, in: directory)
        defer { daemon.kill() }

        let expectations: [(String?, String)] = [
            ("a.example", "a.example"), ("www.a.example", "a.example"), ("WWW.A.Example", "a.example"),
            ("legacy.example", "legacy.example"), ("b.example", "b.example"),
            (nil, "b.example"), ("unknown.example", "b.example"),
        ]
        for (serverName, expected) in expectations {
            #expect(
                try presentedName(serverName, port: port, certificates: certificates) == expected,
                "SNI \(serverName ?? "none")")
        }
        try backend.waitForConnection(expectations.count - 1)
    }

    /// An exact name wins over a matching `*.example.com` whichever is listed first; the wildcard covers one label
    /// only.
    @Test(arguments: ["exact first", "wildcard first"])
    func anExactNameWinsOverAWildcard(order: String) throws {
        let directory = try TestDirectory("cert-wildcard")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(.record)
        defer { backend.stop() }
        let exact = try certificates.server(["www.example.com"]).pemFile
        let wildcard = try certificates.wildcard("example.com").pemFile
        let fallback = try certificates.server(["default.test"]).pemFile
        let pems = (order == "exact first" ? [exact, wildcard] : [wildcard, exact]) + [fallback]
        let (daemon, port) = try DaemonProcess.startUnwrapd(pems, backend: backend, in: directory)
        defer { daemon.kill() }

        let expectations = [
            ("www.example.com", "www.example.com"), ("shop.example.com", "*.example.com"),
            ("a.b.example.com", "default.test"), ("example.com", "default.test"),
        ]
        for (serverName, expected) in expectations {
            #expect(
                try presentedName(serverName, port: port, certificates: certificates) == expected,
                "\(order): SNI \(serverName)")
        }
    }

    /// `--sni-nomatch-abort`: a name no certificate has is refused with `unrecognized_name` before the backend;
    /// known names and clients without SNI are served.
    @Test func sniNoMatchAbortRefusesUnknownNames() throws {
        let directory = try TestDirectory("cert-nomatch")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(.echo)
        defer { backend.stop() }
        let pems = [
            try certificates.server(["a.example"]).pemFile, try certificates.server(["b.example"]).pemFile,
        ]
        let (daemon, port) = try DaemonProcess.startUnwrapd(
            ["--sni-nomatch-abort"] + pems, backend: backend, in: directory)
        defer { daemon.kill() }

        for version in [TLSVersion.tls12, .tls13] {
            let client = try TLSTestClient(
                port: port, options: TLSClientOptions(serverName: "unknown.example", maxVersion: version))
            let error = #expect(throws: TLSClientError.self) { try client.handshake() }
            #expect(error?.receivedAlert == .unrecognizedName, "\(version): \(String(describing: error))")
            try daemon.waitForLog(forClientPort: client.localPort, containing: "handshake failed")
        }
        #expect(backend.acceptedCount == 0)

        #expect(try presentedName("a.example", port: port, certificates: certificates) == "a.example")
        #expect(try presentedName(nil, port: port, certificates: certificates) == "b.example")
        try backend.waitForConnection(1)
        #expect(backend.acceptedCount == 2)
    }

    // MARK: - Certificates from the config file

    /// A frontend block with a pem-file serves only its own certificates; with `match-global-certs = on` also the
    /// global ones (its own still the default); a block without pem-file serves the global ones.
    @Test func frontendBlocksHaveTheirOwnCertificates() throws {
        let directory = try TestDirectory("cert-frontends")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(.record)
        defer { backend.stop() }
        let global = try certificates.server(["global.example"]).pemFile
        let own = try certificates.server(["own.example"]).pemFile
        let mixed = try certificates.server(["mixed.example"]).pemFile
        let ports = (own: try Ports.freeTCPPort(), mixed: try Ports.freeTCPPort(), plain: try Ports.freeTCPPort())
        let config = try DaemonProcess.configArgument(
            [
                "backend = \"\(backend.hitchAddress)\"",
                "pem-file = \"\(global)\"",
                "frontend = {",
                "    host = \"127.0.0.1\"", "    port = \"\(ports.own)\"", "    pem-file = \"\(own)\"",
                "}",
                "frontend = {",
                "    host = \"127.0.0.1\"", "    port = \"\(ports.mixed)\"", "    pem-file = \"\(mixed)\"",
                "    match-global-certs = on",
                "}",
                "frontend = {",
                "    host = \"127.0.0.1\"", "    port = \"\(ports.plain)\"",
                "}",
            ], in: directory)
        let daemon = try DaemonProcess.start([config], in: directory)
        defer { daemon.kill() }

        let expectations: [(UInt16, String?, String)] = [
            (ports.own, "own.example", "own.example"), (ports.own, "global.example", "own.example"),
            (ports.own, nil, "own.example"),
            (ports.mixed, "global.example", "global.example"), (ports.mixed, "mixed.example", "mixed.example"),
            (ports.mixed, nil, "mixed.example"),
            (ports.plain, "global.example", "global.example"), (ports.plain, "own.example", "global.example"),
        ]
        for (port, serverName, expected) in expectations {
            #expect(
                try presentedName(serverName, port: port, certificates: certificates) == expected,
                "port \(port), SNI \(serverName ?? "none")")
        }
    }

    /// `pem-file = { cert = ... private-key = ... }`: certificate and chain in one file, the key in another.
    @Test func pemFileBlockTakesTheKeyFromItsOwnFile() throws {
        let directory = try TestDirectory("cert-block")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(.echo)
        defer { backend.stop() }
        let files = try certificates.server(["split.example"])
        let chain = try directory.write(
            try String(contentsOfFile: files.certificateFile, encoding: .utf8)
                + String(contentsOfFile: files.chainFile!, encoding: .utf8), to: "split-chain.crt")
        let config = try DaemonProcess.configArgument(
            ["pem-file = {", "    cert = \"\(chain)\"", "    private-key = \"\(files.keyFile)\"", "}"], in: directory)
        let (daemon, port) = try DaemonProcess.startUnwrapd([config], backend: backend, in: directory)
        defer { daemon.kill() }

        let client = try TLSTestClient(
            port: port,
            options: TLSClientOptions(
                serverName: "split.example", trustedCAFile: certificates.caFile, verifyHostname: "split.example"))
        try client.handshake()
        #expect(client.peerChain.map(\.commonName) == ["split.example", "unwrapd test intermediate CA"])
        #expect(try client.roundTrip("split\n") == "split\n")
    }

    /// `pem-dir` with `pem-dir-glob`: the matching files are the certificates (the lexicographically last one the
    /// default); other files are ignored, where without the glob they make the configuration invalid.
    @Test func pemDirLoadsTheFilesMatchingTheGlob() throws {
        let directory = try TestDirectory("cert-pemdir")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(.record)
        defer { backend.stop() }
        let pemDirectory = directory.file("certs")
        #expect(mkdir(pemDirectory, 0o755) == 0)
        for (name, file) in [
            ("b-site.pem", try certificates.server(["b.example"])),
            ("a-site.pem", try certificates.server(["a.example"])),
        ] {
            try directory.write(try String(contentsOfFile: file.pemFile, encoding: .utf8), to: "certs/\(name)")
        }
        try directory.write("not a certificate\n", to: "certs/README.txt")

        let withoutGlob = try DaemonProcess.configArgument(
            ["pem-dir = \"\(pemDirectory)\""], in: directory, name: "without-glob.conf")
        let refused = try DaemonProcess.run(["-t", withoutGlob, "--backend=\(backend.hitchAddress)"])
        #expect(refused.status != .exited(0), "\(refused)")
        #expect(refused.stderrText.contains("README.txt"), "\(refused)")

        let withGlob = try DaemonProcess.configArgument(
            ["pem-dir = \"\(pemDirectory)\"", "pem-dir-glob = \"*.pem\""], in: directory)
        let (daemon, port) = try DaemonProcess.startUnwrapd([withGlob], backend: backend, in: directory)
        defer { daemon.kill() }
        #expect(try presentedName("a.example", port: port, certificates: certificates) == "a.example")
        #expect(try presentedName("b.example", port: port, certificates: certificates) == "b.example")
        #expect(try presentedName(nil, port: port, certificates: certificates) == "b.example")
    }

    // MARK: - ALPN

    /// `--alpn-protos`: the server's most preferred protocol the client offers wins; no overlap is a fatal
    /// `no_application_protocol` alert before the backend; a client without ALPN is served.
    @Test func alpnChoosesTheServersPreferenceOrRefusesWithAnAlert() throws {
        let directory = try TestDirectory("cert-alpn")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(.echo)
        defer { backend.stop() }
        let (daemon, port) = try DaemonProcess.startUnwrapd(
            ["--alpn-protos=h2,http/1.1", try certificates.server(["a.example"]).pemFile], backend: backend,
            in: directory)
        defer { daemon.kill() }

        let offers: [([String], String?)] = [
            (["http/1.1", "h2"], "h2"), (["spdy/3", "http/1.1"], "http/1.1"), ([], nil),
        ]
        for (offered, expected) in offers {
            let client = try TLSTestClient(port: port, options: TLSClientOptions(alpn: offered))
            try client.handshake()
            #expect(client.alpnProtocol == expected, "offered \(offered)")
            #expect(try client.roundTrip("alpn\n") == "alpn\n")
        }
        #expect(backend.acceptedCount == offers.count)

        for version in [TLSVersion.tls12, .tls13] {
            let client = try TLSTestClient(
                port: port, options: TLSClientOptions(alpn: ["spdy/3", "imap"], maxVersion: version))
            let error = #expect(throws: TLSClientError.self) { try client.handshake() }
            #expect(error?.receivedAlert == .noApplicationProtocol, "\(version): \(String(describing: error))")
            try daemon.waitForLog(forClientPort: client.localPort, containing: "handshake failed")
        }
        #expect(backend.acceptedCount == offers.count)
    }

    // MARK: - Real clients

    @Test func curlFetchesThroughTheDaemon() throws {
        let directory = try TestDirectory("cert-curl")
        let certificates = try TestCertificates(in: directory)
        let body = "hello from the backend\n"
        let backend = try TestBackend(
            .respond(
                Array("HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8),
                when: .endOfHTTPHead, then: .halfClose))
        defer { backend.stop() }
        let (daemon, port) = try DaemonProcess.startUnwrapd(
            [try certificates.server(["www.example.test"]).pemFile], backend: backend, in: directory)
        defer { daemon.kill() }

        let output = try CommandLineTools.curlHTTPS(
            "www.example.test", at: .tcp(host: "127.0.0.1", port: port), path: "/index.html",
            caFile: certificates.caFile)
        #expect(output.succeeded, "\(output)")
        #expect(output.stdoutText == body)
        let request = try backend.waitForConnection().waitForText("\r\n\r\n")
        #expect(request.hasPrefix("GET /index.html HTTP/1.1\r\n"), "\(request)")
        #expect(request.contains("\r\nHost: www.example.test:\(port)\r\n"), "\(request)")
    }

    @Test func opensslSClientVerifiesAndExchangesData() throws {
        let directory = try TestDirectory("cert-sclient")
        let certificates = try TestCertificates(in: directory)
        let backend = try TestBackend(
            .respond(Array("pong\n".utf8), when: .afterReceivingSequence(Array("ping\n".utf8)), then: .halfClose))
        defer { backend.stop() }
        let (daemon, port) = try DaemonProcess.startUnwrapd(
            [try certificates.server(["a.example"], keyType: .rsa2048).pemFile], backend: backend, in: directory)
        defer { daemon.kill() }

        let output = try CommandLineTools.opensslSClient(
            connectingTo: .tcp(host: "127.0.0.1", port: port), serverName: "a.example",
            ["-ign_eof", "-CAfile", certificates.caFile, "-verify_return_error", "-verify_hostname", "a.example"],
            stdin: Array("ping\n".utf8))
        #expect(output.succeeded, "\(output)")
        let text = output.stdoutText
        #expect(text.contains("Verify return code: 0 (ok)"), "\(output)")
        #expect(text.contains("Protocol  : TLSv1.3"), "\(output)")
        #expect(text.contains("CN = a.example"), "\(output)")
        #expect(text.contains("CN = unwrapd test intermediate CA"), "\(output)")
        #expect(text.contains("pong\n"), "\(output)")
        #expect(try backend.waitForConnection().waitForText("ping\n") == "ping\n")
    }
}
