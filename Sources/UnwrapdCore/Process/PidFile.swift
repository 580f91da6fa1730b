import Glibc

/// `--pidfile`: the parent's PID, written after daemonizing and removed on a clean exit.
struct PidFile {
    let path: String

    func write(pid: pid_t) throws(StartupError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .system(SystemError("--pidfile: open", path)) }
        defer { close(descriptor) }
        var text = "\(pid)\n"
        let written = text.withUTF8 { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == text.utf8.count else { throw .system(SystemError("--pidfile: write", path)) }
    }

    func remove() {
        unlink(path)
    }
}
