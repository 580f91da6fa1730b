import Glibc
import Synchronization

/// An OS thread (pthread) running one closure, joined explicitly.
///
/// Backends and other long-running helpers of the kit run on these, never on Swift concurrency's cooperative
/// pool, so a test blocked on a socket can never starve the thread that should answer it.
final class JoinableThread: Sendable {
    private let thread: pthread_t
    private let joined = Mutex(false)

    /// Starts `body` on a new thread; `name` is for error messages.
    init(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemCallError) {
        let context = Unmanaged.passRetained(ThreadBody(body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { context in
                let box = Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue()
                box.body()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            throw SystemCallError("pthread_create(\(name))", errno: result)
        }
        self.thread = thread
    }

    /// Waits for the thread to finish. Only the first call joins; later calls return at once.
    func join() {
        let first = joined.withLock { joined in
            defer { joined = true }
            return !joined
        }
        if first { pthread_join(thread, nil) }
    }
}

/// The closure handed to a new thread.
private final class ThreadBody: Sendable {
    let body: @Sendable () -> Void
    init(body: @escaping @Sendable () -> Void) {
        self.body = body
    }
}
