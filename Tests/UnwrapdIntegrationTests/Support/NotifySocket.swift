import Glibc

/// One datagram of systemd's notify protocol (`sd_notify`): newline-separated `KEY=VALUE` assignments such as
/// `READY=1`, `MAINPID=1234`, `STATUS=...`, `RELOADING=1`, `STOPPING=1`.
struct NotifyMessage: Sendable, CustomStringConvertible {
    let text: String
    let fields: [String: String]

    init(_ text: String) {
        self.text = text
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        self.fields = fields
    }

    subscript(_ key: String) -> String? { fields[key] }

    var isReady: Bool { fields["READY"] == "1" }

    var description: String { text.split(separator: "\n").joined(separator: " ") }
}

/// The receiving end of systemd's notify protocol: a UNIX datagram socket whose path the daemon gets in
/// `NOTIFY_SOCKET`. World-writable, so a daemon that dropped privileges can still notify.
final class NotifySocket {
    let path: String
    private let fd: Int32

    init(path: String) throws(SystemCallError) {
        let address = try Sockets.address(of: .unix(path: path))
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError("socket(AF_UNIX, SOCK_DGRAM)") }
        unlink(path)
        guard address.withSockaddr({ bind(fd, $0, $1) }) == 0 else {
            let error = SystemCallError("bind(\(path))")
            close(fd)
            throw error
        }
        chmod(path, 0o777)
        self.path = path
        self.fd = fd
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Datagrams that have arrived, without waiting.
    func receiveAvailable() -> [NotifyMessage] {
        var messages: [NotifyMessage] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return messages }
            messages.append(NotifyMessage(String(decoding: buffer[0..<count], as: UTF8.self)))
        }
    }

    /// Waits until a datagram arrives, `other` becomes readable (a child's pidfd: it exited), or the deadline.
    /// Returns whatever datagrams arrived.
    func waitForMessages(until deadline: Deadline, orUntilReadable other: Int32) -> [NotifyMessage] {
        var descriptors = [
            pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: other, events: Int16(POLLIN), revents: 0),
        ]
        while poll(&descriptors, 2, deadline.pollMilliseconds) < 0 && errno == EINTR {}
        return receiveAvailable()
    }
}
