import Testing

/// The log names a served certificate that expired or expires within two weeks, as the configuration loads: at
/// start, with `-t`, and at every reload. The certificate is served all the same, as hitch serves it.
@Suite struct CertificateExpiryLogTests {
    @Test func anExpiredCertificateIsNamedAndStillServed() throws {
        let fixture = try RelayFixture("expiry-expired")
        defer { fixture.stop() }
        let expired = try fixture.certificates.expiredServer(["old.example"])
        let daemon = try DaemonProcess.start(
            [
                "--frontend=\(fixture.frontendName)", "--backend=\(fixture.backend.hitchAddress)", "-L", "2",
                expired.pemFile,
            ], in: fixture.directory)
        defer { daemon.kill() }
        let expected =
            "pem-file \(expired.pemFile): the certificate (old.example) expired at 2020-02-01T00:00:00.000Z; "
            + "clients refuse it"
        #expect(daemon.logLines(containing: expected).count == 1, "\(daemon.stderr)")
        let client = try TLSTestClient(port: fixture.port)
        defer { client.close() }
        try client.handshake()
        #expect(client.peerCommonName == "old.example")

        #expect(try daemon.reload().hasPrefix("listening on"))
        #expect(daemon.logLines(containing: expected).count == 2, "named again at the reload: \(daemon.stderr)")
    }

    @Test func oneThatExpiresWithinTwoWeeksIsNamedByTheCheckToo() throws {
        let fixture = try RelayFixture("expiry-soon")
        defer { fixture.stop() }
        let soon = try fixture.certificates.server(["soon.example"], validDays: 3)
        let lasting = try fixture.certificates.server(["lasting.example"], validDays: 30)
        let output = try DaemonProcess.run(
            ["-t", "--frontend=\(fixture.frontendName)", "--backend=\(fixture.backend.hitchAddress)"]
                + [soon.pemFile, lasting.pemFile])
        #expect(output.succeeded, "\(output)")
        let lines = output.stderrText.split(separator: "\n")
        #expect(lines.count == 1, "only the certificate that expires soon: \(output)")
        #expect(lines.first?.contains("pem-file \(soon.pemFile): the certificate (soon.example) expires at ") == true)
        #expect(lines.first?.hasSuffix(", in 3 days") == true, "\(output)")
    }
}
