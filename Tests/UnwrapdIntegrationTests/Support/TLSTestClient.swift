import COpenSSL
import CUnwrapdShims
import Glibc

/// A blocking OpenSSL TLS client for driving the daemon: one TCP connection, one `SSL`, every read and write
/// bounded by `TLSClientOptions.ioTimeout`. Not thread-safe: one test thread uses it.
///
/// Alerts are recorded by an info callback, so errors say which alert ended a connection. Note that with
/// TLS 1.3 a server's verdict on the client certificate (`certificate_required`, `unknown_ca`) arrives after the
/// client's handshake has succeeded: it shows up as the error of the first `read`.
final class TLSTestClient {
    let endpoint: Endpoint
    let options: TLSClientOptions
    let fd: Int32
    private let context: OpaquePointer
    private let ssl: OpaquePointer
    private let alerts: UnsafeMutablePointer<AlertLog>
    private var isClosed = false
    /// How the peer ended the stream, once a read saw the end.
    private(set) var peerEnd: StreamEnd?
    /// With `finishedWithFirstWrite`: whether the first write was made (and the socket uncorked).
    private var firstWriteMade = false

    /// Connects TCP to `endpoint` and prepares the TLS client; `handshake()` does the rest.
    /// Throws `SystemCallError` when the TCP connection fails, `TLSClientError` for a bad option.
    init(connectingTo endpoint: Endpoint, options: TLSClientOptions = .init()) throws {
        KitProcessSetup.prepare()
        self.endpoint = endpoint
        self.options = options
        context = try TLSTestClient.makeContext(options)
        do {
            fd = try Sockets.connect(
                to: endpoint, timeout: options.connectTimeout, receiveBufferSize: options.receiveBufferSize)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        ssl = SSL_new(context)
        alerts = .allocate(capacity: 1)
        alerts.initialize(to: AlertLog())
        SSL_set_ex_data(ssl, 0, alerts)
        SSL_set_info_callback(ssl, recordAlert)
        if options.finishedWithFirstWrite { SSL_set_msg_callback(ssl, corkAfterChangeCipherSpec) }
        SSL_set_fd(ssl, fd)
        do {
            try Sockets.setTimeouts(fd, receive: options.ioTimeout, send: options.ioTimeout)
            if let name = options.serverName, unwrapd_SSL_set_tlsext_host_name(ssl, name) != 1 {
                throw configurationError("SNI \(name)")
            }
            if let host = options.verifyHostname, SSL_set1_host(ssl, host) != 1 {
                throw configurationError("verify host \(host)")
            }
            if let session = options.session {
                // A copy: OpenSSL marks the session a connection uses not resumable when that connection ends
                // without close_notify, and one `TLSSession` may be offered by many connections.
                guard let copy = SSL_SESSION_dup(session.pointer) else { throw configurationError("session copy") }
                defer { SSL_SESSION_free(copy) }
                if SSL_set_session(ssl, copy) != 1 { throw configurationError("session") }
            }
        } catch {
            close()
            throw error
        }
    }

    /// Connects to `host` ("127.0.0.1" or "::1") and `port`.
    convenience init(host: String = "127.0.0.1", port: UInt16, options: TLSClientOptions = .init()) throws {
        try self.init(connectingTo: .tcp(host: host, port: port), options: options)
    }

    deinit { close() }

    // MARK: - Handshake and I/O

    /// Runs the TLS handshake. Throws `TLSClientError` with OpenSSL's errors and any alert.
    func handshake() throws(TLSClientError) {
        try requireOpen("handshake")
        OpenSSLErrorQueue.clear()
        let result = SSL_connect(ssl)
        if result != 1 { throw failure("handshake", result) }
    }

    /// Writes all of `bytes`.
    func write(_ bytes: [UInt8]) throws(TLSClientError) {
        try requireOpen("write")
        guard !bytes.isEmpty else { return }
        OpenSSLErrorQueue.clear()
        let result = bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
        if result <= 0 { throw failure("write", result) }
        if options.finishedWithFirstWrite && !firstWriteMade {
            firstWriteMade = true
            try? Sockets.setOption(fd, Int32(IPPROTO_TCP), TCP_CORK, 0)
        }
    }

    func write(_ text: String) throws(TLSClientError) {
        try write(Array(text.utf8))
    }

    /// Reads what is available, up to `maxCount` bytes, blocking up to the I/O timeout. Returns an empty array
    /// when the peer ended the stream (`peerEnd` says how: close_notify, EOF without it, or reset).
    func read(upTo maxCount: Int = 16384) throws(TLSClientError) -> [UInt8] {
        try requireOpen("read")
        if peerEnd != nil { return [] }
        var buffer = [UInt8](repeating: 0, count: maxCount)
        OpenSSLErrorQueue.clear()
        let result = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
        if result > 0 { return Array(buffer[0..<Int(result)]) }
        let error = failure("read", result)
        switch error.reason {
        case .connectionClosed where error.receivedAlert == nil:
            peerEnd =
                SSL_get_error(ssl, result) == SSL_ERROR_ZERO_RETURN || alerts.pointee.receivedCloseNotify
                ? .closeNotify : .eof
            return []
        case .connectionReset:
            peerEnd = .reset
            return []
        default:
            throw error
        }
    }

    /// Reads exactly `count` bytes; throws if the stream ends first.
    func read(exactly count: Int) throws(TLSClientError) -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < count {
            let chunk = try read(upTo: min(count - bytes.count, 1 << 16))
            if chunk.isEmpty {
                throw TLSClientError(
                    operation: "read \(count) bytes", reason: .connectionClosed,
                    openSSLErrors: ["stream ended (\(peerEnd!)) after \(bytes.count) bytes"],
                    receivedAlert: receivedAlert, sentAlert: sentAlert, verifyError: nil)
            }
            bytes += chunk
        }
        return bytes
    }

    /// Reads until the peer ends the stream (keeping at most `limit` bytes); returns the bytes and how it ended.
    /// `timeout` bounds the whole read (each single read is bounded by the I/O timeout anyway).
    func readToEnd(limit: Int = 64 << 20, timeout: Duration? = nil) throws -> (bytes: [UInt8], end: StreamEnd) {
        var bytes: [UInt8] = []
        let end = try consumeToEnd(timeout: timeout) { chunk in
            if bytes.count < limit { bytes += chunk.prefix(limit - bytes.count) }
        }
        return (bytes, end)
    }

    /// Sends close_notify once (SSL_shutdown) and keeps the connection open for reading: a TLS half-close.
    func sendCloseNotify() throws(TLSClientError) {
        try requireOpen("shutdown")
        OpenSSLErrorQueue.clear()
        let result = SSL_shutdown(ssl)
        if result < 0 { throw failure("shutdown", result) }
    }

    /// Starts a client-initiated renegotiation (TLS 1.2 and older: `SSL_renegotiate`) and drives its handshake to
    /// the end. A server that refuses renegotiation answers with a `no_renegotiation` alert or closes: this throws,
    /// and `receivedAlert` tells which. Application data arriving meanwhile makes OpenSSL fail the handshake.
    func renegotiate() throws(TLSClientError) {
        try requireOpen("renegotiate")
        OpenSSLErrorQueue.clear()
        let started = SSL_renegotiate(ssl)
        if started != 1 { throw failure("renegotiate", started) }
        let result = SSL_do_handshake(ssl)
        if result != 1 { throw failure("renegotiate", result) }
    }

    /// Closes abruptly: no close_notify, socket closed (idempotent; deinit does it too).
    func close() {
        guard !isClosed else { return }
        isClosed = true
        SSL_free(ssl)
        SSL_CTX_free(context)
        Glibc.close(fd)
        alerts.deallocate()
    }

    /// Reads until the end of the stream, handing each chunk to `consume`; returns how the stream ended.
    func consumeToEnd(timeout: Duration? = nil, _ consume: ([UInt8]) -> Void) throws -> StreamEnd {
        let deadline = timeout.map { Deadline.after($0) }
        var total = 0
        while true {
            if let deadline, deadline.hasPassed {
                throw TimeoutError(
                    waitingFor: "the end of the TLS stream from \(endpoint)", timeout: timeout!,
                    details: "read \(total) bytes")
            }
            let chunk = try read(upTo: 1 << 16)
            if chunk.isEmpty { return peerEnd! }
            total += chunk.count
            consume(chunk)
        }
    }

    // MARK: - Negotiated parameters

    var version: TLSVersion? { TLSVersion(rawValue: SSL_version(ssl)) }
    /// "TLSv1.3" etc.
    var versionName: String { String(cString: SSL_get_version(ssl)) }
    /// OpenSSL's name of the negotiated cipher ("TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256").
    var cipher: String? {
        guard let cipher = SSL_get_current_cipher(ssl) else { return nil }
        return String(cString: SSL_CIPHER_get_name(cipher))
    }
    /// The ALPN protocol the server selected, nil if none.
    var alpnProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }
    var sessionReused: Bool { unwrapd_SSL_session_reused(ssl) == 1 }
    /// Completed renegotiations (and started ones: OpenSSL counts `SSL_renegotiate` calls).
    var renegotiationCount: Int { unwrapd_SSL_num_renegotiations(ssl) }

    /// This end's TCP port: the daemon logs the client as `[127.0.0.1]:PORT`.
    var localPort: UInt16 { (try? Sockets.localPort(of: fd)) ?? 0 }

    /// A copy of the current session (for TLS 1.3 possibly not yet resumable: see `resumableSession`).
    /// A copy, because OpenSSL marks a connection's own session not resumable when the connection is closed
    /// without close_notify, and tests close abruptly.
    var session: TLSSession? {
        guard let current = SSL_get_session(ssl), let copy = SSL_SESSION_dup(current) else { return nil }
        return TLSSession(taking: copy)
    }

    /// A session that can resume. With TLS 1.2 that is the handshake's session; with TLS 1.3 the server's
    /// session ticket arrives after the handshake, so this reads (without consuming application data: it
    /// peeks on a non-blocking socket) until a ticket has been processed or `timeout` passed.
    func resumableSession(timeout: Duration = .seconds(2)) throws -> TLSSession {
        try requireOpen("wait for a session ticket")
        let deadline = Deadline.after(timeout)
        let flags = unwrapd_fcntl_get_flags(fd)
        _ = unwrapd_fcntl_set_flags(fd, flags | O_NONBLOCK)
        defer { _ = unwrapd_fcntl_set_flags(fd, flags) }
        while true {
            if let current = SSL_get_session(ssl), SSL_SESSION_is_resumable(current) == 1, let copy = session {
                return copy
            }
            OpenSSLErrorQueue.clear()
            var byte: UInt8 = 0
            let result = SSL_peek(ssl, &byte, 1)
            let code = SSL_get_error(ssl, result)
            if result > 0 || code == SSL_ERROR_WANT_READ {
                if let current = SSL_get_session(ssl), SSL_SESSION_is_resumable(current) == 1 { continue }
                if result > 0 {
                    throw TimeoutError(
                        waitingFor: "a session ticket", timeout: timeout,
                        details: "application data arrived first and no ticket came with it")
                }
                guard try Sockets.waitFor(fd, events: Int16(POLLIN), deadline: deadline) else {
                    throw TimeoutError(waitingFor: "a session ticket from \(endpoint)", timeout: timeout)
                }
                continue
            }
            throw failure("wait for a session ticket", result)
        }
    }

    // MARK: - Alerts and verification

    /// The last fatal alert received from the peer.
    var receivedAlert: TLSAlert? {
        isClosed || alerts.pointee.received < 0 ? nil : TLSAlert(code: UInt8(alerts.pointee.received))
    }
    /// The last fatal alert this client sent.
    var sentAlert: TLSAlert? { isClosed || alerts.pointee.sent < 0 ? nil : TLSAlert(code: UInt8(alerts.pointee.sent)) }
    /// Whether a close_notify alert arrived.
    var receivedCloseNotify: Bool { !isClosed && alerts.pointee.receivedCloseNotify }

    /// The verification result of the peer's certificate (X509_V_OK is 0), whether or not it was enforced.
    var verifyResult: Int { SSL_get_verify_result(ssl) }
    /// OpenSSL's text for `verifyResult` ("ok", "certificate has expired", ...).
    var verifyResultText: String { String(cString: X509_verify_cert_error_string(verifyResult)) }

    /// The raw `SSL*` for anything the kit does not wrap.
    var opaqueSSL: OpaquePointer { ssl }

    // MARK: - Helpers

    private func requireOpen(_ operation: String) throws(TLSClientError) {
        if isClosed {
            throw TLSClientError(
                operation: operation, reason: .closed, openSSLErrors: [], receivedAlert: nil,
                sentAlert: nil, verifyError: nil)
        }
    }

    /// Builds the error for a failed SSL call; reads errno first, before anything can change it. Internal (not
    /// private) for the client's extensions in other files (`transferDuplex`).
    func failure(_ operation: String, _ result: Int32) -> TLSClientError {
        let savedErrno = errno
        let code = SSL_get_error(ssl, result)
        let unexpectedEOF = OpenSSLErrorQueue.peekReason() == SSL_R_UNEXPECTED_EOF_WHILE_READING
        let errors = OpenSSLErrorQueue.drain()
        let reason: TLSClientError.Reason
        switch code {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            reason = .timedOut
        case SSL_ERROR_ZERO_RETURN:
            reason = .connectionClosed
        case SSL_ERROR_SYSCALL:
            switch savedErrno {
            case 0: reason = .connectionClosed
            case EAGAIN: reason = .timedOut
            case ECONNRESET: reason = .connectionReset
            case EPIPE: reason = .connectionClosed
            default: reason = .system(savedErrno)
            }
        default:
            reason = unexpectedEOF ? .connectionClosed : .tlsFailure
        }
        let verify = SSL_get_verify_result(ssl)
        return TLSClientError(
            operation: operation, reason: reason, openSSLErrors: errors, receivedAlert: receivedAlert,
            sentAlert: sentAlert,
            verifyError: verify == X509_V_OK ? nil : String(cString: X509_verify_cert_error_string(verify)))
    }

    private func configurationError(_ what: String) -> TLSClientError {
        TLSClientError(
            operation: "configure (\(what))", reason: .configuration,
            openSSLErrors: OpenSSLErrorQueue.drain(), receivedAlert: nil, sentAlert: nil, verifyError: nil)
    }

    private static func makeContext(_ options: TLSClientOptions) throws(TLSClientError) -> OpaquePointer {
        OpenSSLErrorQueue.clear()
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw contextError("SSL_CTX_new") }
        do throws(TLSClientError) {
            try configure(context, options)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        return context
    }

    private static func configure(_ context: OpaquePointer, _ options: TLSClientOptions) throws(TLSClientError) {
        let oldProtocols = (options.minVersion ?? .tls12) < .tls12 || (options.maxVersion ?? .tls13) < .tls12
        if let level = options.securityLevel ?? (oldProtocols ? 0 : nil) {
            SSL_CTX_set_security_level(context, level)
        }
        if let version = options.minVersion, unwrapd_SSL_CTX_set_min_proto_version(context, version.rawValue) != 1 {
            throw contextError("min version \(version)")
        }
        if let version = options.maxVersion, unwrapd_SSL_CTX_set_max_proto_version(context, version.rawValue) != 1 {
            throw contextError("max version \(version)")
        }
        if let list = options.cipherList, SSL_CTX_set_cipher_list(context, list) != 1 {
            throw contextError("cipher list \(list)")
        }
        if let suites = options.cipherSuites, SSL_CTX_set_ciphersuites(context, suites) != 1 {
            throw contextError("cipher suites \(suites)")
        }
        if let groups = options.groups, unwrapd_SSL_CTX_set1_groups_list(context, groups) != 1 {
            throw contextError("groups \(groups)")
        }
        if !options.alpn.isEmpty {
            let wire = options.alpn.flatMap { [UInt8(clamping: $0.utf8.count)] + Array($0.utf8) }
            guard SSL_CTX_set_alpn_protos(context, wire, UInt32(wire.count)) == 0 else {
                throw contextError("ALPN \(options.alpn)")
            }
        }
        if let certificate = options.certificateFile {
            let key = options.keyFile ?? certificate
            guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
                throw contextError("client certificate \(certificate)")
            }
            guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1,
                SSL_CTX_check_private_key(context) == 1
            else { throw contextError("client key \(key)") }
        }
        if let authority = options.trustedCAFile {
            guard SSL_CTX_load_verify_locations(context, authority, nil) == 1 else {
                throw contextError("trusted CA \(authority)")
            }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        }
        if !options.sessionTickets { SSL_CTX_set_options(context, UNWRAPD_SSL_OP_NO_TICKET) }
    }

    private static func contextError(_ what: String) -> TLSClientError {
        TLSClientError(
            operation: "configure (\(what))", reason: .configuration,
            openSSLErrors: OpenSSLErrorQueue.drain(), receivedAlert: nil, sentAlert: nil, verifyError: nil)
    }
}

/// OpenSSL message callback for `finishedWithFirstWrite`: once the ChangeCipherSpec before the client's Finished is
/// written, corks the socket, so that the Finished waits for the first write (`TLSTestClient.write` uncorks).
private func corkAfterChangeCipherSpec(
    _ written: Int32, _ version: Int32, _ contentType: Int32, _ bytes: UnsafeRawPointer?, _ length: Int,
    _ ssl: OpaquePointer?, _ argument: UnsafeMutableRawPointer?
) {
    guard written == 1, contentType == SSL3_RT_CHANGE_CIPHER_SPEC, let ssl else { return }
    try? Sockets.setOption(SSL_get_fd(ssl), Int32(IPPROTO_TCP), TCP_CORK, 1)
}

/// Alerts seen on one connection, written by `recordAlert` (OpenSSL's info callback) through the SSL's
/// ex_data slot 0.
struct AlertLog {
    var received: Int32 = -1
    var sent: Int32 = -1
    var receivedCloseNotify = false
}

/// OpenSSL info callback: records alerts (`where` has SSL_CB_ALERT; `value` is level << 8 | description).
private func recordAlert(_ ssl: OpaquePointer?, _ where: Int32, _ value: Int32) {
    let alertFlag: Int32 = 0x4000
    let readFlag: Int32 = 0x04  // SSL_CB_ALERT, SSL_CB_READ
    guard `where` & alertFlag != 0, let ssl, let raw = SSL_get_ex_data(ssl, 0) else { return }
    let log = raw.assumingMemoryBound(to: AlertLog.self)
    let description = value & 0xff
    if `where` & readFlag != 0 {
        if description == 0 { log.pointee.receivedCloseNotify = true } else { log.pointee.received = description }
    } else if description != 0 {
        log.pointee.sent = description
    }
}
