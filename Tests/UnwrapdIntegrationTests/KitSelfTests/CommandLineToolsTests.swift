import Testing

/// `CommandLineTools` (openssl s_client, curl) against `openssl s_server -www`.
@Suite struct CommandLineToolsTests {
    @Test func sClientAndCurlTalkToATLSServer() throws {
        let directory = try TestDirectory("cli-tools")
        let certificates = try TestCertificates(in: directory)
        let server = try OpenSSLServer(
            certificate: try certificates.server(["a.example"]), ["-www"], in: directory)

        let curl = try CommandLineTools.curlHTTPS("a.example", at: server.endpoint, caFile: certificates.caFile)
        #expect(curl.succeeded, "\(curl)")
        #expect(curl.stdoutText.contains("<HTML>"))

        let tls12 = try CommandLineTools.opensslSClient(
            connectingTo: server.endpoint, serverName: "a.example",
            ["-tls1_2", "-ign_eof", "-CAfile", certificates.caFile, "-verify_return_error"],
            stdin: Array("GET / HTTP/1.0\r\n\r\n".utf8))
        #expect(tls12.succeeded, "\(tls12)")
        #expect(tls12.stdoutText.contains("Protocol  : TLSv1.2"))
        #expect(tls12.stdoutText.contains("Verify return code: 0 (ok)"))

        let tls10 = try CommandLineTools.opensslSClient(connectingTo: server.endpoint, ["-tls1"])
        #expect(!tls10.succeeded)
        #expect(tls10.stderrText.contains("no protocols available") || tls10.stderrText.contains("alert"))
    }

    @Test func timeoutKillsTheTool() throws {
        let silent = try TestBackend(.silent)
        defer { silent.stop() }
        let started = ContinuousClock.now
        let result = try CommandLineTools.opensslSClient(
            connectingTo: silent.endpoint, ["-ign_eof"], timeout: .milliseconds(500))
        #expect(result.timedOut)
        #expect(ContinuousClock.now - started < .seconds(5))
    }
}
