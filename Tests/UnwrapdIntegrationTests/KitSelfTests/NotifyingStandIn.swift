/// A stand-in daemon for testing `DaemonProcess` before unwrapd exists: a Python script that speaks systemd's
/// notify protocol. Modes: `ready` (forks 2 workers, notifies READY=1, exits 0 on SIGTERM after stopping its
/// workers, answers SIGHUP with RELOADING=1 then READY=1), `fail` (complains on stderr, exits 3 before ready),
/// `stubborn` (ready, ignores SIGTERM), `orphaning` (ready; on SIGTERM exits without stopping its workers),
/// `silent` (never notifies).
enum NotifyingStandIn {
    static let python = "/usr/bin/python3"

    /// Writes the script into `directory`; returns the arguments that start it in `mode`.
    static func arguments(_ mode: String, in directory: TestDirectory) throws -> [String] {
        [try directory.write(script, to: "stand-in.py"), mode]
    }

    static let script = #"""
        import os, signal, socket, sys, time

        mode = sys.argv[1]
        def notify(text):
            path = os.environ.get("NOTIFY_SOCKET")
            if path:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                s.sendto(text.encode(), path)
                s.close()

        print("stand-in starting in mode " + mode, flush=True)
        if mode == "fail":
            print("stand-in: bad configuration: no frontend", file=sys.stderr, flush=True)
            sys.exit(3)
        if mode == "silent":
            time.sleep(60)
            sys.exit(0)

        workers = []
        for _ in range(2):
            pid = os.fork()
            if pid == 0:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                for _ in range(600):
                    time.sleep(0.1)
                os._exit(0)
            workers.append(pid)

        def on_term(signum, frame):
            if mode == "orphaning":
                os._exit(0)
            notify("STOPPING=1")
            for pid in workers:
                os.kill(pid, signal.SIGTERM)
            for pid in workers:
                os.waitpid(pid, 0)
            print("stand-in stopped", file=sys.stderr, flush=True)
            sys.exit(0)

        def on_hup(signum, frame):
            notify("RELOADING=1")
            notify("READY=1\nSTATUS=reloaded")

        signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "stubborn" else on_term)
        signal.signal(signal.SIGHUP, on_hup)
        notify("READY=1\nMAINPID=%d\nSTATUS=listening on 2 workers" % os.getpid())
        print("stand-in ready", file=sys.stderr, flush=True)
        for _ in range(600):
            time.sleep(0.1)
        """#
}
