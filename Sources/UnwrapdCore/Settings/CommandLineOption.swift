/// One command-line option as getopt_long declares it: long names, an optional short letter, whether it takes an
/// argument, and what it does.
struct CommandLineOption: Sendable {
    enum Argument: Sendable {
        /// A flag (`--tls`, `-t`).
        case none
        /// `-b ARG`, `-bARG`, `--backend ARG`, `--backend=ARG`.
        case required
        /// hitch's `--daemon[=on|off]`: the value only in the `=` form, as getopt's optional arguments; "on" when
        /// absent. The short form (`-q`) takes no value.
        case optionalBoolean
    }

    enum Action: Equatable, Sendable {
        /// Sets a setting, through the same parsing as the config file.
        case setting(SettingKey)
        /// `--config=FILE`: read before any other option applies.
        case config
        case test, help, version, defaultConfiguration
    }

    /// Long names; the first is the one help lists, a second one another spelling hitch's sources accept.
    var names: [String]
    var short: Character?
    var argument: Argument
    var action: Action

    init(_ name: String, alias: String? = nil, short: Character? = nil, _ argument: Argument, _ action: Action) {
        self.names = [name] + (alias.map { [$0] } ?? [])
        self.short = short
        self.argument = argument
        self.action = action
    }

    /// Every option: hitch 1.7's `--help`, the stud spellings hitch accepts, hitch 1.8's timeouts, and unwrapd's
    /// `--max-connections`.
    static let all: [CommandLineOption] = [
        CommandLineOption("config", .required, .config),
        CommandLineOption("default-config", .none, .defaultConfiguration),
        CommandLineOption("tls-protos", .required, .setting(.tlsProtocols)),
        CommandLineOption("tls", .none, .setting(.tls)),
        CommandLineOption("ssl", .none, .setting(.ssl)),
        CommandLineOption("ciphers", short: "c", .required, .setting(.ciphers)),
        CommandLineOption("ssl-engine", short: "e", .required, .setting(.sslEngine)),
        CommandLineOption("prefer-server-ciphers", short: "O", .optionalBoolean, .setting(.preferServerCiphers)),
        CommandLineOption("client", .none, .setting(.client)),
        CommandLineOption("backend", short: "b", .required, .setting(.backend)),
        CommandLineOption("frontend", short: "f", .required, .setting(.frontend)),
        CommandLineOption("recv-bufsize", .required, .setting(.receiveBufferSize)),
        CommandLineOption("send-bufsize", .required, .setting(.sendBufferSize)),
        CommandLineOption("workers", short: "n", .required, .setting(.workers)),
        CommandLineOption("backlog", short: "B", .required, .setting(.backlog)),
        CommandLineOption("keepalive", short: "k", .required, .setting(.keepalive)),
        CommandLineOption("backend-refresh", short: "R", .required, .setting(.backendRefresh)),
        CommandLineOption("enable-tcp-fastopen", .optionalBoolean, .setting(.tcpFastOpen)),
        CommandLineOption("backend-connect-timeout", .required, .setting(.backendConnectTimeout)),
        CommandLineOption("ssl-handshake-timeout", .required, .setting(.handshakeTimeout)),
        CommandLineOption("max-connections", .required, .setting(.maxConnections)),
        CommandLineOption("coalesce-wait", .required, .setting(.coalesceWait)),
        CommandLineOption("ticket-wait", .required, .setting(.ticketWait)),
        CommandLineOption("session-cache", alias: "shared-cache", short: "C", .required, .setting(.sessionCache)),
        CommandLineOption("session-tickets", .optionalBoolean, .setting(.sessionTickets)),
        CommandLineOption("ticket-key-rotation", .required, .setting(.ticketKeyRotation)),
        CommandLineOption("shared-cache-listen", short: "U", .required, .setting(.sharedCacheListen)),
        CommandLineOption("shared-cache-peer", short: "P", .required, .setting(.sharedCachePeer)),
        CommandLineOption("shared-cache-if", short: "M", .required, .setting(.sharedCacheInterface)),
        CommandLineOption("chroot", short: "r", .required, .setting(.chroot)),
        CommandLineOption("user", short: "u", .required, .setting(.user)),
        CommandLineOption("group", short: "g", .required, .setting(.group)),
        CommandLineOption("quiet", short: "q", .optionalBoolean, .setting(.quiet)),
        CommandLineOption("log-level", short: "L", .required, .setting(.logLevel)),
        CommandLineOption("log-filename", short: "l", .required, .setting(.logFile)),
        CommandLineOption("connection-log-limit", .required, .setting(.connectionLogLimit)),
        CommandLineOption("syslog", short: "s", .optionalBoolean, .setting(.syslog)),
        CommandLineOption("syslog-facility", .required, .setting(.syslogFacility)),
        CommandLineOption("daemon", .optionalBoolean, .setting(.daemon)),
        CommandLineOption("drain-timeout", .required, .setting(.drainTimeout)),
        CommandLineOption("write-ip", .optionalBoolean, .setting(.writeIP)),
        CommandLineOption("write-proxy-v1", .optionalBoolean, .setting(.writeProxyV1)),
        CommandLineOption("write-proxy-v2", .optionalBoolean, .setting(.writeProxyV2)),
        CommandLineOption("write-proxy", .optionalBoolean, .setting(.writeProxy)),
        CommandLineOption("proxy-proxy", .optionalBoolean, .setting(.proxyProxy)),
        CommandLineOption("sni-nomatch-abort", .optionalBoolean, .setting(.sniNoMatchAbort)),
        CommandLineOption("alpn-protos", .required, .setting(.alpnProtocols)),
        CommandLineOption("ocsp-dir", short: "o", .required, .setting(.ocspDirectory)),
        CommandLineOption("test", short: "t", .none, .test),
        CommandLineOption("pidfile", short: "p", .required, .setting(.pidFile)),
        CommandLineOption("version", short: "V", .none, .version),
        CommandLineOption("help", short: "h", .none, .help),
    ]
}
