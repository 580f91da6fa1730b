import Foundation
import Glibc
import Testing

/// The configuration an operator writes: `-t`, the errors for bad input, config files with frontend blocks,
/// command-line overrides, `--default-config`, `-V`, `-h`, and the endpoint forms.
@Suite struct ConfigurationTests {
    // MARK: - -t

    @Test func testModeAcceptsAGoodConfigurationAndExits() throws {
        let directory = try TestDirectory("cfg-good")
        let certificates = try TestCertificates(in: directory)
        let pem = try certificates.server(["a.example"]).pemFile
        let port = try Ports.freeTCPPort()
        let config = try directory.write(
            """
            # a small but complete configuration
            frontend = "[127.0.0.1]:\(port)"
            backend = "[127.0.0.1]:8000"
            pem-file = "\(pem)"
            workers = 2
            ssl-handshake-timeout = 5
            """, to: "good.conf")

        let output = try DaemonProcess.run(["--config=\(config)", "-t"], timeout: .seconds(5))
        #expect(output.status == .exited(0), "\(output)")
        #expect(output.stderrText.isEmpty, "\(output)")
        #expect(output.stdoutText.contains("configuration OK"), "\(output)")
        #expect(output.stdoutText.contains("[127.0.0.1]:\(port)"), "\(output)")
        #expect(output.stdoutText.contains("2 workers"), "\(output)")
        // -t released the port: a daemon can take it.
        let probe = try Sockets.listen(on: .tcp(host: "127.0.0.1", port: port))
        close(probe.fd)
    }

    /// Configurations that must be refused, each with what its one-line message must name.
    enum BadConfiguration: String, CaseIterable, CustomStringConvertible {
        case missingPEM
        case garbagePEM
        case keyDoesNotMatchCertificate
        case unknownKeyInFile
        case badValueInFile
        case unknownFlag
        case badFlagValue
        case portInUse

        var description: String { rawValue }

        /// The arguments to run it with, and the fragments the message must contain. `hold` keeps a socket open
        /// for the duration of the run (the port in use).
        func arrange(in directory: TestDirectory, certificates: TestCertificates) throws
            -> (arguments: [String], fragments: [String], hold: Int32?)
        {
            let frontend = "--frontend=[127.0.0.1]:\(try Ports.freeTCPPort())"
            switch self {
            case .missingPEM:
                let path = directory.file("missing.pem")
                return ([frontend, path], [path, "ENOENT"], nil)
            case .garbagePEM:
                let path = try certificates.garbagePEM()
                return ([frontend, path], [path, "pem-file"], nil)
            case .keyDoesNotMatchCertificate:
                let path = try certificates.mismatchedKeyPEM()
                return ([frontend, path], [path, "key values mismatch"], nil)
            case .unknownKeyInFile:
                let pem = try certificates.server(["a.example"]).pemFile
                let config = try directory.write(
                    "# settings\nfrontend = \"[127.0.0.1]:\(try Ports.freeTCPPort())\"\nfrobnicate = on\n"
                        + "pem-file = \"\(pem)\"\n", to: "unknown.conf")
                return (["--config=\(config)"], ["\(config):3:", "frobnicate"], nil)
            case .badValueInFile:
                let pem = try certificates.server(["a.example"]).pemFile
                let config = try directory.write(
                    "frontend = \"[127.0.0.1]:\(try Ports.freeTCPPort())\"\npem-file = \"\(pem)\"\n\n"
                        + "ssl-handshake-timeout = soon\n", to: "badvalue.conf")
                return (["--config=\(config)"], ["\(config):4:", "ssl-handshake-timeout", "soon"], nil)
            case .unknownFlag:
                let pem = try certificates.server(["a.example"]).pemFile
                return ([frontend, "--frobnicate", pem], ["--frobnicate"], nil)
            case .badFlagValue:
                let pem = try certificates.server(["a.example"]).pemFile
                return ([frontend, "--backend-connect-timeout=soon", pem], ["--backend-connect-timeout", "soon"], nil)
            case .portInUse:
                let pem = try certificates.server(["a.example"]).pemFile
                let (fd, endpoint) = try Sockets.listen(on: .tcp(host: "127.0.0.1", port: 0))
                let address = "[127.0.0.1]:\(endpoint.port!)"
                return (["--frontend=\(address)", pem], [address, "EADDRINUSE"], fd)
            }
        }
    }

    @Test(arguments: BadConfiguration.allCases, [true, false])
    func aBadConfigurationIsRefusedWithOneLineNamingTheCulprit(_ bad: BadConfiguration, testOnly: Bool) throws {
        let directory = try TestDirectory("cfg-bad")
        let certificates = try TestCertificates(in: directory)
        let (arguments, fragments, hold) = try bad.arrange(in: directory, certificates: certificates)
        defer { if let hold { close(hold) } }
        let backend = "--backend=\(directory.file("nowhere.sock"))"

        let output = try DaemonProcess.run(
            (testOnly ? ["-t"] : []) + [backend] + arguments, timeout: .seconds(5))
        #expect(!output.timedOut, "\(output)")
        #expect(output.status != .exited(0), "\(output)")
        if case .signaled = output.status { Issue.record("crashed: \(output)") }
        let lines = output.stderrText.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines.last == "", "not exactly one line on stderr: \(output)")
        for fragment in fragments {
            #expect(output.stderrText.contains(fragment), "the message does not name \"\(fragment)\": \(output)")
        }
        #expect(!output.stdoutText.contains("configuration OK"), "\(output)")
    }

    // MARK: - Config files and the command line

    @Test func frontendBlocksServeEachFrontendWithItsOwnCertificate() throws {
        let directory = try TestDirectory("cfg-blocks")
        let certificates = try TestCertificates(in: directory)
        let first = try certificates.server(["first.example"])
        let second = try certificates.server(["second.example"])
        let global = try certificates.server(["global.example"])
        let backend = try TestBackend(.echo)
        defer { backend.stop() }
        let ports = [try Ports.freeTCPPort(), try Ports.freeTCPPort(), try Ports.freeTCPPort()]
        let config = try directory.write(
            """
            backend = "\(backend.hitchAddress)"
            pem-file = "\(global.pemFile)"
            frontend = {
                host = "127.0.0.1"
                port = "\(ports[0])"
                pem-file = "\(first.pemFile)"
            }
            frontend = {
                host = "127.0.0.1"
                port = "\(ports[1])"
                pem-file = "\(second.pemFile)"
            }
            # a plain frontend gets the global certificate
            frontend = "[127.0.0.1]:\(ports[2])"
            """, to: "blocks.conf")
        let daemon = try DaemonProcess.start(["--config=\(config)"], in: directory)
        defer { daemon.kill() }

        for (port, expected) in zip(ports, ["first.example", "second.example", "global.example"]) {
            // No SNI: each frontend answers with its own (default) certificate.
            let client = try TLSTestClient(port: port, options: TLSClientOptions(trustedCAFile: certificates.caFile))
            try client.handshake()
            #expect(client.peerCommonName == expected, "port \(port)")
            #expect(try client.roundTrip("to \(expected)") == "to \(expected)")
            client.close()
        }
        #expect(backend.acceptedCount == 3)
        #expect(try daemon.stop() == .exited(0))
    }

    @Test(arguments: [true, false])
    func commandLineFlagsOverrideTheFile(flagBeforeConfig: Bool) throws {
        let directory = try TestDirectory("cfg-override")
        let certificates = try TestCertificates(in: directory)
        let pem = try certificates.server(["a.example"]).pemFile
        let fileBackend = try TestBackend(.record)
        defer { fileBackend.stop() }
        let flagBackend = try TestBackend(.echo)
        defer { flagBackend.stop() }
        let filePort = try Ports.freeTCPPort()
        let flagPort = try Ports.freeTCPPort()
        let config = try directory.write(
            """
            frontend = "[127.0.0.1]:\(filePort)"
            backend = "\(fileBackend.hitchAddress)"
            pem-file = "\(pem)"
            ssl-handshake-timeout = 30
            """, to: "override.conf")
        let flags = [
            "--backend=\(flagBackend.hitchAddress)", "--frontend=[127.0.0.1]:\(flagPort)",
            "--ssl-handshake-timeout=1",
        ]
        let arguments = flagBeforeConfig ? flags + ["--config=\(config)"] : ["--config=\(config)"] + flags
        let daemon = try DaemonProcess.start(arguments, in: directory)
        defer { daemon.kill() }

        // --frontend adds to the file's frontends (as in hitch); both relay to the backend of the flag.
        for port in [flagPort, filePort] {
            let client = try TLSTestClient(port: port, options: TLSClientOptions(serverName: "a.example"))
            try client.handshake()
            #expect(try client.roundTrip("flag wins") == "flag wins")
            client.close()
        }
        #expect(flagBackend.acceptedCount == 2)
        #expect(fileBackend.acceptedCount == 0)
        // The handshake timeout of the flag, not the file's 30 s.
        let idle = try PlainClient(port: flagPort)
        #expect([StreamEnd.eof, .reset].contains(try idle.waitForClose(timeout: .seconds(5))))
    }

    @Test func theDefaultConfigurationIsTheShippedFileAndReadsBack() throws {
        let directory = try TestDirectory("cfg-default")
        let printed = try DaemonProcess.run(["--default-config"], timeout: .seconds(5))
        #expect(printed.status == .exited(0), "\(printed)")
        #expect(printed.stderrText.isEmpty, "\(printed)")
        let shipped = try ProjectFiles.read("Config/unwrapd.conf")
        #expect(printed.stdoutText == shipped, "--default-config differs from Config/unwrapd.conf")
        #expect(printed.stdoutText.contains("backend = \"[127.0.0.1]:8000\""))

        let saved = try directory.write(printed.stdout, to: "default.conf")
        let certificates = try TestCertificates(in: directory)
        let pem = try certificates.server(["a.example"]).pemFile
        let port = try Ports.freeTCPPort()
        // Only the frontend is overridden ([*]:8443 may be taken on a test machine) and a PEM given (none by default).
        let output = try DaemonProcess.run(
            ["--config=\(saved)", "-t", "--frontend=[127.0.0.1]:\(port)", pem], timeout: .seconds(5))
        #expect(output.status == .exited(0), "\(output)")
        #expect(output.stderrText.isEmpty, "\(output)")
        #expect(
            output.stdoutText.contains(
                "listening on [127.0.0.1]:\(port), backend [127.0.0.1]:8000, 1 worker as nobody:"), "\(output)")
    }

    @Test func versionIsPrinted() throws {
        for flag in ["-V", "--version"] {
            let output = try DaemonProcess.run([flag], timeout: .seconds(5))
            #expect(output.status == .exited(0), "\(output)")
            #expect(output.stderrText.isEmpty, "\(output)")
            let text = output.stdoutText
            #expect(text.range(of: #"^unwrapd \d+\.\d+\.\d+\S*\n$"#, options: .regularExpression) != nil, "\(output)")
        }
    }

    @Test func helpListsTheFlagsAndExitsZero() throws {
        for flag in ["-h", "--help"] {
            let output = try DaemonProcess.run([flag], timeout: .seconds(5))
            #expect(output.status == .exited(0), "\(output)")
            #expect(output.stderrText.isEmpty, "\(output)")
            for expected in [
                "--write-proxy-v2", "--write-proxy-v1", "--write-ip", "--proxy-proxy", "--backend-connect-timeout",
                "--ssl-handshake-timeout", "--config=FILE", "--default-config", "--daemon", "--pidfile",
                "--chroot", "--user", "--group", "--log-level", "--log-filename", "--workers", "--test",
            ] {
                #expect(output.stdoutText.contains(expected), "\(flag) does not list \(expected)")
            }
        }
    }

    // MARK: - Endpoint forms

    @Test func studsHostCommaPortFormWorksForFrontendAndBackend() throws {
        let fixture = try RelayFixture("cfg-stud")
        defer { fixture.stop() }
        let daemon = try DaemonProcess.start(
            ["-f", "127.0.0.1,\(fixture.port)", "-b", "127.0.0.1,\(fixture.backend.port)", fixture.pem],
            in: fixture.directory)
        defer { daemon.kill() }
        #expect(try fixture.exchange("stud form") == "stud form")
        #expect(fixture.backend.acceptedCount == 1)
    }

    @Test func aUNIXSocketPathIsABackend() throws {
        let directory = try TestDirectory("cfg-unix")
        let certificates = try TestCertificates(in: directory)
        let pem = try certificates.server(["a.example"]).pemFile
        let backend = try TestBackend.unix(.echo, in: directory)
        defer { backend.stop() }
        let port = try Ports.freeTCPPort()
        let daemon = try DaemonProcess.start(
            ["--frontend=[127.0.0.1]:\(port)", "--backend=\(backend.hitchAddress)", pem], in: directory)
        defer { daemon.kill() }

        let client = try TLSTestClient(port: port, options: TLSClientOptions(serverName: "a.example"))
        try client.handshake()
        #expect(try client.roundTrip("over a UNIX socket") == "over a UNIX socket")
        client.close()
        let connection = try backend.waitForConnection()
        #expect(connection.peer == "unix")
    }
}
