/// Everything the daemon runs with: the config file (hitch.conf grammar) overlaid by the command line (hitch's
/// flags). Defaults equal hitch 1.8's. Parsing produces it; the parent validates and runs it; nothing else writes it.
public struct Settings: Equatable, Sendable {
    /// Listen endpoints. Hitch's default is one frontend on `[*]:8443`; the first frontend given in the file or on
    /// the command line replaces that default.
    public var frontends: [Frontend] = [Frontend.default]
    /// Where decrypted bytes go.
    public var backend: BackendAddress = .inet(host: "127.0.0.1", port: "8000")
    /// Global certificates (`pem-file`, the positional PEM arguments), in order: the last one is the default for
    /// clients that send no SNI or an unknown name.
    public var certificates: [CertificateSource] = []
    /// `pem-dir`: every file in it (matching `pem-dir-glob`) is a global certificate, in lexicographic order,
    /// before the `pem-file` ones.
    public var pemDirectory: String? = nil
    public var pemDirectoryGlob: String? = nil
    /// TLS settings shared by all frontends; a frontend block may override each of them.
    public var tls = TLSOptions()
    /// `alpn-protos`: protocols offered to ALPN, in preference order. Empty: no ALPN.
    public var alpnProtocols: [String] = []
    /// What the backend receives before the client's bytes.
    public var backendHeader: BackendHeader = .none
    /// `proxy-tlv`: PROXY v2 carries the SSL TLV (version, cipher, client certificate and its verification).
    public var proxyTLV = true
    /// `proxy-client-cert`: PROXY v2 carries the client certificate (PEM) in TLV 0xE0.
    public var proxyClientCertificate = false
    /// `proxy-authority` (hitch 1.7): PROXY v2 carries the authority TLV (the SNI name the client asked for).
    public var proxyAuthority = true

    /// `-n/--workers`: worker processes; `auto` is one per CPU.
    public var workers: WorkerCount = .fixed(1)
    /// `-B/--backlog`: listen(2) backlog.
    public var backlog = 100
    /// `-k/--keepalive`: TCP keepalive idle time on client sockets, seconds; 0 disables keepalive.
    public var keepaliveSeconds = 3600
    /// `-R/--backend-refresh`: re-resolve the backend host name every N seconds; 0 disables.
    public var backendRefreshSeconds = 0
    /// `--enable-tcp-fastopen` / `tcp-fastopen`.
    public var tcpFastOpen = false
    /// `--recv-bufsize` / `--send-bufsize`: SO_RCVBUF/SO_SNDBUF on client sockets; -1 keeps the kernel's.
    public var receiveBufferSize = -1
    public var sendBufferSize = -1
    /// `--ssl-handshake-timeout`: seconds a client has to complete its handshake (and a PROXY header, if any).
    public var handshakeTimeout: Double = 30
    /// `--backend-connect-timeout`: seconds the backend has to accept a connection.
    public var backendConnectTimeout: Double = 30
    /// `--max-connections` (unwrapd's own; hitch has none): connections open at once over all workers; 0 derives
    /// it from the open-files limit (two descriptors per connection).
    public var maxConnections = 0
    /// `--coalesce-wait` (unwrapd's own): microseconds a short read from the backend may wait for the rest of a
    /// response written in parts, so that it reaches the client as one TLS record; 0 sends every read at once.
    public var coalesceWaitMicroseconds = 30
    /// The longest `--coalesce-wait` accepted: 0.1 s.
    static let coalesceWaitLimit = 100_000
    /// `--ticket-wait` (unwrapd's own): milliseconds a TLS 1.3 session ticket may wait, once the backend accepted,
    /// for the first response to share its TCP segment, when the request came with the client's Finished; 0 sends
    /// it at once (`Connection+Corking.swift`).
    public var ticketWaitMilliseconds = 20
    /// The longest `--ticket-wait` accepted: 1 s.
    static let ticketWaitLimit = 1000
    /// `-C/--session-cache` (hitch's `session-cache`): TLS 1.2 sessions kept for session-ID resumption in a cache
    /// all workers share (`SharedSessionCache`: 1 KiB each, and a quarter as many of 4 KiB for large ones); 0 leaves
    /// each worker OpenSSL's own cache.
    public var sessionCacheSize = 20_480
    /// The largest `--session-cache` accepted: two GiB of shared memory.
    static let sessionCacheLimit = 1 << 20
    /// `--session-tickets` (unwrapd's own): stateless session tickets (TLS 1.2 and 1.3) when on; when off, TLS 1.2
    /// resumes by session ID and TLS 1.3 tickets are single-use keys to sessions in the session cache.
    public var sessionTickets = true
    /// `--ticket-key-rotation` (unwrapd's own): seconds between new session-ticket keys; a ticket resumes with its
    /// key for two more rotations (`TicketKeys`). 0: one key for the daemon's life, as hitch.
    public var ticketKeyRotationSeconds = 3600

    /// `-r/--chroot`, `-u/--user`, `-g/--group`: applied to workers after binding and loading keys.
    public var chroot: String? = nil
    public var user: String? = nil
    public var group: String? = nil
    /// `--daemon`: detach from the terminal (fork, setsid, stdio to /dev/null).
    public var daemonize = false
    /// `-p/--pidfile`.
    public var pidFile: String? = nil
    /// `--drain-timeout` (unwrapd's own): seconds the workers of the configuration a reload (SIGHUP) replaced may
    /// go on serving their open connections; then they close what is left. 0: no limit, as hitch.
    public var drainTimeoutSeconds = 600

    /// `-L/--log-level`: 0 silent, 1 errors, 2 info, 3 debug (unwrapd's addition).
    public var logLevel = 1
    /// `-q/--quiet`: as hitch's, failures of single connections (handshakes, backend connects) are not logged;
    /// errors of the daemon itself still are. They show again from `-L 2` on.
    public var quiet = false
    /// `-l/--log-filename`: log to this file instead of stderr (reopened on SIGUSR1).
    public var logFile: String? = nil
    /// `-s/--syslog`: also log to syslog, with `--syslog-facility`.
    public var syslog = false
    public var syslogFacility = "daemon"
    /// `--connection-log-limit` (unwrapd's own): at most this many lines about failed connections per second and
    /// worker; the rest are counted, and one line says how many were left out. 0: no limit, as hitch.
    public var connectionLogLimit = 100

    /// OCSP: `ocsp-verify-staple` applies; the automatic fetching is accepted and refused (`unsupportedFeatures`).
    public var ocsp = OCSPOptions()
    /// Accepted for hitch compatibility, answered with "not supported yet" when set (see `unsupportedFeatures`).
    public var sslEngine: String? = nil
    public var sharedCacheListen: String? = nil
    public var sharedCachePeers: [String] = []
    public var sharedCacheInterface: String? = nil
    public var clientMode = false

    public init() {}
}

/// One listen endpoint and the TLS settings it overrides.
public struct Frontend: Equatable, Sendable {
    /// `nil` host: every address (`*`).
    public var host: String?
    /// A number or a service name, as getaddrinfo(3) takes it. "0" lets the kernel pick (tests).
    public var port: String
    /// Certificates for this frontend only (frontend block `pem-file`, or `+CERT` on the endpoint).
    public var certificates: [CertificateSource] = []
    /// `match-global-certs`: also offer the global certificates. `nil`: only when the frontend has none of its own.
    public var matchGlobalCertificates: Bool? = nil
    /// Overrides of the global TLS settings, field by field.
    public var tls = TLSOverrides()

    public init(host: String?, port: String) {
        self.host = host
        self.port = port
    }

    /// Hitch's default frontend, `[*]:8443`.
    public static let `default` = Frontend(host: nil, port: "8443")

    /// `[host]:port` as the operator wrote it, for logs and errors.
    public var displayName: String { "[\(host ?? "*")]:\(port)" }
}

/// A certificate as configured: a PEM file holding the key and the certificate chain, or a `pem-file = { }` block.
public struct CertificateSource: Equatable, Sendable {
    public var path: String
    /// `private-key`: the key lives in its own file.
    public var privateKeyPath: String? = nil
    /// `ocsp-resp-file`: a pre-fetched OCSP response to staple (DER).
    public var ocspResponsePath: String? = nil
    /// `client-verify` inside a `pem-file` block (hitch 1.8): applies when this certificate is chosen.
    public var clientVerify: ClientVerify? = nil
    /// `ocsp-verify-staple` inside a `pem-file` block: overrides the global setting for this certificate.
    public var ocspVerifyStaple: Bool? = nil

    public init(path: String) { self.path = path }

    /// Whether this certificate's stapled responses must verify: its own `ocsp-verify-staple`, else `global`.
    func verifiesStaples(global: Bool) -> Bool { ocspVerifyStaple ?? global }
}

/// Where the daemon connects for each client.
public enum BackendAddress: Equatable, Sendable {
    /// A host name or address literal (brackets removed) and a port (number or service name).
    case inet(host: String, port: String)
    /// A UNIX domain socket path.
    case unix(path: String)

    /// As the operator would write it: `[host]:port` or the path.
    public var displayName: String {
        switch self {
        case .inet(let host, let port): "[\(host)]:\(port)"
        case .unix(let path): path
        }
    }
}

/// What the backend receives first, before the client's bytes (design §3). Hitch makes these mutually exclusive.
public enum BackendHeader: Equatable, Sendable {
    case none
    /// `--write-ip`: one octet address family, then the 4 or 16 address octets (stud).
    case clientIP
    /// `--write-proxy-v1`: the PROXY v1 text line.
    case proxyV1
    /// `--write-proxy-v2`, `--write-proxy`: the PROXY v2 binary header, with TLVs.
    case proxyV2
    /// `--proxy-proxy`: pass on the PROXY header (v1 or v2) the client sent before its TLS ClientHello.
    case passThrough
}

/// `-n/--workers`.
public enum WorkerCount: Equatable, Sendable {
    case fixed(Int)
    /// `auto`: one worker per online CPU.
    case perCPU
}

/// `client-verify`.
public enum ClientVerify: String, Equatable, Sendable {
    /// No certificate request is sent.
    case none
    /// A certificate is requested; a client without one is let in, one with an invalid one is refused.
    case optional
    /// A valid certificate is required. Hitch spells it `required`; `require` is accepted too.
    case required
}

/// Protocol versions (`tls-protos`, and the deprecated `ssl`/`tls` switches).
public enum TLSVersion: String, CaseIterable, Comparable, Sendable {
    case sslv3 = "SSLv3"
    case tls10 = "TLSv1.0"
    case tls11 = "TLSv1.1"
    case tls12 = "TLSv1.2"
    case tls13 = "TLSv1.3"

    public static func < (lhs: TLSVersion, rhs: TLSVersion) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// TLS settings with their global values (hitch's defaults).
public struct TLSOptions: Equatable, Sendable {
    public var protocols: Set<TLSVersion> = [.tls12, .tls13]
    /// `-c/--ciphers`: the OpenSSL cipher list for TLS 1.2 and older.
    public var ciphers = "EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH"
    /// `ciphersuites`: the TLS 1.3 suites; `nil` keeps OpenSSL's default.
    public var cipherSuites: String? = nil
    /// `-O/--prefer-server-ciphers`.
    public var preferServerCiphers = false
    /// `--sni-nomatch-abort`: refuse a client whose SNI names no configured certificate.
    public var sniNoMatchAbort = false
    public var clientVerify: ClientVerify = .none
    /// `client-verify-ca`: PEM file with the CAs client certificates must chain to.
    public var clientVerifyCA: String? = nil
    /// `ecdh-curve`: the supported groups list (OpenSSL syntax, `auto` keeps OpenSSL's).
    public var ecdhCurve: String? = nil

    public init() {}

    /// These options with a frontend's overrides applied.
    public func overridden(by overrides: TLSOverrides) -> TLSOptions {
        var result = self
        if let value = overrides.protocols { result.protocols = value }
        if let value = overrides.ciphers { result.ciphers = value }
        if let value = overrides.cipherSuites { result.cipherSuites = value }
        if let value = overrides.preferServerCiphers { result.preferServerCiphers = value }
        if let value = overrides.sniNoMatchAbort { result.sniNoMatchAbort = value }
        if let value = overrides.clientVerify { result.clientVerify = value }
        if let value = overrides.clientVerifyCA { result.clientVerifyCA = value }
        return result
    }
}

/// The TLS settings a frontend block may set; `nil` inherits the global value.
public struct TLSOverrides: Equatable, Sendable {
    public var protocols: Set<TLSVersion>? = nil
    public var ciphers: String? = nil
    public var cipherSuites: String? = nil
    public var preferServerCiphers: Bool? = nil
    public var sniNoMatchAbort: Bool? = nil
    public var clientVerify: ClientVerify? = nil
    public var clientVerifyCA: String? = nil

    public init() {}
}

/// OCSP stapling settings. Stapled responses come from `ocsp-resp-file`s (`CertificateSource`) or, for a
/// certificate that names an OCSP responder and has no such file, from the responder itself (hitch's automatic
/// fetching, `OCSPFetchPlan`); `verifyStaple` checks their signatures.
public struct OCSPOptions: Equatable, Sendable {
    /// `ocsp-dir`: where fetched responses are kept across restarts; "" turns fetching off.
    public var directory = "/var/lib/unwrapd/"
    /// `ocsp-verify-staple`: a stapled response must verify against the system's trust store.
    public var verifyStaple = false
    /// `ocsp-connect-tmo`, `ocsp-resp-tmo`: how long a fetch waits for the responder's connection, then its answer.
    public var connectTimeout: Double = 4
    public var responseTimeout: Double = 10
    /// `ocsp-refresh-interval`: the longest time between two fetches of a certificate's response.
    public var refreshInterval: Double = 1800

    public init() {}
}
