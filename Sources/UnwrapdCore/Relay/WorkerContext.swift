import CUnwrapdShims

/// A frontend as a worker serves it: its TLS contexts and its name for logs.
struct FrontendRuntime {
    let tls: UnsafeMutablePointer<FrontendTLS>
    /// `[host]:port` as configured.
    let name: String
}

/// The backend as workers connect to it: its resolved addresses, tried in order until one accepts.
struct BackendTarget {
    let addresses: UnsafeMutableBufferPointer<SocketAddress>
    /// As configured, for logs.
    let name: String
    /// TCP (set `TCP_NODELAY`) rather than a UNIX socket.
    let isTCP: Bool
}

/// What the backend receives before the client's bytes, and which PROXY v2 TLVs it carries.
struct BackendHeaderOptions {
    let mode: BackendHeader
    /// `proxy-tlv`: the SSL TLV (version, cipher, client certificate and its verification).
    let includeSSL: Bool
    /// `proxy-authority`: the AUTHORITY TLV (the client's SNI name).
    let includeAuthority: Bool
    /// `proxy-client-cert`: the client certificate as PEM in TLV 0xE0.
    let includeClientCertificate: Bool
}

/// A listening socket of this worker's slot and its watcher.
struct ListenerWatcher {
    var watcher = ev_io()
    let worker: UnsafeMutablePointer<WorkerContext>
    let frontend: UnsafeMutablePointer<FrontendRuntime>
    let descriptor: Int32
}

/// Everything a worker's callbacks share, in one allocation each connection points at.
struct WorkerContext {
    let loop: OpaquePointer
    /// The worker's slot number, for logs.
    let slot: Int
    var pool: BufferPool
    /// Counters shared by all workers (the global connection cap among them).
    let shared: UnsafeMutablePointer<unwrapd_shared_counters>
    /// Replaced by `--backend-refresh` when the backend's name resolves differently.
    var backend: BackendTarget
    let header: BackendHeaderOptions
    let handshakeTimeout: Double
    let connectTimeout: Double
    /// `--ticket-wait` in seconds: how long a TLS 1.3 session ticket may wait for a response; 0: not at all.
    let ticketWait: Double
    /// Connections open at once over all workers.
    let globalConnectionLimit: Int
    /// Connections this worker may hold: what its open-files limit allows (two descriptors each).
    let localConnectionLimit: Int
    var openConnections = 0
    /// Head of the list of open connections (to close them all on shutdown).
    var firstConnection: ConnectionPointer? = nil
    /// Connections whose client write waits for the end of this loop iteration, and the watcher that runs then
    /// (just before the loop waits for events again).
    var firstDeferred: ConnectionPointer? = nil
    var flushWatcher = ev_prepare()
    /// Whether a client write may be deferred now: not between the flush and the next wait for events (what is
    /// deferred then would wait for an event that may never come); `deferralGate` opens it again after the wait.
    var deferralsAllowed = true
    var deferralGate = ev_check()
    /// Whether, and how long, a deferred write may wait for the rest of its response, and the timer that ends the
    /// wait (`ResponseHold.swift`).
    var holdPolicy: HoldPolicy
    var holdTimer = HoldTimer()
    var listeners: UnsafeMutableBufferPointer<ListenerWatcher>
    /// Fires to resume accepting after a pause (connection cap reached, out of descriptors).
    var acceptPauseTimer = ev_timer()
    var acceptPaused = false
    /// A reload replaced this worker: it accepts no more and ends once its last connection closed (`retire`).
    var retired = false
    /// When a pause was last logged (`ev_now`), and the pauses since: at the cap, pauses repeat every
    /// `acceptPause`, and one line per `pauseReportInterval` says so.
    var pauseLoggedAt = -Double.infinity
    var pausesSinceLogged = 0
    /// `--backend-refresh`: fires every N seconds to re-resolve the backend host name.
    var backendRefreshTimer = ev_timer()
    /// `--connection-log-limit`: which lines about failed connections are written, and the timer that reports the
    /// ones left out (`FailureLogLimit.swift`).
    var failureLog: FailureLogBudget
    var failureLogTimer = ev_timer()

    init(
        loop: OpaquePointer, slot: Int, shared: UnsafeMutablePointer<unwrapd_shared_counters>,
        backend: BackendTarget, header: BackendHeaderOptions, handshakeTimeout: Double, connectTimeout: Double,
        ticketWait: Double, globalConnectionLimit: Int, localConnectionLimit: Int, coalesceWaitMicroseconds: Int,
        failureLinesPerSecond: Int
    ) {
        self.loop = loop
        self.slot = slot
        self.pool = BufferPool(maxFreeChunks: 4096)
        self.shared = shared
        self.backend = backend
        self.header = header
        self.handshakeTimeout = handshakeTimeout
        self.connectTimeout = connectTimeout
        self.ticketWait = ticketWait
        self.globalConnectionLimit = globalConnectionLimit
        self.localConnectionLimit = localConnectionLimit
        self.holdPolicy = HoldPolicy(limitMicroseconds: coalesceWaitMicroseconds)
        self.failureLog = FailureLogBudget(linesPerSecond: failureLinesPerSecond)
        self.listeners = UnsafeMutableBufferPointer(start: nil, count: 0)
    }
}
