/// Settings under construction: the config files first, then the command line on top, each value parsed the same way
/// wherever it was written. It remembers where every value came from, so that the checks of the whole
/// (`SettingsValidation.swift`) can name the flag or `file:line` responsible.
struct SettingsBuilder {
    private(set) var settings = Settings()
    /// Where each setting was given last.
    private(set) var origins: [SettingKey: SettingsError.Location] = [:]
    /// Where each of `settings.frontends` was defined; empty while hitch's default frontend stands.
    private(set) var frontendOrigins: [SettingsError.Location] = []
    /// Where each of `settings.certificates` was given.
    private(set) var certificateOrigins: [SettingsError.Location] = []
    /// The option that turned on the current `backendHeader`, for the mutual-exclusion message.
    private var backendHeaderSource: (key: SettingKey, location: SettingsError.Location)? = nil
    /// The last choice of protocol versions at the top level.
    private var protocolSource: (key: SettingKey, location: SettingsError.Location)? = nil
    private var topLevelProtocolSelection = ProtocolSelection()

    /// Applies `key = text` at the top level (config file) or from an option (command line).
    mutating func set(_ key: SettingKey, to text: String, at location: SettingsError.Location) throws(SettingsError) {
        func parse<Value>(_ value: @autoclosure () throws(ValueError) -> Value) throws(SettingsError) -> Value {
            try SettingsError.parsing(key.rawValue, at: location, try value())
        }
        switch key {
        case .frontend:
            if !text.isEmpty { try addFrontend(try parse(try Endpoint.frontend(text)), at: location) }
        case .backend:
            settings.backend =
                text.isEmpty ? Settings().backend : try parse(try Endpoint.backend(text))
        case .pemFile:
            if !text.isEmpty { addCertificate(CertificateSource(path: text), at: location) }
        case .pemDirectory: settings.pemDirectory = SettingValue.optionalText(text)
        case .pemDirectoryGlob: settings.pemDirectoryGlob = SettingValue.optionalText(text)
        case .tlsProtocols, .tls, .ssl, .ciphers, .cipherSuites, .preferServerCiphers, .sniNoMatchAbort, .clientVerify,
            .clientVerifyCA:
            let setting = try parse(try TLSSetting.parse(key, text)!)
            if setting.selectsProtocols { try selectProtocols(key, at: location) }
            settings.tls.apply(setting)
        case .ecdhCurve: settings.tls.ecdhCurve = SettingValue.optionalText(text)
        case .alpnProtocols: settings.alpnProtocols = try parse(try SettingValue.alpnProtocols(text))
        case .writeIP: try setBackendHeader(.clientIP, key, text, at: location)
        case .writeProxyV1: try setBackendHeader(.proxyV1, key, text, at: location)
        case .writeProxy, .writeProxyV2: try setBackendHeader(.proxyV2, key, text, at: location)
        case .proxyProxy: try setBackendHeader(.passThrough, key, text, at: location)
        case .proxyTLV: settings.proxyTLV = try parse(try SettingValue.boolean(text))
        case .proxyClientCertificate:
            settings.proxyClientCertificate = try parse(try SettingValue.boolean(text))
        case .proxyAuthority: settings.proxyAuthority = try parse(try SettingValue.boolean(text))
        case .workers: settings.workers = try parse(try SettingValue.workers(text))
        case .backlog:
            settings.backlog = try parse(
                try SettingValue.integer(text, in: 1...Int(Int32.max), expected: "a number of at least 1"))
        case .keepalive:
            settings.keepaliveSeconds = try parse(
                try SettingValue.integer(text, in: 0...Int(Int32.max), expected: "a number of seconds, 0 to disable"))
        case .backendRefresh:
            settings.backendRefreshSeconds = try parse(
                try SettingValue.integer(text, in: 0...Int(Int32.max), expected: "a number of seconds, 0 to disable"))
        case .tcpFastOpen: settings.tcpFastOpen = try parse(try SettingValue.boolean(text))
        case .receiveBufferSize: settings.receiveBufferSize = try parse(try Self.bufferSize(text))
        case .sendBufferSize: settings.sendBufferSize = try parse(try Self.bufferSize(text))
        case .handshakeTimeout: settings.handshakeTimeout = try parse(try SettingValue.seconds(text))
        case .backendConnectTimeout:
            settings.backendConnectTimeout = try parse(try SettingValue.seconds(text))
        case .maxConnections:
            settings.maxConnections = try parse(
                try SettingValue.integer(
                    text, in: 0...Int(Int32.max), expected: "a number of connections, 0 for automatic"))
        case .coalesceWait:
            settings.coalesceWaitMicroseconds = try parse(
                try SettingValue.integer(
                    text, in: 0...Settings.coalesceWaitLimit, expected: "microseconds up to 100000, 0 to disable"))
        case .ticketWait:
            settings.ticketWaitMilliseconds = try parse(
                try SettingValue.integer(
                    text, in: 0...Settings.ticketWaitLimit, expected: "milliseconds up to 1000, 0 to disable"))
        case .chroot: settings.chroot = SettingValue.optionalText(text)
        case .user: settings.user = SettingValue.optionalText(text)
        case .group: settings.group = SettingValue.optionalText(text)
        case .daemon: settings.daemonize = try parse(try SettingValue.boolean(text))
        case .pidFile: settings.pidFile = SettingValue.optionalText(text)
        case .drainTimeout:
            settings.drainTimeoutSeconds = try parse(
                try SettingValue.integer(text, in: 0...Int(Int32.max), expected: "a number of seconds, 0 for no limit"))
        case .logLevel: settings.logLevel = try parse(try SettingValue.logLevel(text))
        case .quiet: settings.quiet = try parse(try SettingValue.boolean(text))
        case .logFile: settings.logFile = SettingValue.optionalText(text)
        case .connectionLogLimit:
            settings.connectionLogLimit = try parse(
                try SettingValue.integer(
                    text, in: 0...1_000_000, expected: "lines per second up to 1000000, 0 for no limit"))
        case .syslog: settings.syslog = try parse(try SettingValue.boolean(text))
        case .syslogFacility:
            settings.syslogFacility =
                text.isEmpty ? Settings().syslogFacility : try parse(try SettingValue.syslogFacility(text))
        case .ocspDirectory:
            settings.ocsp.directory = text  // "": no fetching, as in hitch
        case .ocspVerifyStaple:
            settings.ocsp.verifyStaple = try parse(try SettingValue.boolean(text))
        case .ocspConnectTimeout:
            settings.ocsp.connectTimeout = try parse(try SettingValue.seconds(text))
        case .ocspResponseTimeout:
            settings.ocsp.responseTimeout = try parse(try SettingValue.seconds(text))
        case .ocspRefreshInterval:
            settings.ocsp.refreshInterval = try parse(try SettingValue.seconds(text))
        case .sslEngine: settings.sslEngine = SettingValue.optionalText(text)
        case .sessionCache:
            settings.sessionCacheSize = try parse(
                try SettingValue.integer(
                    text, in: 0...Settings.sessionCacheLimit,
                    expected: "a number of sessions up to \(Settings.sessionCacheLimit), 0 for each worker's own"))
        case .sessionTickets: settings.sessionTickets = try parse(try SettingValue.boolean(text))
        case .ticketKeyRotation:
            settings.ticketKeyRotationSeconds = try parse(
                try SettingValue.integer(text, in: 0...Int(Int32.max), expected: "a number of seconds, 0 for never"))
        case .sharedCacheListen: settings.sharedCacheListen = SettingValue.optionalText(text)
        case .sharedCachePeer: if !text.isEmpty { settings.sharedCachePeers.append(text) }
        case .sharedCacheInterface: settings.sharedCacheInterface = SettingValue.optionalText(text)
        case .client: settings.clientMode = try parse(try SettingValue.boolean(text))
        case .host, .port, .matchGlobalCertificates, .cert, .privateKey, .ocspResponseFile:
            preconditionFailure("\(key.rawValue) belongs to a block; the config-file parser handles it there")
        }
        origins[key] = location
    }

    /// Adds a listen endpoint. The first one given anywhere replaces hitch's default `[*]:8443`; the command line adds
    /// to the config file's. Two frontends on the same host and port are an error, as in hitch.
    mutating func addFrontend(_ frontend: Frontend, at location: SettingsError.Location) throws(SettingsError) {
        if frontendOrigins.isEmpty { settings.frontends = [] }
        if let index = settings.frontends.firstIndex(where: { $0.host == frontend.host && $0.port == frontend.port }) {
            throw SettingsError(
                location, setting: SettingKey.frontend.rawValue,
                "\(frontend.displayName) is already defined by \(frontendOrigins[index].naming("frontend")); "
                    + "each frontend needs its own address and port")
        }
        settings.frontends.append(frontend)
        frontendOrigins.append(location)
    }

    /// Adds a global certificate (`pem-file`, a PEM argument); the last one is the default.
    mutating func addCertificate(_ certificate: CertificateSource, at location: SettingsError.Location) {
        settings.certificates.append(certificate)
        certificateOrigins.append(location)
    }

    /// write-ip, write-proxy-v1, write-proxy-v2 (= write-proxy) and proxy-proxy exclude each other, as in hitch:
    /// turning one on while another is on is an error, turning one off clears only itself.
    private mutating func setBackendHeader(
        _ header: BackendHeader, _ key: SettingKey, _ text: String, at location: SettingsError.Location
    ) throws(SettingsError) {
        let isOn = try SettingsError.parsing(key.rawValue, at: location, try SettingValue.boolean(text))
        if !isOn {
            if settings.backendHeader == header {
                settings.backendHeader = .none
                backendHeaderSource = nil
            }
            return
        }
        if settings.backendHeader != .none, settings.backendHeader != header, let other = backendHeaderSource {
            throw SettingsError(
                location, setting: key.rawValue,
                "cannot be combined with \(other.location.naming(other.key.rawValue)): write-ip, write-proxy-v1, "
                    + "write-proxy-v2 and proxy-proxy are mutually exclusive")
        }
        settings.backendHeader = header
        backendHeaderSource = (key, location)
    }

    /// hitch's rules for choosing protocol versions at the top level: in a config file they are chosen once (by
    /// tls-protos, tls or ssl); on the command line the deprecated `--tls` and `--ssl` exclude each other and cannot
    /// override a config file's choice, while `--tls-protos` overrides anything.
    private mutating func selectProtocols(_ key: SettingKey, at location: SettingsError.Location) throws(SettingsError)
    {
        switch location {
        case .configFile:
            try topLevelProtocolSelection.select(key, at: location)
        case .commandLine where key == .tls || key == .ssl:
            if let source = protocolSource, case .configFile = source.location {
                throw SettingsError(
                    location,
                    "cannot override the protocols chosen by \(source.location.naming(source.key.rawValue)); "
                        + "use --tls-protos")
            }
            let opposite: SettingKey = key == .tls ? .ssl : .tls
            if let other = origins[opposite], case .commandLine = other {
                throw SettingsError(location, "--tls and --ssl are mutually exclusive")
            }
        case .commandLine, .settings:
            break
        }
        protocolSource = (key, location)
    }

    /// `recv-bufsize`, `send-bufsize`: bytes, or -1 to keep the kernel's.
    private static func bufferSize(_ text: String) throws(ValueError) -> Int {
        try SettingValue.integer(text, in: -1...Int(Int32.max), expected: "a size in bytes, or -1 for the kernel's")
    }
}
