/// `-h/--help` and `-V/--version`: hitch's help, in its layout and wording, with unwrapd's defaults (taken from
/// `Settings()`, so the text cannot drift from them). unwrapd's own options are marked "(unwrapd)"; options accepted
/// for hitch and stud command lines but not implemented yet are marked "(not supported yet)".
public enum Usage {
    /// `unwrapd 0.1.0`
    public static var versionText: String { "unwrapd \(Unwrapd.version)\n" }

    public static var helpText: String {
        let header = """
            Usage: unwrapd [OPTIONS] PEM

            This is unwrapd, The Scalable TLS Unwrapping Daemon, with hitch's command line.
            Options marked (unwrapd) are unwrapd's own; those marked (not supported yet) are
            accepted for hitch and stud command lines and refused when given a non-default value.


            """
        return header + sections(Settings()).map(\.text).joined(separator: "\n")
    }

    /// An option as hitch prints it: the flags after a tab, each line of its text after two.
    private struct Option {
        var flags: String
        var lines: [String]

        init(_ flags: String, _ lines: String...) {
            self.flags = flags
            self.lines = lines
        }

        var text: String { "\t\(flags)\n" + lines.map { "\t\t\($0)\n" }.joined() }
    }

    /// `TITLE:`, a blank line, the options; hitch ends with options under no title.
    private struct Section {
        var title: String?
        var options: [Option]

        var text: String { (title.map { "\($0):\n\n" } ?? "") + options.map(\.text).joined() }
    }

    private static func sections(_ defaults: Settings) -> [Section] {
        let protocols = TLSVersion.allCases.filter(defaults.tls.protocols.contains).map(\.rawValue)
        return [
            Section(
                title: "CONFIGURATION",
                options: [
                    Option("--config=FILE", "Load configuration from specified file."),
                    Option("--default-config", "Print a complete configuration file with the defaults and exit"),
                ]),
            Section(
                title: "ENCRYPTION METHODS",
                options: [
                    Option(
                        "--tls-protos=LIST", "Specifies which SSL/TLS protocols to use.",
                        "Available tokens are SSLv3, TLSv1.0, TLSv1.1",
                        "TLSv1.2 and TLSv1.3. (Default: \"\(protocols.joined(separator: " "))\")"),
                    Option("--tls", "TLSv1.0 to TLSv1.3 (deprecated, use --tls-protos)"),
                    Option("--ssl", "SSLv3 and TLSv1.0 to TLSv1.3 (deprecated, use --tls-protos)"),
                    Option("-c  --ciphers=SUITE", "Sets allowed ciphers (Default: \"\(defaults.tls.ciphers)\")"),
                    Option("-e  --ssl-engine=NAME", "Sets OpenSSL engine (Default: \"\") (not supported yet)"),
                    Option("-O  --prefer-server-ciphers[=on|off]", "Prefer server list order (Default: \"off\")"),
                ]),
            Section(
                title: "SOCKET",
                options: [
                    Option("--client", "Enable client proxy mode (not supported yet)"),
                    Option(
                        "-b  --backend=[HOST]:PORT",
                        "Backend endpoint (default is \"\(defaults.backend.displayName)\")",
                        "The -b argument can also take a UNIX domain socket path", "E.g. --backend=\"/path/to/sock\"",
                        "stud's HOST,PORT is accepted too."),
                    Option(
                        "-f  --frontend=[HOST]:PORT[+CERT]",
                        "Frontend listen endpoint (default is \"\(Frontend.default.displayName)\")",
                        "(Note: brackets are mandatory in endpoint specifiers.)", "stud's HOST,PORT is accepted too."),
                    Option(
                        "--recv-bufsize=SIZE",
                        "Receive buffer size on client socket (Default: \(defaults.receiveBufferSize))"),
                    Option(
                        "--send-bufsize=SIZE", "Send buffer size on client socket (Default: \(defaults.sendBufferSize))"
                    ),
                    Option(
                        "-U  --shared-cache-listen=[HOST]:PORT",
                        "Accept cache updates on UDP (Default: \"\") (not supported yet)"),
                    Option(
                        "-P  --shared-cache-peer=[HOST]:PORT",
                        "Send cache updates to specified peer (not supported yet)"),
                    Option(
                        "-M  --shared-cache-if=IFACE[,TTL]",
                        "Force iface and ttl to receive and send multicast updates (not supported yet)"),
                ]),
            Section(
                title: "PERFORMANCE",
                options: [
                    Option(
                        "-n  --workers=NUM",
                        "Number of worker processes, or 'auto' for one per CPU "
                            + "(Default: \(SettingValue.text(workers: defaults.workers)))"),
                    Option("-B  --backlog=NUM", "Set listen backlog size (Default: \(defaults.backlog))"),
                    Option(
                        "-k  --keepalive=SECS", "TCP keepalive on client socket (Default: \(defaults.keepaliveSeconds))"
                    ),
                    Option(
                        "-R  --backend-refresh=SECS",
                        "Periodic backend IP lookup, 0 to disable (Default: \(defaults.backendRefreshSeconds))"),
                    Option("--enable-tcp-fastopen[=on|off]", "Enable client-side TCP Fast Open. (Default: off)"),
                    Option(
                        "--backend-connect-timeout=SECS",
                        "Backend connect timeout "
                            + "(Default: \(SettingValue.text(seconds: defaults.backendConnectTimeout)))"
                    ),
                    Option(
                        "--ssl-handshake-timeout=SECS",
                        "TLS handshake timeout (Default: \(SettingValue.text(seconds: defaults.handshakeTimeout)))"),
                    Option(
                        "--max-connections=NUM", "Connections open at once over all workers, 0 to derive it",
                        "from the open-files limit (Default: \(defaults.maxConnections)) (unwrapd)"),
                    Option(
                        "--coalesce-wait=USECS", "Microseconds a partial backend response may wait for its rest,",
                        "to reach the client as one TLS record; 0 disables "
                            + "(Default: \(defaults.coalesceWaitMicroseconds)) (unwrapd)"),
                    Option(
                        "--ticket-wait=MSECS", "Milliseconds a TLS 1.3 session ticket may wait for the first",
                        "response, to share its TCP segment; 0 disables "
                            + "(Default: \(defaults.ticketWaitMilliseconds)) (unwrapd)"),
                    Option(
                        "-C  --session-cache=NUM", "Enable and set SSL session cache to specified number",
                        "of sessions, shared by all workers; 0: each worker its own "
                            + "(Default: \(defaults.sessionCacheSize))"),
                    Option(
                        "--session-tickets[=on|off]", "Session tickets; off: TLS 1.2 resumes by session ID and",
                        "TLS 1.3 tickets are single-use keys to the session cache "
                            + "(Default: on) (unwrapd)"),
                    Option(
                        "--ticket-key-rotation=SECS", "A new session-ticket key every SECS; a ticket resumes",
                        "for two more; 0: never (Default: \(defaults.ticketKeyRotationSeconds)) (unwrapd)"),
                ]),
            Section(
                title: "SECURITY",
                options: [
                    Option("-r  --chroot=DIR", "Sets chroot directory (Default: \"\")"),
                    Option("-u  --user=USER", "Set uid/gid after binding the socket (Default: \"\")"),
                    Option("-g  --group=GROUP", "Set gid after binding the socket (Default: \"\")"),
                ]),
            Section(
                title: "LOGGING",
                options: [
                    Option(
                        "-q  --quiet[=on|off]",
                        "Be quiet; log only errors of the daemon itself, not failures of single connections (deprecated, use 'log-level')"
                    ),
                    Option(
                        "-L  --log-level=NUM",
                        "Log level. 0=silence, 1=err, 2=info, 3=debug (unwrapd) (Default: \(defaults.logLevel))"),
                    Option("-l  --log-filename=FILE", "Send log message to a logfile instead of stderr/stdout"),
                    Option("-s  --syslog[=on|off]", "Send log message to syslog in addition to stderr/stdout"),
                    Option(
                        "--syslog-facility=FACILITY", "Syslog facility to use (Default: \"\(defaults.syslogFacility)\")"
                    ),
                    Option(
                        "--connection-log-limit=N", "Log at most N failed connections per second and worker,",
                        "then one line with how many were left out; 0: no limit",
                        "(Default: \(defaults.connectionLogLimit)) (unwrapd)"),
                ]),
            Section(
                title: "OTHER OPTIONS",
                options: [
                    Option("--daemon[=on|off]", "Fork into background and become a daemon (Default: off)"),
                    Option(
                        "--drain-timeout=SECS", "Seconds the workers a reload (SIGHUP) replaced may serve",
                        "their open connections; 0: no limit (Default: \(defaults.drainTimeoutSeconds)) (unwrapd)"),
                    Option(
                        "--write-ip[=on|off]", "Write 1 octet with the IP family followed by the IP",
                        "address in 4 (IPv4) or 16 (IPv6) octets (network order)", "to backend before the actual data",
                        "(Default: off)"),
                    Option(
                        "--write-proxy-v1[=on|off]", "Write HAProxy's PROXY v1 (IPv4 or IPv6) protocol line",
                        "before actual data", "(Default: off)"),
                    Option(
                        "--write-proxy-v2[=on|off]", "Write HAProxy's PROXY v2 binary (IPv4 or IPv6)",
                        "protocol line before actual data", "(Default: off)"),
                    Option(
                        "--write-proxy[=on|off]", "Equivalent to --write-proxy-v2. For PROXY",
                        "version 1 use --write-proxy-v1 explicitly"),
                    Option(
                        "--proxy-proxy[=on|off]", "Proxy HAProxy's PROXY (IPv4 or IPv6) protocol",
                        "before actual data (PROXYv1 and PROXYv2)", "(Default: off)"),
                    Option(
                        "--sni-nomatch-abort[=on|off]", "Abort handshake when client submits an",
                        "unrecognized SNI server name", "(Default: off)"),
                    Option(
                        "--alpn-protos=LIST", "Sets the protocols for ALPN/NPN negotiation,",
                        "provided as a list of comma-separated tokens"),
                    Option(
                        "-o  --ocsp-dir=DIR", "Set OCSP staple cache directory",
                        "This enables automated retrieval and stapling", "of OCSP responses (\"\": off)",
                        "(Default: \"\(defaults.ocsp.directory)\")"),
                ]),
            Section(
                title: nil,
                options: [
                    Option("-t  --test", "Test configuration and exit"),
                    Option("-p  --pidfile=FILE", "PID file"),
                    Option("-V  --version", "Print program version and exit"),
                    Option("-h  --help", "This help message"),
                ]),
        ]
    }
}
