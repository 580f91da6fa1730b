import COpenSSL
import Foundation
import Glibc
import Testing

/// hitch's automatic OCSP stapling: a certificate that names an OCSP responder (authorityInfoAccess) and has no
/// `ocsp-resp-file` gets its response from that responder, fetched by a process of the daemon's own
/// (`TestOCSPResponder`, a real responder on 127.0.0.1 answering with `openssl ocsp`), stapled by every worker,
/// fetched again before it expires, and kept in `ocsp-dir` for the next start.
@Suite struct OCSPFetchingTests {
    let fixture: RelayFixture
    let responder: TestOCSPResponder
    /// A certificate for a.example that names the responder.
    let certificate: CertificateFiles
    /// `ocsp-dir`, not there until the daemon makes it.
    let cacheDirectory: String

    init() throws {
        fixture = try RelayFixture("ocsp-fetch")
        responder = try TestOCSPResponder(certificates: fixture.certificates)
        certificate = try fixture.certificates.server(["a.example"], ocspResponder: responder.url)
        responder.serve(certificate)
        cacheDirectory = fixture.directory.file("ocsp")
    }

    /// A daemon serving the certificate (with `ocsp-resp-file` when given), with `extra` config lines.
    private func startDaemon(extra: [String] = [], responseFile: String? = nil) throws -> DaemonProcess {
        var lines = [
            "frontend = \"\(fixture.frontendName)\"", "backend = \"\(fixture.backend.hitchAddress)\"",
            "ocsp-dir = \"\(cacheDirectory)\"", "log-level = 2", "pem-file = {",
            "    cert = \"\(certificate.pemFile)\"",
        ]
        if let responseFile { lines.append("    ocsp-resp-file = \"\(responseFile)\"") }
        lines += ["}"] + extra
        return try DaemonProcess.start(
            [try DaemonProcess.configArgument(lines, in: fixture.directory)], in: fixture.directory)
    }

    /// What `openssl s_client -status` reports about the stapled response (`extra`: e.g. `-tls1_2`).
    private func statusReport(_ extra: [String] = []) throws -> String {
        let output = try CommandLineTools.opensslSClient(
            connectingTo: .tcp(host: "127.0.0.1", port: fixture.port), serverName: "a.example",
            ["-status", "-CAfile", fixture.certificates.caFile, "-verify_return_error"] + extra)
        #expect(output.succeeded, "\(output)")
        return output.stdoutText
    }

    /// The file in `ocsp-dir` the response is kept in: hitch's name, the MD5 of the certificate's path in hex.
    private var savedResponse: String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let path = Array(certificate.pemFile.utf8)
        _ = EVP_Digest(path, path.count, &digest, &length, EVP_md5(), nil)
        return cacheDirectory + "/" + digest.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
    }

    private static let fetched = "fetched the response (good"

    /// The PID in a log line `... unwrapd[PID]: TAG...`.
    private static func processID(loggingAs tag: String, in line: String) -> pid_t? {
        guard let end = line.range(of: "]: \(tag)")?.lowerBound,
            let start = line[..<end].lastIndex(of: "[")
        else { return nil }
        return pid_t(line[line.index(after: start)..<end])
    }

    @Test func theResponseIsFetchedAtStartStapledSavedAndFetchedAgain() throws {
        defer { fixture.stop() }
        let daemon = try startDaemon(extra: ["ocsp-refresh-interval = 1"])
        defer { daemon.kill() }
        #expect(daemon.childPIDs().count == 2, "a worker and the fetcher")
        let line = try daemon.waitForLog(containing: Self.fetched, timeout: .seconds(10))
        #expect(line[0].contains("pem-file \(certificate.pemFile): OCSP responder \(responder.url)"), "\(line)")

        let serial = try CommandLineTools.openssl(["x509", "-in", certificate.certificateFile, "-noout", "-serial"])
            .requireSuccess().stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("serial=".count)
        for version in ["-tls1_3", "-tls1_2"] {
            let report = try statusReport([version])
            #expect(report.contains("OCSP Response Status: successful"), "\(version): \(report)")
            #expect(report.contains("Cert Status: good"), "\(version): \(report)")
            #expect(report.contains("Serial Number: \(serial)"), "\(version): \(report)")
        }
        let saved = try #require(FileManager.default.contents(atPath: savedResponse), "nothing in \(cacheDirectory)")
        #expect(saved == FileManager.default.contents(atPath: fixture.directory.file("ocsp-answer-1.der")))
        var status = stat()
        #expect(stat(cacheDirectory, &status) == 0 && status.st_mode & 0o777 == 0o750)

        try responder.waitForAnswers(2, timeout: .seconds(10))  // ocsp-refresh-interval = 1
        #expect(try fixture.exchange("stapled") == "stapled")
    }

    @Test func theSavedResponseIsStapledFromTheStartWhileTheResponderIsDown() throws {
        defer { fixture.stop() }
        let first = try startDaemon()
        defer { first.kill() }
        _ = try first.waitForLog(containing: Self.fetched, timeout: .seconds(10))
        #expect(try first.stop() == .exited(0))
        responder.stop()

        let daemon = try startDaemon()
        defer { daemon.kill() }
        #expect(daemon.logContains("saved OCSP response \(savedResponse): stapled (good) until a new one is fetched"))
        #expect(try statusReport().contains("Cert Status: good"))
        let failure = try daemon.waitForLog(containing: "trying again later", timeout: .seconds(10))
        #expect(failure[0].contains("connect [127.0.0.1]:\(responder.port): Connection refused (ECONNREFUSED)"))
    }

    @Test func aRefusedFetchIsLoggedAndTriedAgain() throws {
        defer { fixture.stop() }
        responder.serve(certificate, .unavailable)
        let daemon = try startDaemon(extra: ["ocsp-refresh-interval = 1"])
        defer { daemon.kill() }
        _ = try daemon.waitForLog(containing: "answered HTTP 503 Service Unavailable; trying again later")
        #expect(try statusReport().contains("OCSP response: no response sent"))

        responder.serve(certificate, .answer(.revoked))
        let line = try daemon.waitForLog(containing: "calls the certificate revoked", timeout: .seconds(10))
        #expect(line[0].contains("it is stapled as it is"), "\(line)")
        #expect(try statusReport().contains("Cert Status: revoked"))
    }

    @Test func aResponderThatDoesNotAnswerIsGivenUpAfterTheResponseTimeout() throws {
        defer { fixture.stop() }
        responder.serve(certificate, .silent)
        let daemon = try startDaemon(extra: ["ocsp-resp-tmo = 0.5"])
        defer { daemon.kill() }
        let line = try daemon.waitForLog(containing: "trying again later", timeout: .seconds(10))
        #expect(line[0].contains("no complete answer within ocsp-resp-tmo (0.5 s)"), "\(line)")
        #expect(try statusReport().contains("OCSP response: no response sent"))
    }

    @Test func aDeadFetcherIsRestartedAndKeepsToTheSchedule() throws {
        defer { fixture.stop() }
        let daemon = try startDaemon()
        defer { daemon.kill() }
        let line = try daemon.waitForLog(containing: Self.fetched, timeout: .seconds(10))[0]
        let fetcher = try #require(Self.processID(loggingAs: "ocsp: ", in: line), "\(line)")
        let worker = try #require(daemon.childPIDs().first { $0 != fetcher })
        kill(fetcher, SIGKILL)
        _ = try daemon.waitForLog(containing: "OCSP fetcher (pid \(fetcher)) was killed by SIGKILL; restarting it")
        let restarted = try daemon.waitForChildren(count: 2, excluding: [fetcher])
        #expect(restarted.contains(worker))
        #expect(try statusReport().contains("Cert Status: good"))
        #expect(responder.answered == 1, "the restarted fetcher keeps to the schedule: the response is fresh")
    }

    /// A reload keeps the response it has for the same certificate (and its schedule); a certificate renewed in the
    /// same PEM file gets its own at once.
    @Test func aReloadKeepsTheResponseUntilTheCertificateChanges() throws {
        defer { fixture.stop() }
        let daemon = try startDaemon()
        defer { daemon.kill() }
        _ = try daemon.waitForLog(containing: Self.fetched, timeout: .seconds(10))
        let before = Set(daemon.childPIDs())
        _ = try daemon.reload()
        #expect(try statusReport().contains("Cert Status: good"))
        let after = try daemon.waitForChildren(count: 2, excluding: before)
        #expect(after.count == 2, "a new worker and a new fetcher")
        // Not the saved file's response, which the new fetcher would replace at once: the running one, kept.
        #expect(!daemon.logContains("until a new one is fetched"), "\(daemon.stderr)")
        #expect(responder.answered == 1)

        let renewed = try fixture.certificates.server(["a.example"], ocspResponder: responder.url)
        responder.serve(renewed)
        try FileManager.default.removeItem(atPath: certificate.pemFile)
        try FileManager.default.copyItem(atPath: renewed.pemFile, toPath: certificate.pemFile)
        _ = try daemon.reload()
        try responder.waitForAnswers(2)
        let serial = try CommandLineTools.openssl(["x509", "-in", renewed.certificateFile, "-noout", "-serial"])
            .requireSuccess().stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("serial=".count)
        try waitUntil("the renewed certificate's response stapled", timeout: .seconds(10)) {
            try statusReport().contains("Serial Number: \(serial)")
        }
    }

    /// The fetcher, unprivileged, gets the reopened log file from the parent, as the workers do.
    @Test func sigusr1HandsTheFetcherTheReopenedLogFile() throws {
        defer { fixture.stop() }
        let log = fixture.directory.file("unwrapd.log")
        let daemon = try startDaemon(extra: ["ocsp-refresh-interval = 1", "log-filename = \"\(log)\""])
        defer { daemon.kill() }
        try waitUntil("a fetch logged in \(log)", timeout: .seconds(10)) {
            fixture.directory.read("unwrapd.log").contains(Self.fetched)
        }
        try #require(rename(log, fixture.directory.file("unwrapd.log.1")) == 0)
        try daemon.sendSignal(SIGUSR1)
        // Fetched every second: the next fetch's line goes to the new file.
        try waitUntil(
            "the fetcher's next line in the new \(log)", timeout: .seconds(10),
            details: fixture.directory.read("unwrapd.log.1")
        ) { fixture.directory.read("unwrapd.log").contains(Self.fetched) }
        #expect(!fixture.directory.read("unwrapd.log.1").contains("cannot reopen"))
    }

    @Test func noFetcherWithoutAnOCSPDirectoryOrWithAResponseFile() throws {
        defer { fixture.stop() }
        let off = try startDaemon(extra: ["ocsp-dir = \"\""])
        #expect(off.childPIDs().count == 1, "the worker alone")
        #expect(try statusReport().contains("OCSP response: no response sent"))
        #expect(try off.stop() == .exited(0))

        let response = try fixture.certificates.ocspResponse(for: certificate, name: "a.der")
        let fromFile = try startDaemon(responseFile: response)
        defer { fromFile.kill() }
        #expect(fromFile.childPIDs().count == 1, "the worker alone")
        #expect(try statusReport().contains("Cert Status: good"))
        #expect(responder.answered == 0)
    }

    /// A certificate that demands a staple ("OCSP Must-Staple") with no way to get one is named at load: browsers
    /// that honour it refuse the connection.
    @Test func aMustStapleCertificateWithoutAStapleIsNamed() throws {
        defer { fixture.stop() }
        let certificates = fixture.certificates
        let withoutResponder = try certificates.server(["m.example"], mustStaple: true)
        let withResponder = try certificates.server(["n.example"], ocspResponder: responder.url, mustStaple: true)
        let response = try certificates.ocspResponse(for: withoutResponder, name: "m.der")
        func check(_ lines: [String]) throws -> String {
            let config = try DaemonProcess.configArgument(
                ["frontend = \"\(fixture.frontendName)\"", "backend = \"\(fixture.backend.hitchAddress)\""] + lines,
                in: fixture.directory, name: "must-staple.conf")
            let output = try DaemonProcess.run(["-t", config])
            #expect(output.succeeded, "\(output)")
            return output.stderrText
        }
        let demands = "the certificate demands a stapled OCSP response (\"OCSP Must-Staple\") and unwrapd has none"
        let noResponder = try check(["pem-file = \"\(withoutResponder.pemFile)\""])
        #expect(noResponder.contains("pem-file \(withoutResponder.pemFile): \(demands)"), "\(noResponder)")
        #expect(noResponder.contains("it names no OCSP responder unwrapd can ask"), "\(noResponder)")
        let off = try check(["ocsp-dir = \"\"", "pem-file = \"\(withResponder.pemFile)\""])
        #expect(off.contains("ocsp-dir = \"\" turns fetching off"), "\(off)")
        #expect(!(try check(["pem-file = \"\(withResponder.pemFile)\""])).contains(demands))
        let fromFile = try check([
            "pem-file = {", "    cert = \"\(withoutResponder.pemFile)\"", "    ocsp-resp-file = \"\(response)\"", "}",
        ])
        #expect(!fromFile.contains(demands), "\(fromFile)")
    }
}
