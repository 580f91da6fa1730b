import COpenSSL
import CUnwrapdShims
import Glibc

/// One client, from accept to close: its socket, TLS session, backend socket, the two one-way buffers, and the
/// libev watchers, all in one manual allocation that every watcher's `data` points at.
///
/// The struct holds only plain values and pointers (no class references), so a libev callback reaches it with no
/// reference counting and no allocation. Its life: `readingProxyHeader` (with `--proxy-proxy`) → `handshaking` →
/// `connectingBackend` → `streaming` → closed (freed), or `handshaking` → `lingering` → closed for a refused client.
/// See design §2.
struct Connection {
    /// Where the connection is in its life.
    enum Phase: UInt8 {
        case readingProxyHeader
        case handshaking
        case connectingBackend
        case streaming
        /// The handshake was refused: the alert is sent and our side shut down; what the client still sends is
        /// read and dropped until it closes (or `lingerSeconds` pass), so that closing does not reset the
        /// connection before the client has read the alert.
        case lingering
    }

    /// How long a refused client may keep sending before the connection is closed anyway.
    static let lingerSeconds = 2.0
    /// Rounds of `pump` per event: up to about this many 16 KiB chunks each way before other connections' turn.
    static let pumpRounds = 64

    /// What is known about each side; all false at first.
    struct Flags: OptionSet {
        let rawValue: UInt16
        /// The last read from the client/backend did not report "would block" (set by readiness events).
        static let clientReadable = Flags(rawValue: 1 << 0)
        static let clientWritable = Flags(rawValue: 1 << 1)
        static let backendReadable = Flags(rawValue: 1 << 2)
        static let backendWritable = Flags(rawValue: 1 << 3)
        /// The client sent close_notify or closed: nothing more will come from it.
        static let clientInputDone = Flags(rawValue: 1 << 4)
        /// The backend closed its sending side.
        static let backendInputDone = Flags(rawValue: 1 << 5)
        /// We shut down the write side of the backend socket (after forwarding everything the client sent).
        static let backendOutputShut = Flags(rawValue: 1 << 6)
        /// We sent close_notify to the client (after forwarding everything the backend sent).
        static let clientOutputShut = Flags(rawValue: 1 << 7)
        /// `SSL_read` asked for a writable socket (TLS may write during a read).
        static let tlsReadNeedsWrite = Flags(rawValue: 1 << 8)
        /// `SSL_write` or `SSL_shutdown` asked for a readable socket.
        static let tlsWriteNeedsRead = Flags(rawValue: 1 << 9)
        /// The backend watcher has been initialised (with the current backend socket).
        static let backendWatcherReady = Flags(rawValue: 1 << 10)
        /// What one short backend read brought waits for the end of the loop iteration before it goes to the
        /// client (`WorkerContext.flushDeferredWrites`): a response the backend wrote in two parts (headers, then
        /// the body) then leaves as one TLS record instead of two.
        static let clientWriteDeferred = Flags(rawValue: 1 << 11)
        /// Client writes made now are followed at once by more: they go with `MSG_MORE`, and the kernel holds a
        /// partly filled segment for what follows (`ClientSocketBIO`, `Connection+Corking.swift`).
        static let clientMoreFollows = Flags(rawValue: 1 << 12)
        /// `TCP_CORK` is set on the backend socket, until the end of this `pump`.
        static let backendCorked = Flags(rawValue: 1 << 13)
        /// Bytes written with `MSG_MORE` wait in the client socket for a write without it, or a push: until the end
        /// of this `pump`, or for the session ticket until the first response.
        static let clientOutputHeld = Flags(rawValue: 1 << 14)
        /// A short backend read defers the client write unless one of these holds: the backend may have more at
        /// once (the read filled the room), it has finished, or the write is queued already.
        static let notDeferrable: Flags = [.backendReadable, .backendInputDone, .clientWriteDeferred]

        /// Each side's end of stream was passed on to the other: the connection is complete.
        static let bothDirectionsFinished: Flags = [
            .clientInputDone, .backendOutputShut, .backendInputDone, .clientOutputShut,
        ]
    }

    var clientWatcher = ev_io()
    var backendWatcher = ev_io()
    var timer = ev_timer()
    let worker: UnsafeMutablePointer<WorkerContext>
    let frontend: UnsafeMutablePointer<FrontendRuntime>
    var ssl: OpaquePointer? = nil
    let clientDescriptor: Int32
    var backendDescriptor: Int32 = -1
    /// Which of the backend's resolved addresses is being tried.
    var backendAttempt = 0
    var phase: Phase
    var flags: Flags = []
    /// Client to backend: decrypted bytes not yet sent to the backend (first the PROXY header, if any).
    var toBackend = ByteBuffer()
    /// Backend to client: bytes not yet encrypted and sent to the client.
    var toClient = ByteBuffer()
    let clientAddress: SocketAddress
    /// Neighbours in the worker's list of open connections.
    var previous: UnsafeMutablePointer<Connection>? = nil
    var next: UnsafeMutablePointer<Connection>? = nil
    /// The next connection whose client write is deferred to the end of the loop iteration.
    var nextDeferred: UnsafeMutablePointer<Connection>? = nil
    /// While the deferred client write waits for the rest of a response: until when (`MonotonicClock`), and how many
    /// bytes were queued when it began. 0: not waiting.
    var holdDeadline: Int64 = 0
    var heldBytes = 0

    init(
        worker: UnsafeMutablePointer<WorkerContext>, frontend: UnsafeMutablePointer<FrontendRuntime>,
        clientDescriptor: Int32, clientAddress: SocketAddress, phase: Phase
    ) {
        self.worker = worker
        self.frontend = frontend
        self.clientDescriptor = clientDescriptor
        self.clientAddress = clientAddress
        self.phase = phase
    }
}

/// A connection as the relay handles it: the address of its allocation.
typealias ConnectionPointer = UnsafeMutablePointer<Connection>

/// Whether a step of the relay left the connection open. After `.closed` the connection's memory is gone:
/// callers return at once.
enum StepOutcome {
    case open
    case closed
}

extension UnsafeMutablePointer where Pointee == Connection {
    var loop: OpaquePointer { pointee.worker.pointee.loop }

    /// Starts or stops a watcher so that it waits for exactly `events` (0: not at all). Calls into libev only
    /// when the interest changes.
    @inline(__always)
    func setInterest(_ watcher: UnsafeMutablePointer<ev_io>, _ events: Int32) {
        let active = unwrapd_ev_is_active(watcher) != 0
        if events == 0 {
            if active { ev_io_stop(loop, watcher) }
            return
        }
        if active {
            if watcher.pointee.events & IOEvents.both == events { return }
            ev_io_stop(loop, watcher)
        }
        unwrapd_ev_io_modify(watcher, events)
        ev_io_start(loop, watcher)
    }

    /// (Re)arms the connection's single timer to fire `seconds` from now.
    func armTimer(_ seconds: Double) {
        let timer = timer
        timer.pointee.repeat = seconds
        ev_timer_again(loop, timer)
    }

    func stopTimer() {
        ev_timer_stop(loop, timer)
    }

    /// Returns the chunks of empty buffers to the pool, so that an idle connection holds no buffer memory.
    @inline(__always)
    func releaseEmptyChunks() {
        pointee.worker.pointee.pool.reclaimIfEmpty(&pointee.toBackend)
        pointee.worker.pointee.pool.reclaimIfEmpty(&pointee.toClient)
    }
}
