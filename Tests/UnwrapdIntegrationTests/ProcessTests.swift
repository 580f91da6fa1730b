import Foundation
import Glibc
import Testing

/// The process model an operator relies on: workers and their identity, respawn, signals, readiness, detaching,
/// chroot. The tests run as root, so workers drop privileges (to `nobody` unless `--user` says otherwise).
@Suite struct ProcessTests {
    @Test func threeWorkersRunAsNobodyWhileTheParentStaysRoot() throws {
        let nobody = try #require(ProcessCredentials.account("nobody"), "no user nobody on this system")
        let fixture = try RelayFixture("proc-workers")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["-n", "3"])
        defer { daemon.kill() }

        // Workers are forked before READY=1 is sent, but a worker may not have dropped its privileges yet then.
        let workers = daemon.childPIDs()
        #expect(workers.count == 3, "workers: \(workers)")
        try waitForIdentity(of: workers, user: nobody.user, group: nobody.group)
        for worker in workers {
            let credentials = try #require(ProcessCredentials(of: worker))
            #expect(credentials.groups.allSatisfy { $0 == nobody.group }, "worker \(worker): \(credentials)")
        }
        let parent = try #require(ProcessCredentials(of: daemon.pid))
        #expect(parent.userIDs == [0, 0, 0, 0], "parent: \(parent)")
        #expect(try fixture.exchange("three workers") == "three workers")
    }

    @Test func userAndGroupChooseTheWorkersIdentity() throws {
        let user = try #require(ProcessCredentials.account("daemon"), "no user daemon on this system")
        let group = try #require(ProcessCredentials.group("bin"), "no group bin on this system")
        #expect(group != user.group, "the test needs a group other than the user's own")
        let fixture = try RelayFixture("proc-user")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["-n", "2", "--user=daemon", "--group=bin"])
        defer { daemon.kill() }

        let workers = daemon.childPIDs()
        #expect(workers.count == 2, "workers: \(workers)")
        try waitForIdentity(of: workers, user: user.user, group: group)
        #expect(try fixture.exchange("as daemon:bin") == "as daemon:bin")

        // --user alone: the user's own primary group.
        let port = try Ports.freeTCPPort()
        let userOnly = try DaemonProcess.start(
            [
                "--frontend=[127.0.0.1]:\(port)", "--backend=\(fixture.backend.hitchAddress)", "-u", "daemon",
                fixture.pem,
            ], in: fixture.directory)
        defer { userOnly.kill() }
        try waitForIdentity(of: userOnly.childPIDs(), user: user.user, group: user.group)
        #expect(try fixture.exchange("as daemon", port: port) == "as daemon")
    }

    @Test func killedWorkersAreReplacedAndServiceContinues() throws {
        let fixture = try RelayFixture("proc-respawn")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["-n", "2"])
        defer { daemon.kill() }
        let original = daemon.childPIDs()
        try #require(original.count == 2, "workers: \(original)")

        // Kill one worker, then the other: afterwards only respawned workers can serve.
        kill(original[0], SIGKILL)
        let afterFirst = try daemon.waitForChildren(count: 2, excluding: [original[0]])
        #expect(afterFirst.contains(original[1]), "the other worker was disturbed: \(original) -> \(afterFirst)")
        kill(original[1], SIGKILL)
        let replaced = try daemon.waitForChildren(count: 2, excluding: Set(original))

        #expect(daemon.isRunning)
        for round in 0..<4 { #expect(try fixture.exchange("after respawn \(round)") == "after respawn \(round)") }
        let nobody = try #require(ProcessCredentials.account("nobody"))
        try waitForIdentity(of: replaced, user: nobody.user, group: nobody.group)
        try daemon.waitForLog(containing: "(pid \(original[0])) was killed by SIGKILL")
        try daemon.waitForLog(containing: "(pid \(original[1])) was killed by SIGKILL")
    }

    @Test func sigtermStopsEverythingWithStatusZero() throws {
        let fixture = try RelayFixture("proc-term")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["-n", "3"])
        defer { daemon.kill() }
        let workers = daemon.childPIDs()
        #expect(workers.count == 3)
        let client = try fixture.connectedClient()
        #expect(try client.roundTrip("before stop") == "before stop")

        #expect(try daemon.stop(signal: SIGTERM, timeout: .seconds(5)) == .exited(0))
        #expect(daemon.survivorsAtExit.isEmpty, "left behind: \(daemon.survivorsAtExit)")
        #expect(!workers.contains(where: DaemonProcess.isAlive))
        // The open connection ended with the daemon.
        let end = try client.readToEnd(timeout: .seconds(2))
        #expect(end.bytes.isEmpty)
        #expect(throws: SystemCallError.self) { try PlainClient(port: fixture.port) }
    }

    @Test func workersExitWhenTheParentIsKilled() throws {
        let fixture = try RelayFixture("proc-orphans")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["-n", "2"])
        defer { daemon.kill() }
        let workers = daemon.childPIDs()
        try #require(workers.count == 2, "workers: \(workers)")

        try daemon.sendSignal(SIGKILL)
        // Not reaped yet (the kit would kill leftovers when reaping): the workers must go by themselves.
        try waitUntil(
            "the workers \(workers) to exit after their parent was killed", timeout: .seconds(5),
            details: "alive: \(workers.filter(DaemonProcess.isAlive))"
        ) { !workers.contains(where: DaemonProcess.isAlive) }
        #expect(try daemon.waitForExit() == .signaled(SIGKILL))
        #expect(daemon.survivorsAtExit.isEmpty, "left behind: \(daemon.survivorsAtExit)")
    }

    /// The workers' sockets set `SO_REUSEPORT`, and the kernel lets a second process of the same user bind the same
    /// address with it: without a check, a second unwrapd would start and take half of the new connections. It is
    /// refused with one line; `-t` beside the running daemon still passes, and the first daemon serves on.
    @Test func aSecondDaemonOnARunningOnesFrontendIsRefusedButMinusTPasses() throws {
        let fixture = try RelayFixture("proc-second")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["-n", "2"])
        defer { daemon.kill() }

        let second = try DaemonProcess.run(fixture.arguments(["-n", "2"]), timeout: .seconds(5))
        #expect(!second.timedOut, "the second daemon started: \(second)")
        #expect(second.status == .exited(1), "\(second)")
        let lines = second.stderrText.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines.last == "", "not exactly one line on stderr: \(second)")
        for fragment in [fixture.frontendName, "EADDRINUSE", "another program listens there"] {
            #expect(second.stderrText.contains(fragment), "the message does not name \"\(fragment)\": \(second)")
        }

        let test = try DaemonProcess.run(["-t"] + fixture.arguments(["-n", "2"]), timeout: .seconds(5))
        #expect(test.status == .exited(0) && test.stdoutText.contains("configuration OK"), "\(test)")

        #expect(daemon.isRunning)
        for round in 0..<8 { #expect(try fixture.exchange("still served \(round)") == "still served \(round)") }
        #expect(try daemon.stop() == .exited(0))
    }

    @Test func sigusr1MakesTheParentReopenItsLogFile() throws {
        let fixture = try RelayFixture("proc-usr1-parent")
        defer { fixture.stop() }
        let log = fixture.directory.file("unwrapd.log")
        // -L 2: the parent logs each SIGHUP (a reload) at the info level.
        let daemon = try fixture.startDaemon(["-n", "1", "-l", log, "-L", "2"])
        defer { daemon.kill() }
        try daemon.sendSignal(SIGHUP)
        try waitUntil("the parent's SIGHUP line in \(log)", timeout: .seconds(5)) {
            fixture.directory.read("unwrapd.log").contains("SIGHUP")
        }

        try rotateLog(of: daemon, in: fixture.directory)
        try daemon.sendSignal(SIGHUP)
        try waitUntil(
            "the parent's next line in the new \(log)", timeout: .seconds(5),
            details: Self.logFiles(in: fixture.directory)
        ) { fixture.directory.read("unwrapd.log").contains("SIGHUP") }
        #expect(fixture.directory.read("unwrapd.log.1").components(separatedBy: "SIGHUP").count == 2)
        #expect(daemon.stderr.isEmpty, "stderr: \(daemon.stderr)")
    }

    /// Fails: workers run as `nobody` and cannot open the root-owned log file the parent created again, so
    /// they log on into the rotated file (and say so there: "cannot reopen log file ... EACCES").
    @Test func sigusr1MakesTheWorkersReopenTheLogFile() throws {
        let fixture = try RelayFixture("proc-usr1-worker")
        defer { fixture.stop() }
        let log = fixture.directory.file("unwrapd.log")
        let daemon = try fixture.startDaemon(["-n", "1", "-l", log])
        defer { daemon.kill() }
        // A worker writes the line of a failed handshake before it closes the connection.
        let before = try fixture.failHandshake()
        #expect(fixture.directory.read("unwrapd.log").contains("[127.0.0.1]:\(before) "))

        try rotateLog(of: daemon, in: fixture.directory)
        // The parent passed SIGUSR1 on to the worker, which takes it in its event loop: a client may overtake it,
        // so try a few.
        var last: UInt16 = 0
        try waitUntil(
            "a worker's line in the new \(log)", timeout: .seconds(3), interval: .milliseconds(100),
            details: Self.logFiles(in: fixture.directory)
        ) {
            last = try fixture.failHandshake()
            return fixture.directory.read("unwrapd.log").contains("[127.0.0.1]:\(last) ")
        }
        #expect(!fixture.directory.read("unwrapd.log.1").contains("[127.0.0.1]:\(last) "))
        #expect(!fixture.directory.read("unwrapd.log.1").contains("cannot reopen"))
    }

    /// Renames `unwrapd.log` to `unwrapd.log.1` and sends SIGUSR1; returns once the parent created the file again
    /// (the only sign that it reopened).
    private func rotateLog(of daemon: DaemonProcess, in directory: TestDirectory) throws {
        let log = directory.file("unwrapd.log")
        try #require(rename(log, directory.file("unwrapd.log.1")) == 0)
        try daemon.sendSignal(SIGUSR1)
        try waitUntil("the parent to create \(log) again after SIGUSR1", timeout: .seconds(5)) {
            access(log, F_OK) == 0
        }
    }

    private static func logFiles(in directory: TestDirectory) -> String {
        "\n--- unwrapd.log ---\n\(directory.read("unwrapd.log"))--- unwrapd.log.1 ---\n\(directory.read("unwrapd.log.1"))"
    }

    @Test func readinessNamesTheParentAsMainPID() throws {
        let fixture = try RelayFixture("proc-ready")
        defer { fixture.stop() }
        let daemon = try fixture.startDaemon(["-n", "2"])
        defer { daemon.kill() }

        let ready = daemon.notifications.filter(\.isReady)
        #expect(ready.count == 1, "\(daemon.notifications)")
        #expect(ready.first?["MAINPID"] == String(daemon.pid))
        // Ready means serving: the frontend answers without any further wait.
        #expect(try fixture.exchange("ready") == "ready")
        #expect(try daemon.stop() == .exited(0))
        #expect(daemon.notifications.contains { $0["STOPPING"] == "1" })
    }

    @Test func daemonModeDetachesWritesThePidfileAndRemovesItOnStop() throws {
        let fixture = try RelayFixture("proc-detach")
        defer { fixture.stop() }
        let pidFile = fixture.directory.file("unwrapd.pid")
        let logFile = fixture.directory.file("unwrapd.log")

        let detached = try DetachedDaemon.launch(
            fixture.arguments(["-n", "2", "--daemon", "--pidfile=\(pidFile)", "--log-filename=\(logFile)", "-L", "2"]),
            in: fixture.directory)
        defer { detached.kill() }

        // The command returned 0 at once, and what runs on is another process, in a session of its own.
        #expect(detached.launchOutput.status == .exited(0))
        #expect(detached.launchDuration < .seconds(3), "took \(detached.launchDuration)")
        let entry = try #require(ProcessTable.entry(detached.pid))
        #expect(entry.parent != getpid())
        #expect(getsid(detached.pid) != getsid(0))
        #expect(fixture.directory.read("unwrapd.pid") == "\(detached.pid)\n")
        #expect(detached.childPIDs().count == 2)
        #expect(try fixture.exchange("detached") == "detached")

        try detached.sendSignal(SIGTERM)
        #expect(detached.waitForExit(timeout: .seconds(5)), "still running after SIGTERM")
        #expect(access(pidFile, F_OK) != 0, "the pidfile is still there")
        #expect(throws: SystemCallError.self) { try PlainClient(port: fixture.port) }
        let logged = fixture.directory.read("unwrapd.log")
        #expect(logged.contains("unwrapd[\(detached.pid)]: listening on \(fixture.frontendName)"), "log: \(logged)")
        #expect(logged.contains("unwrapd[\(detached.pid)]: SIGTERM received"), "log: \(logged)")
    }

    @Test func chrootedWorkersServeATCPBackend() throws {
        let fixture = try RelayFixture("proc-chroot")
        defer { fixture.stop() }
        let jail = fixture.directory.file("jail")
        try #require(mkdir(jail, 0o755) == 0)
        let daemon = try fixture.startDaemon(["-n", "2", "--chroot=\(jail)"])
        defer { daemon.kill() }

        // Like the privilege drop, the chroot happens in each worker right after the fork, unawaited by READY=1.
        let workers = daemon.childPIDs()
        #expect(workers.count == 2, "workers: \(workers)")
        var roots: [pid_t: String] = [:]
        try waitUntil("the workers' root to be \(jail)", timeout: .seconds(5), details: "\(roots)") {
            for worker in workers {
                roots[worker] = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(worker)/root")
            }
            return workers.allSatisfy { roots[$0] == jail }
        }
        let root = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(daemon.pid)/root")
        #expect(root == "/", "the parent's root: \(root)")
        for round in 0..<3 { #expect(try fixture.exchange("chroot \(round)") == "chroot \(round)") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: jail).isEmpty)
        #expect(try daemon.stop() == .exited(0))
    }

    /// Waits until every process in `pids` runs entirely (real, effective, saved, filesystem IDs) as `user` and
    /// `group`: a worker drops its privileges right after the fork, which READY=1 does not wait for.
    private func waitForIdentity(of pids: [pid_t], user: uid_t, group: gid_t) throws {
        try #require(!pids.isEmpty)
        var last: [pid_t: ProcessCredentials] = [:]
        try waitUntil(
            "workers \(pids) to run as uid \(user) gid \(group)", timeout: .seconds(5),
            details: last.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
        ) {
            for pid in pids { last[pid] = ProcessCredentials(of: pid) }
            return pids.allSatisfy { last[$0]?.isEntirely(user: user, group: group) == true }
        }
    }
}
