import Glibc

/// Process-wide settings the kit needs once: SIGPIPE ignored, so a write to a peer that went away is an EPIPE
/// error the test can report, not a signal that kills the test runner (OpenSSL writes with plain `write(2)`).
/// Children the kit spawns get every signal reset to its default.
enum KitProcessSetup {
    private static let ignoreSIGPIPE: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()

    /// Call before any socket or pipe I/O; cheap after the first call.
    static func prepare() { _ = ignoreSIGPIPE }
}
