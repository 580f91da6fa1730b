import Foundation
import Glibc
import Testing

/// OCSP stapling from pre-fetched files (`ocsp-resp-file` in a `pem-file` block, as hitch): the response of the
/// certificate served goes to clients that ask (`openssl s_client -status`), checked when the configuration loads
/// (`ocsp-verify-staple` against the system's trust store), never past its nextUpdate, renewed by a reload.
@Suite struct OCSPStaplingTests {
    /// A test directory with certificates, an echo backend and a frontend port.
    let fixture: RelayFixture

    init() throws {
        fixture = try RelayFixture("ocsp")
    }

    /// A config file serving `certificates` (PEM file, response file or nil) on the fixture's frontend.
    private func config(_ certificates: [(pem: String, response: String?)], extra: [String] = []) throws -> String {
        var lines = ["frontend = \"\(fixture.frontendName)\"", "backend = \"\(fixture.backend.hitchAddress)\""] + extra
        for (pem, response) in certificates {
            lines += ["pem-file = {", "    cert = \"\(pem)\""]
            if let response { lines.append("    ocsp-resp-file = \"\(response)\"") }
            lines.append("}")
        }
        return try DaemonProcess.configArgument(lines, in: fixture.directory)
    }

    /// What `openssl s_client -status` reports about the stapled response, asking for `serverName` (with `extra`
    /// arguments, e.g. `-tls1_2`).
    private func statusReport(_ serverName: String, _ extra: [String] = []) throws -> String {
        let output = try CommandLineTools.opensslSClient(
            connectingTo: .tcp(host: "127.0.0.1", port: fixture.port), serverName: serverName,
            ["-status", "-CAfile", fixture.certificates.caFile, "-verify_return_error"] + extra)
        #expect(output.succeeded, "\(output)")
        return output.stdoutText
    }

    /// A certificate for `a.example` and the response `respond` makes for it, served by a daemon that is started.
    private func serveA(
        _ respond: (CertificateFiles) throws -> String
    ) throws -> (certificate: CertificateFiles, response: String, daemon: DaemonProcess) {
        let certificate = try fixture.certificates.server(["a.example"])
        let response = try respond(certificate)
        let daemon = try DaemonProcess.start([try config([(certificate.pemFile, response)])], in: fixture.directory)
        return (certificate, response, daemon)
    }

    /// The serial number of a certificate as `openssl ocsp -resp_text` prints it.
    private func serial(of files: CertificateFiles) throws -> String {
        let line = try CommandLineTools.openssl(["x509", "-in", files.certificateFile, "-noout", "-serial"])
            .requireSuccess().stdoutText
        return line.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
    }

    @Test func eachCertificatesOwnResponseIsStapledForAClientThatAsks() throws {
        defer { fixture.stop() }
        let a = try fixture.certificates.server(["a.example"])
        let b = try fixture.certificates.server(["b.example"])
        let daemon = try DaemonProcess.start(
            [
                try config([
                    (a.pemFile, try fixture.certificates.ocspResponse(for: a, name: "a.der")),
                    (b.pemFile, try fixture.certificates.ocspResponse(for: b, name: "b.der")),
                ])
            ], in: fixture.directory)
        defer { daemon.kill() }

        for (name, files) in [("a.example", a), ("b.example", b)] {
            for version in ["-tls1_3", "-tls1_2"] {
                let report = try statusReport(name, [version])
                #expect(report.contains("OCSP Response Status: successful"), "\(name) \(version): \(report)")
                #expect(report.contains("Cert Status: good"), "\(name) \(version): \(report)")
                #expect(report.contains("Serial Number: \(try serial(of: files))"), "\(name) \(version): \(report)")
            }
        }
        #expect(daemon.stderr.isEmpty, "\(daemon.stderr)")
        #expect(try fixture.exchange("stapled") == "stapled")
    }

    @Test func aCertificateWithoutAResponseFileStaplesNothing() throws {
        defer { fixture.stop() }
        let b = try fixture.certificates.server(["b.example"])
        let daemon = try DaemonProcess.start(
            [
                try config([
                    (fixture.pem, nil), (b.pemFile, try fixture.certificates.ocspResponse(for: b, name: "b.der")),
                ])
            ], in: fixture.directory)
        defer { daemon.kill() }
        #expect(try statusReport("a.example").contains("OCSP response: no response sent"))
        #expect(try statusReport("b.example").contains("Cert Status: good"))
    }

    /// The response says what it says; clients that check refuse the certificate, and the operator is told at load.
    @Test func aResponseThatCallsTheCertificateRevokedIsStapledAndLogged() throws {
        defer { fixture.stop() }
        let (_, response, daemon) = try serveA {
            try fixture.certificates.ocspResponse(for: $0, .revoked, name: "a.der")
        }
        defer { daemon.kill() }
        #expect(try statusReport("a.example").contains("Cert Status: revoked"))
        let lines = daemon.logLines(containing: "the response calls the certificate revoked")
        #expect(lines.count == 1 && lines[0].contains("ocsp-resp-file \(response)"), "\(daemon.stderr)")
    }

    /// A response past its nextUpdate is not sent (a client that checks would refuse it), and one line says so, not
    /// one per handshake.
    @Test func anExpiredResponseIsNotSentAndLoggedOnce() throws {
        defer { fixture.stop() }
        let (_, response, daemon) = try serveA { try fixture.certificates.expiredOCSPResponse(for: $0, name: "a.der") }
        defer { daemon.kill() }
        for _ in 0..<2 { #expect(try statusReport("a.example").contains("OCSP response: no response sent")) }
        let lines = daemon.logLines(containing: "expired at")
        #expect(lines.count == 1, "\(daemon.stderr)")
        #expect(lines.first?.contains("ocsp-resp-file \(response): the response expired at ") == true)
        #expect(lines.first?.contains("replace the file and reload") == true)
    }

    /// The operator's routine: fetch a new response into the file, then reload.
    @Test func aReloadStaplesTheRenewedFile() throws {
        defer { fixture.stop() }
        let (a, response, daemon) = try serveA { try fixture.certificates.ocspResponse(for: $0, name: "a.der") }
        defer { daemon.kill() }
        #expect(try statusReport("a.example").contains("Cert Status: good"))

        let renewed = try fixture.certificates.ocspResponse(for: a, .revoked, name: "renewed.der")
        #expect(rename(renewed, response) == 0)
        #expect(try daemon.reload().hasPrefix("listening on"))
        #expect(try statusReport("a.example").contains("Cert Status: revoked"))
    }

    @Test func verifiedStaplesMustChainToTheSystemsTrustStore() throws {
        defer { fixture.stop() }
        let a = try fixture.certificates.server(["a.example"])
        let fromIssuer = try fixture.certificates.ocspResponse(for: a, name: "issuer.der")
        let fromStranger = try fixture.certificates.ocspResponse(for: a, signedBy: .untrusted, name: "stranger.der")
        let trustTestRoot = ["SSL_CERT_FILE": fixture.certificates.caFile]

        for (response, environment, passes) in [
            (fromIssuer, trustTestRoot, true), (fromStranger, trustTestRoot, false), (fromIssuer, [:], false),
        ] {
            let arguments = ["-t", try config([(a.pemFile, response)], extra: ["ocsp-verify-staple = on"])]
            let output = try DaemonProcess.run(arguments, environment: environment)
            #expect(output.succeeded == passes, "\(response) \(environment): \(output)")
            if !passes {
                #expect(output.stderrText.contains("ocsp-resp-file \(response): ocsp-verify-staple: "), "\(output)")
                #expect(output.stderrText.contains("does not verify"), "\(output)")
                #expect(output.stderrText.contains("Verify error: "), "the reason OpenSSL gives: \(output)")
            }
        }
        // Without ocsp-verify-staple the stranger's response loads: its signature is the client's to judge.
        #expect(try DaemonProcess.run(["-t", try config([(a.pemFile, fromStranger)])]).succeeded)
    }

    /// What is wrong with a response file, each found when the configuration loads, in one line naming the files.
    enum BadResponse: String, CaseIterable, CustomStringConvertible {
        case missing, notDER, otherCertificate, noIssuerInThePEMFile
        var description: String { rawValue }
    }

    @Test(arguments: BadResponse.allCases)
    func aBadResponseFileIsRefusedWithOneLineNamingIt(_ bad: BadResponse) throws {
        defer { fixture.stop() }
        let certificates = fixture.certificates
        var pem = fixture.pem
        let response: String
        let fragment: String
        switch bad {
        case .missing:
            response = fixture.directory.file("missing.der")
            fragment = "ocsp-resp-file: cannot read \(response): No such file or directory (ENOENT)"
        case .notDER:
            response = try fixture.directory.write("not an OCSP response\n", to: "text.der")
            fragment = "ocsp-resp-file \(response): not a DER-encoded OCSP response"
        case .otherCertificate:
            response = try certificates.ocspResponse(for: try certificates.server(["b.example"]), name: "b.der")
            fragment = "ocsp-resp-file \(response): the response holds no status for this certificate"
        case .noIssuerInThePEMFile:
            let a = try certificates.server(["a.example"])
            let key = try String(contentsOfFile: a.keyFile, encoding: .utf8)
            pem = try fixture.directory.write(
                key + (try String(contentsOfFile: a.certificateFile, encoding: .utf8)), to: "chainless.pem")
            response = try certificates.ocspResponse(for: a, name: "a.der")
            fragment = "ocsp-resp-file \(response): the PEM file holds no certificate that issued its own"
        }
        for testOnly in [true, false] {
            let output = try DaemonProcess.run((testOnly ? ["-t"] : []) + [try config([(pem, response)])])
            #expect(!output.succeeded && !output.timedOut, "\(output)")
            let lines = output.stderrText.split(separator: "\n")
            #expect(lines.count == 1, "not one line: \(output)")
            #expect(output.stderrText.contains("pem-file \(pem)"), "\(output)")
            #expect(output.stderrText.contains(fragment), "\(output)")
        }
    }
}
