import CUnwrapdShims
import Glibc

/// The parent's line to one worker: a UNIX `SOCK_SEQPACKET` socket pair created for each fork.
///
/// The worker reports `ready` once it serves (privileges dropped, listeners watched), so the parent tells systemd
/// READY=1 only when that is true. The parent hands over a reopened log file with `logFile` — the descriptor rides
/// along (SCM_RIGHTS) — because a worker that dropped its privileges, or lives in a chroot, cannot open it itself.
/// After a reload, the parent sends the workers of the configuration it replaced `retire`, and each answers `retired`
/// once it accepts no more. When the parent goes away, the worker reads end-of-file.
enum ControlChannel {
    enum Message: UInt8 {
        /// Worker → parent: serving.
        case ready = 0x52
        /// Parent → worker: log to the attached descriptor from now on.
        case logFile = 0x4C
        /// Parent → worker: a reload replaced you; accept no more, finish the open connections, exit.
        case retire = 0x44
        /// Worker → parent: retired; its copies of the listening sockets are closed.
        case retired = 0x72
    }

    /// What `receive` got.
    enum Received: Equatable {
        case message(Message, descriptor: Int32)
        /// The other end is closed (the peer exited).
        case closed
        /// Nothing to read now, or an unknown message.
        case nothing
    }

    /// A connected pair: `[parent end, worker end]`.
    static func makePair() throws(StartupError) -> (parent: Int32, worker: Int32) {
        var ends: [Int32] = [-1, -1]
        let kind = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, kind, 0, &ends) == 0 else { throw .system(SystemError("socketpair")) }
        return (ends[0], ends[1])
    }

    @discardableResult
    static func send(_ message: Message, on socket: Int32, descriptor: Int32 = -1) -> Bool {
        var byte = message.rawValue
        return unwrapd_send_with_descriptor(socket, &byte, 1, descriptor) == 1
    }

    static func receive(on socket: Int32) -> Received {
        var byte: UInt8 = 0
        var descriptor: Int32 = -1
        let count = unwrapd_receive_with_descriptor(socket, &byte, 1, &descriptor)
        if count == 0 { return .closed }
        guard count == 1, let message = Message(rawValue: byte) else {
            if descriptor >= 0 { close(descriptor) }
            return .nothing
        }
        return .message(message, descriptor: descriptor)
    }
}
