import Testing

/// `TLSTestClient` against `openssl s_server`, which serves one connection at a time: each client is closed
/// before the next one connects.
@Suite struct TLSTestClientTests {
    @Test func handshakeVerifiesTheChainAndReadsThePeerCertificate() throws {
        let directory = try TestDirectory("tls-basic")
        let certificates = try TestCertificates(in: directory)
        let certificate = try certificates.server(["a.example", "www.a.example"], keyType: .rsa2048)
        let server = try OpenSSLServer(certificate: certificate, ["-rev"], in: directory)

        let client = try TLSTestClient(
            port: server.port,
            options: TLSClientOptions(
                serverName: "a.example", trustedCAFile: certificates.caFile, verifyHostname: "a.example"))
        try client.handshake()
        #expect(client.version == .tls13)
        #expect(client.versionName == "TLSv1.3")
        #expect(client.cipher?.hasPrefix("TLS_") == true)
        #expect(client.verifyResult == 0)
        #expect(client.peerCommonName == "a.example")
        #expect(client.peerDNSNames == ["a.example", "www.a.example"])
        #expect(client.peerChain.map(\.commonName) == ["a.example", "unwrapd test intermediate CA"])
        try client.write("hello\n")
        #expect(try client.read(exactly: 6) == Array("olleh\n".utf8))
    }

    @Test func versionsAndCiphersArePinned() throws {
        let directory = try TestDirectory("tls-versions")
        let certificates = try TestCertificates(in: directory)
        let certificate = try certificates.server(["a.example"])
        let server = try OpenSSLServer(certificate: certificate, ["-rev"], in: directory)

        let tls12 = try TLSTestClient(
            port: server.port,
            options: TLSClientOptions(
                maxVersion: .tls12, cipherList: "ECDHE-ECDSA-CHACHA20-POLY1305"))
        try tls12.handshake()
        #expect(tls12.version == .tls12)
        #expect(tls12.cipher == "ECDHE-ECDSA-CHACHA20-POLY1305")
        tls12.close()

        let tls13 = try TLSTestClient(
            port: server.port,
            options: TLSClientOptions(
                minVersion: .tls13, cipherSuites: "TLS_CHACHA20_POLY1305_SHA256"))
        try tls13.handshake()
        #expect(tls13.version == .tls13)
        #expect(tls13.cipher == "TLS_CHACHA20_POLY1305_SHA256")

        let old = try OpenSSLServer(certificate: certificate, ["-rev", "-tls1_2"], in: directory)
        let refused = try TLSTestClient(port: old.port, options: TLSClientOptions(minVersion: .tls13))
        let error = #expect(throws: TLSClientError.self) { try refused.handshake() }
        #expect(error?.receivedAlert == .protocolVersion)
        #expect(error?.reason == .tlsFailure)
    }

    @Test func tls10CanStillBeOffered() throws {
        let directory = try TestDirectory("tls-10")
        let certificates = try TestCertificates(in: directory)
        let server = try OpenSSLServer(
            certificate: try certificates.server(["a.example"], keyType: .rsa2048),
            ["-rev", "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"], in: directory)
        let client = try TLSTestClient(
            port: server.port,
            options: TLSClientOptions(
                minVersion: .tls10, maxVersion: .tls10))
        try client.handshake()
        #expect(client.version == .tls10)
        #expect(client.versionName == "TLSv1")
    }

    @Test func alpnIsNegotiatedOrRefusedWithAnAlert() throws {
        let directory = try TestDirectory("tls-alpn")
        let certificates = try TestCertificates(in: directory)
        let server = try OpenSSLServer(
            certificate: try certificates.server(["a.example"]), ["-rev", "-alpn", "h2,http/1.1"], in: directory)

        let client = try TLSTestClient(port: server.port, options: TLSClientOptions(alpn: ["spdy/3", "http/1.1"]))
        try client.handshake()
        #expect(client.alpnProtocol == "http/1.1")
        client.close()

        let none = try TLSTestClient(port: server.port)
        try none.handshake()
        #expect(none.alpnProtocol == nil)
        none.close()

        let mismatch = try TLSTestClient(port: server.port, options: TLSClientOptions(alpn: ["spdy/3"]))
        let error = #expect(throws: TLSClientError.self) { try mismatch.handshake() }
        #expect(error?.receivedAlert == .noApplicationProtocol)
        #expect(error?.description.contains("no_application_protocol (120)") == true)
    }

    @Test func sniSelectsTheCertificate() throws {
        let directory = try TestDirectory("tls-sni")
        let certificates = try TestCertificates(in: directory)
        let second = try certificates.server(["b.example"])
        let server = try OpenSSLServer(
            certificate: try certificates.server(["a.example"]),
            [
                "-rev", "-servername", "b.example", "-cert2", second.certificateFile, "-key2", second.keyFile,
                "-servername_fatal",
            ],
            in: directory)

        let b = try TLSTestClient(port: server.port, options: TLSClientOptions(serverName: "b.example"))
        try b.handshake()
        #expect(b.peerCommonName == "b.example")
        b.close()

        let withoutSNI = try TLSTestClient(port: server.port)
        try withoutSNI.handshake()
        #expect(withoutSNI.peerCommonName == "a.example")
        withoutSNI.close()

        let unknown = try TLSTestClient(port: server.port, options: TLSClientOptions(serverName: "c.example"))
        let error = #expect(throws: TLSClientError.self) { try unknown.handshake() }
        #expect(error?.receivedAlert == .unrecognizedName)
    }

    @Test func clientCertificatesAreSentAndVerdictsAreReported() throws {
        let directory = try TestDirectory("tls-client-cert")
        let certificates = try TestCertificates(in: directory)
        let server = try OpenSSLServer(
            certificate: try certificates.server(["a.example"]),
            ["-rev", "-Verify", "2", "-verify_return_error", "-CAfile", certificates.clientCAFile], in: directory)

        let trusted = try TLSTestClient(
            port: server.port,
            options: .clientCertificate(
                try certificates.client(commonName: "client-1")))
        try trusted.handshake()
        try trusted.write("abc\n")
        #expect(try trusted.read(exactly: 4) == Array("cba\n".utf8))
        try server.process.waitForLog(containing: "client-1")
        trusted.close()

        // TLS 1.3: the client's handshake completes before the server judges its certificate.
        let anonymous = try TLSTestClient(port: server.port)
        try anonymous.handshake()
        let missing = #expect(throws: TLSClientError.self) { try anonymous.read() }
        #expect(missing?.receivedAlert == .certificateRequired)
        anonymous.close()

        let stranger = try TLSTestClient(
            port: server.port,
            options: .clientCertificate(
                try certificates.untrustedClient(commonName: "stranger")))
        try stranger.handshake()
        let untrusted = #expect(throws: TLSClientError.self) { try stranger.read() }
        #expect(untrusted?.receivedAlert == .unknownCA)
        stranger.close()

        let anonymous12 = try TLSTestClient(port: server.port, options: TLSClientOptions(maxVersion: .tls12))
        let refused = #expect(throws: TLSClientError.self) { try anonymous12.handshake() }
        #expect(refused?.receivedAlert == .handshakeFailure)
    }

    @Test(arguments: [TLSVersion.tls12, .tls13])
    func sessionsResume(version: TLSVersion) throws {
        let directory = try TestDirectory("tls-resume")
        let certificates = try TestCertificates(in: directory)
        let server = try OpenSSLServer(certificate: try certificates.server(["a.example"]), ["-rev"], in: directory)
        let options = TLSClientOptions(serverName: "a.example", minVersion: version, maxVersion: version)

        let first = try TLSTestClient(port: server.port, options: options)
        try first.handshake()
        #expect(!first.sessionReused)
        let session = try first.resumableSession()
        #expect(session.isResumable)
        #expect(session.version == version)
        try first.write("one\n")
        #expect(try first.read(exactly: 4) == Array("eno\n".utf8))
        first.close()

        var resuming = options
        resuming.session = session
        let second = try TLSTestClient(port: server.port, options: resuming)
        try second.handshake()
        #expect(second.sessionReused)
        try second.write("two\n")
        #expect(try second.read(exactly: 4) == Array("owt\n".utf8))
    }

    @Test func closeNotifyHalfClosesAndReadingGoesOn() throws {
        let directory = try TestDirectory("tls-half-close")
        let certificates = try TestCertificates(in: directory)
        let server = try OpenSSLServer(certificate: try certificates.server(["a.example"]), ["-www"], in: directory)

        let client = try TLSTestClient(port: server.port)
        try client.handshake()
        try client.write("GET / HTTP/1.0\r\n\r\n")
        try client.sendCloseNotify()
        let (bytes, end) = try client.readToEnd(timeout: .seconds(5))
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.0 200 ok"))
        #expect(end == .closeNotify)
        #expect(client.receivedCloseNotify)
    }

    @Test func failedVerificationSaysWhyAndSendsTheAlert() throws {
        let directory = try TestDirectory("tls-verify")
        let certificates = try TestCertificates(in: directory)
        let server = try OpenSSLServer(
            certificate: try certificates.selfSignedServer(["a.example"]), ["-rev"], in: directory)
        let client = try TLSTestClient(port: server.port, options: TLSClientOptions(trustedCAFile: certificates.caFile))
        let error = #expect(throws: TLSClientError.self) { try client.handshake() }
        #expect(error?.sentAlert == .unknownCA)
        #expect(error?.verifyError == "self-signed certificate")

        let expired = try OpenSSLServer(
            certificate: try certificates.expiredServer(["old.example"]), ["-rev"], in: directory)
        let late = try TLSTestClient(port: expired.port, options: TLSClientOptions(trustedCAFile: certificates.caFile))
        let lateError = #expect(throws: TLSClientError.self) { try late.handshake() }
        #expect(lateError?.sentAlert == .certificateExpired)
        #expect(lateError?.verifyError == "certificate has expired")
    }

    @Test func silentAndNonTLSPeersFailCleanly() throws {
        let silent = try TestBackend(.silent)
        defer { silent.stop() }
        let waiting = try TLSTestClient(port: silent.port, options: TLSClientOptions(ioTimeout: .milliseconds(200)))
        let started = ContinuousClock.now
        let timeout = #expect(throws: TLSClientError.self) { try waiting.handshake() }
        #expect(timeout?.reason == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(3))

        let plain = try TestBackend(.respond(Array("HTTP/1.0 400 Bad Request\r\n\r\n".utf8), then: .halfClose))
        defer { plain.stop() }
        let confused = try TLSTestClient(port: plain.port)
        let failure = #expect(throws: TLSClientError.self) { try confused.handshake() }
        #expect(failure?.reason == .tlsFailure)
        #expect(failure?.openSSLErrors.isEmpty == false)
    }

    @Test func ipv6Loopback() throws {
        let directory = try TestDirectory("tls-ipv6")
        let certificates = try TestCertificates(in: directory)
        let server = try OpenSSLServer(
            certificate: try certificates.server(["a.example"]), ["-rev"], in: directory, host: "::1")
        let client = try TLSTestClient(host: "::1", port: server.port)
        try client.handshake()
        try client.write("six\n")
        #expect(try client.read(exactly: 4) == Array("xis\n".utf8))
    }
}
