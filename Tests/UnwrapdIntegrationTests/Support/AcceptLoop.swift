import CUnwrapdShims
import Glibc
import Synchronization

/// Accepts connections on `listenFD` until a byte arrives on `wake` (its owner stopping) or accepting fails for
/// good, and hands each to `accepted`. The kit's servers (`TestBackend`, `TestOCSPResponder`) run it on a thread
/// of their own.
func acceptUntilWoken(_ listenFD: Int32, wake: Int32, _ accepted: (Int32) -> Void) {
    while true {
        var descriptors = [
            pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wake, events: Int16(POLLIN), revents: 0),
        ]
        if poll(&descriptors, 2, -1) < 0 {
            if errno == EINTR { continue }
            return
        }
        if descriptors[1].revents != 0 { return }
        let fd = unwrapd_accept4(listenFD, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
        if fd < 0 {
            if [EINTR, EAGAIN, ECONNABORTED, EPROTO].contains(errno) { continue }
            return
        }
        accepted(fd)
    }
}

/// A thread running `acceptUntilWoken` on a listening socket, with the pipe that stops it.
final class AcceptThread: Sendable {
    private let wakePipe: ChildPipe.Ends
    private let thread: JoinableThread
    private let stopped = Mutex(false)

    /// Starts accepting on `listenFD`; each connection goes to `accepted`, on this thread.
    init(name: String, listenFD: Int32, _ accepted: @escaping @Sendable (Int32) -> Void) throws {
        let wakePipe = try ChildPipe.Ends.make()
        self.wakePipe = wakePipe
        do {
            thread = try JoinableThread(name: name) { acceptUntilWoken(listenFD, wake: wakePipe.read, accepted) }
        } catch {
            close(wakePipe.read)
            close(wakePipe.write)
            throw error
        }
    }

    /// Wakes the thread, waits for it to end and closes the pipe; true the first time, false after that.
    @discardableResult
    func stop() -> Bool {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return false }
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
        thread.join()
        close(wakePipe.read)
        close(wakePipe.write)
        return true
    }
}
