/// `--default-config`: a complete, commented configuration file in hitch.conf syntax. Every key unwrapd accepts
/// appears, set to its default (the values come from `Settings()`); keys without a default value are commented out
/// with an example, as are the features not supported yet. Reading it back yields `Settings()`, and
/// `Config/unwrapd.conf` is this text.
public enum DefaultConfiguration {
    public static var text: String {
        let defaults = Settings()
        let tls = defaults.tls
        let ocsp = defaults.ocsp
        let protocols = TLSVersion.allCases.filter(tls.protocols.contains).map(\.rawValue).joined(separator: " ")
        func onOff(_ value: Bool) -> String { value ? "on" : "off" }
        func seconds(_ value: Double) -> String { SettingValue.text(seconds: value) }
        return """
            # unwrapd configuration file, in hitch.conf syntax (see hitch.conf(5)).
            #
            # Every setting unwrapd accepts, at its default value, as printed by `unwrapd --default-config`.
            # Settings without a default value are commented out, with an example. Options given on the
            # command line override this file (`unwrapd --help` lists them).
            #
            # Values are quoted strings, numbers or booleans (on/off, yes/no, true/false); "#" starts a comment.


            ## Listen endpoints and certificates

            # Listen endpoint "[HOST]:PORT[+CERT]" ("*" is every address; stud's "HOST,PORT" works too).
            # May be given several times. Without any, unwrapd listens on "\(Frontend.default.displayName)".
            # frontend = "\(Frontend.default.displayName)"
            #
            # A frontend block gives one endpoint its own certificates and TLS settings:
            # frontend = {
            #     host = "*"
            #     port = "443"
            #     pem-file = "/etc/unwrapd/example.com.pem"
            #     match-global-certs = on    # also offer the global certificates (default: only if no pem-file here)
            #     tls-protos = TLSv1.2 TLSv1.3
            #     ciphers = "HIGH"
            #     ciphersuites = "TLS_AES_256_GCM_SHA384"
            #     prefer-server-ciphers = on
            #     sni-nomatch-abort = on
            #     client-verify = required
            #     client-verify-ca = "/etc/unwrapd/client-ca.pem"
            # }

            # Where decrypted connections go: "[HOST]:PORT", "HOST,PORT" or a UNIX socket path.
            backend = "\(defaults.backend.displayName)"

            # Certificate: a PEM file with the private key and the certificate chain. May be given several
            # times: the client's server name (SNI) picks one, and the last one serves clients that send none
            # or an unknown one. At least one is needed, here or as an argument on the command line.
            # pem-file = "/etc/unwrapd/example.com.pem"
            #
            # Alternative syntax, with the key in a file of its own:
            # pem-file = {
            #     cert = "/etc/unwrapd/example.com.crt"
            #     private-key = "/etc/unwrapd/example.com.key"
            #     client-verify = required   # overrides client-verify when this certificate is chosen
            #     ocsp-resp-file = "/etc/unwrapd/example.com.ocsp"   # DER OCSP response to staple; reread on reload
            #     ocsp-verify-staple = on   # overrides ocsp-verify-staple for this certificate's response
            # }

            # Check that the stapled responses (ocsp-resp-file, or fetched) are signed by a responder the system's
            # trust store (SSL_CERT_FILE, SSL_CERT_DIR) accepts.
            ocsp-verify-staple = \(onOff(ocsp.verifyStaple))
            # A certificate that names an OCSP responder and has no ocsp-resp-file gets its response from the
            # responder, fetched by a process of its own at start and before each response's next update; it is
            # kept in this directory for the next start. "": no fetching.
            ocsp-dir = "\(ocsp.directory)"
            # Seconds a fetch waits for the responder's connection, then for its answer; the longest time between
            # two fetches of a response.
            ocsp-connect-tmo = \(seconds(ocsp.connectTimeout))
            ocsp-resp-tmo = \(seconds(ocsp.responseTimeout))
            ocsp-refresh-interval = \(seconds(ocsp.refreshInterval))

            # Every file in this directory (matching pem-dir-glob, if set) is a certificate, in lexicographic
            # order, before the pem-file ones.
            # pem-dir = "/etc/unwrapd/cert.d"
            # pem-dir-glob = "*.pem"


            ## TLS (a frontend block may set tls-protos, ciphers, ciphersuites, prefer-server-ciphers,
            ## sni-nomatch-abort, client-verify and client-verify-ca for its endpoint)

            # Protocol versions, unquoted: SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3.
            tls-protos = \(protocols)
            # Deprecated: "tls = on" selects TLSv1.0 to TLSv1.3, "ssl = on" also SSLv3. Use tls-protos.
            # tls = on
            # ssl = on

            # OpenSSL cipher list for TLSv1.2 and older.
            ciphers = "\(tls.ciphers)"

            # TLSv1.3 cipher suites; OpenSSL's default when not set.
            # ciphersuites = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"

            # Prefer the server's cipher order to the client's.
            prefer-server-ciphers = \(onOff(tls.preferServerCiphers))

            # Refuse the handshake when the client asks for a server name no certificate has.
            sni-nomatch-abort = \(onOff(tls.sniNoMatchAbort))

            # Client certificates: none (not asked for), optional (checked when sent) or required.
            client-verify = \(tls.clientVerify.rawValue)
            # The CA certificates client certificates must chain to; needed for optional and required.
            # client-verify-ca = "/etc/unwrapd/client-ca.pem"

            # Supported groups (curves), in OpenSSL's syntax; OpenSSL's default when not set.
            # ecdh-curve = "X25519:prime256v1:secp384r1"

            # TLS 1.2 sessions kept for resumption by session ID, in a cache all workers share (1 KiB each, and a
            # quarter as many of 4 KiB for sessions with a large client certificate); 0 leaves each worker OpenSSL's
            # own, so that a session resumes only on the worker that made it.
            session-cache = \(defaults.sessionCacheSize)

            # (unwrapd) Session tickets. on: the session travels in the ticket, encrypted with a key that changes every
            # ticket-key-rotation seconds, so any number of clients resume (TLS 1.2 and 1.3). off: TLS 1.2 resumes by
            # session ID only, and a TLS 1.3 ticket is the key to a session in the cache above, which resumes once and
            # then is gone: nothing that outlives the session can decrypt it later, at the cost of a cache slot per
            # client. With session-cache = 0 it is the worker's own cache instead: a ticket resumes only there, and
            # more than once.
            session-tickets = \(onOff(defaults.sessionTickets))
            # (unwrapd) Seconds between new session-ticket keys. A ticket resumes while its key is one of the last
            # three, so for two to three rotations; later it gets a full handshake. Someone who steals a key can
            # decrypt only the sessions of those hours. 0: one key for as long as the daemon runs, as hitch.
            ticket-key-rotation = \(defaults.ticketKeyRotationSeconds)

            # Protocols offered for ALPN, in order of preference; none when not set.
            # alpn-protos = "h2,http/1.1"


            ## What the backend receives before the client's bytes: at most one of write-ip,
            ## write-proxy-v1, write-proxy-v2 and proxy-proxy

            # 1 octet address family, then the client's 4 (IPv4) or 16 (IPv6) address octets.
            write-ip = \(onOff(defaults.backendHeader == .clientIP))
            # HAProxy's PROXY protocol, version 1 (a text line).
            write-proxy-v1 = \(onOff(defaults.backendHeader == .proxyV1))
            # HAProxy's PROXY protocol, version 2 (binary).
            write-proxy-v2 = \(onOff(defaults.backendHeader == .proxyV2))
            # Another name for write-proxy-v2.
            # write-proxy = \(onOff(defaults.backendHeader == .proxyV2))
            # Pass on the PROXY header (v1 or v2) the client sent.
            proxy-proxy = \(onOff(defaults.backendHeader == .passThrough))
            # PROXY v2 extensions: TLS details (version, cipher, client certificate verification), the client
            # certificate itself (PEM, type 0xE0), the server name the client asked for (authority).
            proxy-tlv = \(onOff(defaults.proxyTLV))
            proxy-client-cert = \(onOff(defaults.proxyClientCertificate))
            proxy-authority = \(onOff(defaults.proxyAuthority))


            ## Performance

            # Worker processes; "auto" for one per CPU.
            workers = \(SettingValue.text(workers: defaults.workers))
            # listen(2) backlog.
            backlog = \(defaults.backlog)
            # TCP keepalive idle time on client connections, in seconds; 0 disables it.
            keepalive = \(defaults.keepaliveSeconds)
            # Look the backend's host name up again every so many seconds; 0 disables it.
            backend-refresh = \(defaults.backendRefreshSeconds)
            # TCP Fast Open on the listening sockets.
            tcp-fastopen = \(onOff(defaults.tcpFastOpen))
            # SO_RCVBUF and SO_SNDBUF of client connections, in bytes; -1 keeps the kernel's.
            recv-bufsize = \(defaults.receiveBufferSize)
            send-bufsize = \(defaults.sendBufferSize)
            # Seconds a client has to complete its TLS handshake.
            ssl-handshake-timeout = \(seconds(defaults.handshakeTimeout))
            # Seconds the backend has to accept a connection.
            backend-connect-timeout = \(seconds(defaults.backendConnectTimeout))
            # (unwrapd) Connections open at once over all workers; 0 derives it from the open-files limit.
            max-connections = \(defaults.maxConnections)
            # (unwrapd) Microseconds a partial backend response may wait for its rest, so that it reaches the client
            # as one TLS record; 0 sends every backend read at once. Workers stop waiting while waits do not pay.
            coalesce-wait = \(defaults.coalesceWaitMicroseconds)
            # (unwrapd) Milliseconds a TLS 1.3 session ticket may wait, once the backend accepted, for the first
            # response, so that both reach the client in one TCP segment; 0 sends the ticket at once. It waits only
            # when the client's request came with its Finished: a client that has not spoken yet gets it at once.
            ticket-wait = \(defaults.ticketWaitMilliseconds)


            ## Process

            # Detach from the terminal and run in the background.
            daemon = \(onOff(defaults.daemonize))
            # Change root, user and group once the sockets are bound and the certificates loaded.
            # chroot = "/var/lib/unwrapd"
            # user = "unwrapd"
            # group = "unwrapd"
            # Write the process ID to this file.
            # pidfile = "/run/unwrapd.pid"
            # (unwrapd) Seconds the workers a reload (SIGHUP) replaced may go on serving their open connections;
            # then they close what is left. 0: no limit.
            drain-timeout = \(defaults.drainTimeoutSeconds)


            ## Logging

            # 0 silence, 1 errors, 2 info, 3 debug (3 is unwrapd's).
            log-level = \(defaults.logLevel)
            # Do not log failures of single connections (handshakes, backend connects),
            # only errors of the daemon itself; they show again from log-level 2 on.
            # quiet = on
            # Log to this file instead of stderr; reopened on SIGUSR1.
            # log-filename = "/var/log/unwrapd.log"
            # Also log to syslog, with this facility.
            syslog = \(onOff(defaults.syslog))
            syslog-facility = "\(defaults.syslogFacility)"
            # (unwrapd) At most this many lines about failed connections per second and worker (a client retrying
            # a failure in a tight loop); then one line says how many were left out. 0: no limit.
            connection-log-limit = \(defaults.connectionLogLimit)


            ## Not supported yet: accepted for hitch configurations, refused with any value but these defaults

            # ssl-engine = ""
            # shared-cache-listen = "[HOST]:PORT"
            # shared-cache-peer = "[HOST]:PORT"
            # shared-cache-if = "IFACE[,TTL]"

            """
    }
}
