import COpenSSL
import CUnwrapdShims
import Glibc

/// An OpenSSL server context (`SSL_CTX`) for one certificate as one frontend serves it, with the DNS names that
/// select it by SNI.
///
/// Created in the parent before fork; workers share it copy-on-write, so session tickets and the verification
/// store are the same in every worker.
struct ServerContext {
    let handle: OpaquePointer
    /// The certificate's DNS names (SAN dNSName, else the subject CN), lowercased, as SNI matches them.
    let names: [String]
    let source: CertificateSource
    /// The OCSP response stapled for this certificate (`ocsp-resp-file`), if any.
    let staple: UnsafeMutablePointer<OCSPStaple>?

    /// Frees the OpenSSL context and the staple (on reload, once no session uses them; or when setup fails).
    func release() {
        SSL_CTX_free(handle)
        if let staple { OCSPStaple.release(staple) }
    }
}

/// Builds `ServerContext`s: protocol versions, ciphers, options and modes from the effective TLS settings of a
/// frontend, then the certificate chain and key from a PEM file.
struct ServerContextBuilder {
    let options: TLSOptions
    let alpn: ALPNProtocols?
    /// The keys of stateless session tickets; nil with `session-tickets = off` (OpenSSL's `SSL_OP_NO_TICKET`: TLS 1.2
    /// resumes by session ID, TLS 1.3 tickets name a session in the session cache).
    let ticketKeys: TicketKeys?
    /// `ocsp-verify-staple` outside `pem-file` blocks: verify the stapled responses of certificates that do not say.
    let verifiesStaples: Bool

    /// A context for `certificate`, or a one-line error naming the file and what is wrong with it.
    func makeContext(for certificate: CertificateSource) throws(StartupError) -> ServerContext {
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw .openSSL(OpenSSLError("create TLS context"))
        }
        do {
            try configureProtocols(context)
            try configureCiphers(context)
            try loadCertificate(certificate, into: context)
            let clientVerify = certificate.clientVerify ?? options.clientVerify
            try configureClientVerification(context, mode: clientVerify)
            try SessionIDContext.install(in: context, clientVerify: clientVerify)
            try ticketKeys?.install(in: context)
            SessionCacheCallbacks.install(in: context)
            TicketHold.install(in: context)
            alpn?.install(in: context)
            let names = try CertificateNames.of(context: context, path: certificate.path)
            if let served = SSL_CTX_get0_certificate(context),
                let warning = CertificateValidity(of: served)?.warning(
                    at: time(nil), path: certificate.path, name: names.first ?? "no DNS name")
            {
                Log.error(warning)
            }
            var staple: UnsafeMutablePointer<OCSPStaple>? = nil
            if let path = certificate.ocspResponsePath {
                let verify = certificate.verifiesStaples(global: verifiesStaples)
                staple = try OCSPStaple.load(
                    from: path, for: context, certificatePath: certificate.path, verify: verify)
                OCSPStaple.install(staple!, in: context)
            }
            return ServerContext(handle: context, names: names, source: certificate, staple: staple)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
    }

    private func configureProtocols(_ context: OpaquePointer) throws(StartupError) {
        let enabled = options.protocols.sorted()
        guard let lowest = enabled.first, let highest = enabled.last else {
            throw .invalid("tls-protos: no protocol version is enabled")
        }
        guard unwrapd_SSL_CTX_set_min_proto_version(context, lowest.openSSLVersion) == 1,
            unwrapd_SSL_CTX_set_max_proto_version(context, highest.openSSLVersion) == 1
        else {
            throw .invalid("tls-protos: \(lowest.rawValue) is not supported by this OpenSSL build")
        }
        var optionBits =
            UNWRAPD_SSL_OP_ALL | UNWRAPD_SSL_OP_NO_COMPRESSION | UNWRAPD_SSL_OP_NO_RENEGOTIATION
            | UNWRAPD_SSL_OP_IGNORE_UNEXPECTED_EOF
        for version in TLSVersion.allCases where version > lowest && version < highest && !enabled.contains(version) {
            optionBits |= version.openSSLDisableOption
        }
        if options.preferServerCiphers { optionBits |= UNWRAPD_SSL_OP_CIPHER_SERVER_PREFERENCE }
        if ticketKeys == nil { optionBits |= UNWRAPD_SSL_OP_NO_TICKET }
        SSL_CTX_set_options(context, optionBits)
        // NO_AUTO_CHAIN: the chain sent is exactly the PEM file's. Otherwise OpenSSL would build one from the
        // context's trust store on every handshake (an X509_verify_cert per connection for a PEM without a chain),
        // and with client-verify-ca loaded that store holds the client CAs, which are not ours to send.
        _ = unwrapd_SSL_CTX_set_mode(
            context,
            UNWRAPD_SSL_MODE_ENABLE_PARTIAL_WRITE | UNWRAPD_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                | UNWRAPD_SSL_MODE_RELEASE_BUFFERS | UNWRAPD_SSL_MODE_NO_AUTO_CHAIN)
        // Read-ahead: one read(2) takes whatever the socket holds (a record's header and body, or several records)
        // instead of a read for each header and each body. The buffer is still released when it is empty.
        unwrapd_SSL_CTX_set_read_ahead(context, 1)
        // One TLS 1.3 session ticket per handshake, not OpenSSL's two: every connection, resumed ones included,
        // brings its client a fresh ticket, and the second cost a record, a write(2) and ~170 000 instructions
        // (callgrind: 2.70 M → 2.52 M per full ECDSA handshake).
        _ = SSL_CTX_set_num_tickets(context, 1)
    }

    private func configureCiphers(_ context: OpaquePointer) throws(StartupError) {
        if !options.ciphers.isEmpty, SSL_CTX_set_cipher_list(context, options.ciphers) != 1 {
            throw .invalid("ciphers: no usable cipher in '\(options.ciphers)'")
        }
        if let suites = options.cipherSuites, SSL_CTX_set_ciphersuites(context, suites) != 1 {
            throw .invalid("ciphersuites: no usable TLS 1.3 cipher suite in '\(suites)'")
        }
        if let curves = options.ecdhCurve, curves != "auto", unwrapd_SSL_CTX_set1_groups_list(context, curves) != 1 {
            throw .invalid("ecdh-curve: unknown group in '\(curves)'")
        }
        _ = unwrapd_SSL_CTX_set_dh_auto(context, 1)
        ERR_clear_error()
    }

    private func loadCertificate(_ certificate: CertificateSource, into context: OpaquePointer) throws(StartupError) {
        let path = certificate.path
        for file in [path, certificate.privateKeyPath].compactMap({ $0 }) where access(file, R_OK) != 0 {
            throw .system(SystemError("pem-file: cannot read", file))
        }
        guard SSL_CTX_use_certificate_chain_file(context, path) == 1 else {
            throw .openSSL(OpenSSLError("pem-file: cannot load the certificate chain from", path))
        }
        let keyPath = certificate.privateKeyPath ?? path
        guard SSL_CTX_use_PrivateKey_file(context, keyPath, SSL_FILETYPE_PEM) == 1 else {
            throw .openSSL(OpenSSLError("pem-file: cannot load the private key from", keyPath))
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            ERR_clear_error()
            throw .invalid("pem-file \(path): the private key does not match the certificate")
        }
    }

    private func configureClientVerification(_ context: OpaquePointer, mode: ClientVerify) throws(StartupError) {
        guard mode != .none else { return }
        guard let authorities = options.clientVerifyCA else {
            throw .invalid("client-verify = \(mode.rawValue) needs client-verify-ca")
        }
        guard SSL_CTX_load_verify_locations(context, authorities, nil) == 1 else {
            throw .openSSL(OpenSSLError("client-verify-ca: cannot load CA certificates from", authorities))
        }
        guard let names = SSL_load_client_CA_file(authorities) else {
            throw .openSSL(OpenSSLError("client-verify-ca: no CA certificate in", authorities))
        }
        SSL_CTX_set_client_CA_list(context, names)
        let failWithout = mode == .required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER | failWithout, nil)
    }
}

extension TLSVersion {
    /// OpenSSL's version constant.
    var openSSLVersion: Int32 {
        switch self {
        case .sslv3: SSL3_VERSION
        case .tls10: TLS1_VERSION
        case .tls11: TLS1_1_VERSION
        case .tls12: TLS1_2_VERSION
        case .tls13: TLS1_3_VERSION
        }
    }

    /// The `SSL_OP_NO_*` bit that disables this version inside the min–max range.
    var openSSLDisableOption: UInt64 {
        switch self {
        case .sslv3: UNWRAPD_SSL_OP_NO_SSLv3
        case .tls10: UNWRAPD_SSL_OP_NO_TLSv1
        case .tls11: UNWRAPD_SSL_OP_NO_TLSv1_1
        case .tls12: UNWRAPD_SSL_OP_NO_TLSv1_2
        case .tls13: UNWRAPD_SSL_OP_NO_TLSv1_3
        }
    }
}
