import Glibc

/// `--daemon`: detach from the terminal the classic way — fork (the foreground process exits 0), new session,
/// fork again (never reacquire a terminal), cwd `/`, standard streams to /dev/null.
enum Daemonizer {
    static func detach() throws(StartupError) {
        try forkAndLeaveParent()
        guard setsid() >= 0 else { throw .system(SystemError("setsid")) }
        try forkAndLeaveParent()
        _ = chdir("/")
        let null = open("/dev/null", O_RDWR)
        guard null >= 0 else { throw .system(SystemError("open", "/dev/null")) }
        for descriptor in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] { dup2(null, descriptor) }
        if null > STDERR_FILENO { close(null) }
    }

    private static func forkAndLeaveParent() throws(StartupError) {
        switch fork() {
        case -1: throw .system(SystemError("fork"))
        case 0: return
        default: _exit(0)
        }
    }
}
