import Glibc

/// The signals the daemon handles, as a `sigset_t`, and small helpers around them.
enum Signals {
    /// Handled by the parent through `sigtimedwait` (kept blocked there) and by workers through libev.
    static let handled: [Int32] = [SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1]

    static func set(of signals: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        return set
    }

    /// Blocks the handled signals (parent: before forking, so no signal is lost between fork and the wait loop).
    static func blockHandled() {
        var set = set(of: handled)
        sigprocmask(SIG_BLOCK, &set, nil)
    }

    /// Unblocks everything (workers, once their libev signal watchers are installed).
    static func unblockAll() {
        var empty = sigset_t()
        sigemptyset(&empty)
        sigprocmask(SIG_SETMASK, &empty, nil)
    }

    /// `SIGKILL`, `SIGTERM`... for logs.
    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGHUP: "SIGHUP"
        case SIGINT: "SIGINT"
        case SIGQUIT: "SIGQUIT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        case SIGKILL: "SIGKILL"
        case SIGUSR1: "SIGUSR1"
        case SIGSEGV: "SIGSEGV"
        case SIGUSR2: "SIGUSR2"
        case SIGPIPE: "SIGPIPE"
        case SIGALRM: "SIGALRM"
        case SIGTERM: "SIGTERM"
        case SIGCHLD: "SIGCHLD"
        default: "signal \(signal)"
        }
    }

    /// How a child ended, from `waitpid`'s status: `exited with status 1`, `was killed by SIGKILL`.
    static func describeExit(_ status: Int32) -> String {
        let signal = status & 0x7F
        if signal == 0 { return "exited with status \((status >> 8) & 0xFF)" }
        let core = status & 0x80 != 0 ? " (core dumped)" : ""
        return "was killed by \(name(signal))\(core)"
    }
}
