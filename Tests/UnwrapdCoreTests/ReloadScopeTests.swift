import Testing

@testable import UnwrapdCore

/// What a reload (SIGHUP) cannot apply: the settings the parent uses once, before the first fork, and the options
/// of the listening sockets it keeps.
@Suite struct ReloadScopeTests {
    @Test func settingsTheWorkersUseNeedNoRestart() throws {
        let running = try runSettings("c.pem")
        let successor = try runSettings(
            "-n", "4", "--backend=[10.0.0.1]:80", "--drain-timeout=5", "-u", "nobody", "-L", "3", "--write-proxy-v2",
            "--connection-log-limit=5", "--ticket-key-rotation=60", "--session-tickets=off", "other.pem")
        #expect(running.changesNeedingRestart(in: successor).isEmpty)
    }

    @Test func settingsOnlyTheParentUsesAreNamed() throws {
        let running = try runSettings("c.pem")
        let successor = try runSettings(
            "--daemon", "--pidfile=/run/u.pid", "-l", "/var/log/u.log", "-s", "--syslog-facility=local0", "-C", "5",
            "-B", "512", "-k", "60", "--recv-bufsize=65536", "--send-bufsize=65536", "--enable-tcp-fastopen", "c.pem")
        #expect(
            running.changesNeedingRestart(in: successor)
                == [
                    "backlog", "keepalive", "recv-bufsize", "send-bufsize", "tcp-fastopen", "daemon", "pidfile",
                    "log-filename", "syslog", "syslog-facility", "session-cache",
                ])
        #expect(successor.changesNeedingRestart(in: successor).isEmpty)
    }
}
