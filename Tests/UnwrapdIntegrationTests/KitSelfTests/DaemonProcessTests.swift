import Glibc
import Testing

/// `DaemonProcess` against a stand-in that speaks systemd's notify protocol.
@Suite struct DaemonProcessTests {
    @Test func startWaitsForReadyAndReportsTheNotifyFields() throws {
        let directory = try TestDirectory("daemon-ready")
        let daemon = try DaemonProcess.start(
            NotifyingStandIn.arguments("ready", in: directory), in: directory, executable: NotifyingStandIn.python)
        defer { daemon.kill() }

        let ready = try #require(daemon.notifications.first { $0.isReady })
        #expect(ready["MAINPID"] == String(daemon.pid))
        #expect(ready["STATUS"] == "listening on 2 workers")
        let workers = try daemon.waitForChildren(count: 2)
        #expect(workers.allSatisfy(DaemonProcess.isAlive))
        try daemon.waitForLog(containing: "stand-in ready")
        #expect(daemon.stdout.contains("starting in mode ready"))

        #expect(try daemon.stop() == .exited(0))
        #expect(daemon.survivorsAtExit.isEmpty)
        #expect(!workers.contains(where: DaemonProcess.isAlive))
        #expect(daemon.logContains("stand-in stopped"))
    }

    @Test func laterNotificationsCanBeAwaited() throws {
        let directory = try TestDirectory("daemon-reload")
        let daemon = try DaemonProcess.start(
            NotifyingStandIn.arguments("ready", in: directory), in: directory, executable: NotifyingStandIn.python)
        defer { daemon.kill() }

        try daemon.sendSignal(SIGHUP)
        try daemon.waitForNotification("RELOADING=1") { $0["RELOADING"] == "1" }
        let again = try daemon.waitForNotification("READY=1 after reload") { $0.isReady }
        #expect(again["STATUS"] == "reloaded")
        try daemon.sendSignal(SIGTERM)
        try daemon.waitForNotification("STOPPING=1") { $0["STOPPING"] == "1" }
        #expect(try daemon.waitForExit() == .exited(0))
    }

    @Test func exitBeforeReadyIsReportedWithStatusAndStderr() throws {
        let directory = try TestDirectory("daemon-fail")
        let error = #expect(throws: DaemonError.self) {
            try DaemonProcess.start(
                NotifyingStandIn.arguments("fail", in: directory), in: directory, executable: NotifyingStandIn.python)
        }
        guard case .exitedWhileWaiting(_, _, let status, let output)? = error else {
            Issue.record("unexpected error \(String(describing: error))")
            return
        }
        #expect(status == .exited(3))
        #expect(output.contains("bad configuration: no frontend"))
        #expect(String(describing: error!).contains("exit status 3"))
    }

    @Test func missingReadinessTimesOut() throws {
        let directory = try TestDirectory("daemon-silent")
        let started = ContinuousClock.now
        let error = #expect(throws: DaemonError.self) {
            try DaemonProcess.start(
                NotifyingStandIn.arguments("silent", in: directory), in: directory,
                executable: NotifyingStandIn.python, readyWithin: .milliseconds(500))
        }
        #expect(ContinuousClock.now - started < .seconds(5))
        guard case .notReady? = error else {
            Issue.record("unexpected error \(String(describing: error))")
            return
        }
    }

    @Test func stopKillsADaemonThatIgnoresTheSignal() throws {
        let directory = try TestDirectory("daemon-stubborn")
        let daemon = try DaemonProcess.start(
            NotifyingStandIn.arguments("stubborn", in: directory), in: directory,
            executable: NotifyingStandIn.python)
        defer { daemon.kill() }
        let workers = try daemon.waitForChildren(count: 2)

        let error = #expect(throws: DaemonError.self) { try daemon.stop(timeout: .milliseconds(300)) }
        guard case .didNotExit(SIGTERM, _, _)? = error else {
            Issue.record("unexpected error \(String(describing: error))")
            return
        }
        #expect(!daemon.isRunning)
        #expect(!workers.contains(where: DaemonProcess.isAlive))
    }

    @Test func workersLeftBehindAreReportedAndKilled() throws {
        let directory = try TestDirectory("daemon-orphans")
        let daemon = try DaemonProcess.start(
            NotifyingStandIn.arguments("orphaning", in: directory), in: directory,
            executable: NotifyingStandIn.python)
        defer { daemon.kill() }
        let workers = try daemon.waitForChildren(count: 2)

        #expect(try daemon.stop() == .exited(0))
        #expect(daemon.survivorsAtExit == workers)
        try waitUntil("the orphaned workers to be gone", timeout: .seconds(5)) {
            !workers.contains(where: DaemonProcess.isAlive)
        }
    }

    @Test func runCapturesStatusAndOutput() throws {
        let output = try DaemonProcess.run(
            ["-c", "import sys; print(sys.stdin.read().upper()); print('oops', file=sys.stderr); sys.exit(2)"],
            executable: NotifyingStandIn.python, stdin: Array("hello".utf8))
        #expect(output.status == .exited(2))
        #expect(output.stdoutText == "HELLO\n")
        #expect(output.stderrText == "oops\n")
        #expect(throws: ProcessFailure.self) { try output.requireSuccess() }

        let slow = try DaemonProcess.run(
            ["-c", "import time; time.sleep(30)"], executable: NotifyingStandIn.python, timeout: .milliseconds(300))
        #expect(slow.timedOut)
    }

    @Test func socketActivationPassesListeningSockets() throws {
        let directory = try TestDirectory("daemon-activation")
        let (fd, port) = try Ports.listeningSocket()
        defer { close(fd) }
        let script = try directory.write(
            """
            import os, socket
            assert os.environ["LISTEN_PID"] == str(os.getpid()), "LISTEN_PID is not our PID"
            listener = socket.socket(fileno=3)
            port = listener.getsockname()[1]
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.sendto(("READY=1\\nSTATUS=fds=%s port=%d" % (os.environ["LISTEN_FDS"], port)).encode(), os.environ["NOTIFY_SOCKET"])
            """, to: "activated.py")
        let daemon = try DaemonProcess(
            [script], in: directory, executable: NotifyingStandIn.python, passing: [fd])
        defer { daemon.kill() }
        let ready = try daemon.waitUntilReady()
        #expect(ready["STATUS"] == "fds=1 port=\(port)")
        #expect(try daemon.waitForExit() == .exited(0))
    }
}
