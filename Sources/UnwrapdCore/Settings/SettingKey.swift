/// Every setting unwrapd accepts, named as hitch.conf names it. The config-file parser looks keys up here; the
/// command-line options map onto the same keys, so both share one way of parsing and storing each value.
enum SettingKey: String, CaseIterable, Sendable {
    // Endpoints and certificates.
    case frontend, backend
    case pemFile = "pem-file"
    case pemDirectory = "pem-dir"
    case pemDirectoryGlob = "pem-dir-glob"
    // Frontend block only.
    case host, port
    case matchGlobalCertificates = "match-global-certs"
    // pem-file block only.
    case cert
    case privateKey = "private-key"
    case ocspResponseFile = "ocsp-resp-file"
    // TLS.
    case tlsProtocols = "tls-protos"
    case tls, ssl
    case ciphers
    case cipherSuites = "ciphersuites"
    case preferServerCiphers = "prefer-server-ciphers"
    case sniNoMatchAbort = "sni-nomatch-abort"
    case clientVerify = "client-verify"
    case clientVerifyCA = "client-verify-ca"
    case ecdhCurve = "ecdh-curve"
    case alpnProtocols = "alpn-protos"
    // What the backend receives first.
    case writeIP = "write-ip"
    case writeProxy = "write-proxy"
    case writeProxyV1 = "write-proxy-v1"
    case writeProxyV2 = "write-proxy-v2"
    case proxyProxy = "proxy-proxy"
    case proxyTLV = "proxy-tlv"
    case proxyClientCertificate = "proxy-client-cert"
    case proxyAuthority = "proxy-authority"
    // Performance.
    case workers, backlog, keepalive
    case backendRefresh = "backend-refresh"
    case tcpFastOpen = "tcp-fastopen"
    case receiveBufferSize = "recv-bufsize"
    case sendBufferSize = "send-bufsize"
    case handshakeTimeout = "ssl-handshake-timeout"
    case backendConnectTimeout = "backend-connect-timeout"
    case maxConnections = "max-connections"
    case coalesceWait = "coalesce-wait"
    case ticketWait = "ticket-wait"
    // Process.
    case chroot, user, group, daemon
    case pidFile = "pidfile"
    case drainTimeout = "drain-timeout"
    // Logging.
    case logLevel = "log-level"
    case quiet
    case logFile = "log-filename"
    case syslog
    case syslogFacility = "syslog-facility"
    case connectionLogLimit = "connection-log-limit"
    // Sessions.
    case sessionCache = "session-cache"
    case sessionTickets = "session-tickets"
    case ticketKeyRotation = "ticket-key-rotation"
    // Accepted for compatibility, not supported yet (see `Settings.unsupportedFeatures`).
    case ocspDirectory = "ocsp-dir"
    case ocspVerifyStaple = "ocsp-verify-staple"
    case ocspConnectTimeout = "ocsp-connect-tmo"
    case ocspResponseTimeout = "ocsp-resp-tmo"
    case ocspRefreshInterval = "ocsp-refresh-interval"
    case sslEngine = "ssl-engine"
    case sharedCacheListen = "shared-cache-listen"
    case sharedCachePeer = "shared-cache-peer"
    case sharedCacheInterface = "shared-cache-if"
    /// `--client` (stud's client mode); command line only.
    case client

    /// Where in a config file a key may appear.
    enum Scope: Sendable {
        case topLevel, frontendBlock, pemFileBlock

        /// For messages: "at the top level", "inside a frontend block".
        var phrase: String {
            switch self {
            case .topLevel: "at the top level"
            case .frontendBlock: "inside a frontend block"
            case .pemFileBlock: "inside a pem-file block"
            }
        }
    }

    /// The config-file scopes this key is allowed in; empty for command-line-only settings.
    var scopes: [Scope] {
        switch self {
        case .host, .port, .matchGlobalCertificates: [.frontendBlock]
        case .cert, .privateKey, .ocspResponseFile: [.pemFileBlock]
        case .pemFile, .tlsProtocols, .tls, .ssl, .ciphers, .cipherSuites, .preferServerCiphers, .sniNoMatchAbort,
            .clientVerifyCA:
            [.topLevel, .frontendBlock]
        case .clientVerify: [.topLevel, .frontendBlock, .pemFileBlock]
        case .ocspVerifyStaple: [.topLevel, .pemFileBlock]
        case .client: []
        default: [.topLevel]
        }
    }
}
