import COpenSSL
import CUnwrapdShims

/// A frontend's TLS state as workers use it: one context per certificate it serves, the SNI selector over them,
/// and the default context new sessions start with (the certificate listed last).
///
/// Lives at a stable address (`allocate`) because OpenSSL's ClientHello callback receives a pointer to it.
struct FrontendTLS {
    let contexts: [ServerContext]
    let selector: CertificateSelector
    let defaultContext: OpaquePointer
    let sniNoMatchAbort: Bool

    /// Builds the contexts for `certificates` (the frontend's own after the global ones it matches, so its own
    /// win on a shared name and its last one is the default) and installs the ClientHello and servername
    /// callbacks on each.
    static func allocate(
        certificates: [CertificateSource], builder: ServerContextBuilder, sniNoMatchAbort: Bool
    ) throws(StartupError) -> UnsafeMutablePointer<FrontendTLS> {
        var contexts: [ServerContext] = []
        do {
            for certificate in certificates { contexts.append(try builder.makeContext(for: certificate)) }
        } catch {
            for context in contexts { context.release() }
            throw error
        }
        guard let last = contexts.last else { throw .invalid("no certificate configured for this frontend") }
        let pointer = UnsafeMutablePointer<FrontendTLS>.allocate(capacity: 1)
        pointer.initialize(
            to: FrontendTLS(
                contexts: contexts, selector: CertificateSelector(names: contexts.map(\.names)),
                defaultContext: last.handle, sniNoMatchAbort: sniNoMatchAbort))
        for context in contexts {
            SSL_CTX_set_client_hello_cb(context.handle, onClientHello, pointer)
            _ = unwrapd_SSL_CTX_set_tlsext_servername_callback(context.handle, onServerName, nil)
        }
        return pointer
    }

    /// Frees the contexts and the allocation (on reload, once no session uses them).
    static func release(_ pointer: UnsafeMutablePointer<FrontendTLS>) {
        for context in pointer.pointee.contexts { context.release() }
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }
}

/// The session whose ClientHello named one of the frontend's certificates, between the ClientHello callback and
/// the servername callback of the same `SSL_do_handshake` call (a worker is one thread; nothing runs in between).
nonisolated(unsafe) private var sessionWithKnownName: OpaquePointer?

/// OpenSSL's ClientHello callback, which runs before the session is looked up: switches the session to the
/// certificate the client's SNI names, with that context's client verification and session ID context, so that a
/// session or ticket from elsewhere is checked against the policy of the certificate actually served
/// (`SessionIDContext`). An unknown name keeps the default certificate, or is refused with `unrecognized_name`
/// under `sni-nomatch-abort`.
private func onClientHello(
    _ ssl: OpaquePointer?, _ alert: UnsafeMutablePointer<Int32>?, _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    sessionWithKnownName = nil
    guard let ssl, let argument else { return SSL_CLIENT_HELLO_SUCCESS }
    var bytes: UnsafePointer<UInt8>?
    var length = 0
    guard SSL_client_hello_get0_ext(ssl, UInt32(TLSEXT_TYPE_server_name), &bytes, &length) == 1, let bytes,
        let requested = ServerNameExtension.hostName(in: UnsafeRawBufferPointer(start: bytes, count: length))
    else { return SSL_CLIENT_HELLO_SUCCESS }
    let frontend = argument.assumingMemoryBound(to: FrontendTLS.self)
    guard let index = frontend.pointee.selector.select(requested) else {
        if frontend.pointee.sniNoMatchAbort {
            alert?.pointee = SSL_AD_UNRECOGNIZED_NAME
            return SSL_CLIENT_HELLO_ERROR
        }
        return SSL_CLIENT_HELLO_SUCCESS
    }
    let chosen = frontend.pointee.contexts[index].handle
    if chosen != SSL_get_SSL_CTX(ssl) {
        _ = SSL_set_SSL_CTX(ssl, chosen)
        SSL_set_verify(ssl, SSL_CTX_get_verify_mode(chosen), nil)
    }
    sessionWithKnownName = ssl
    return SSL_CLIENT_HELLO_SUCCESS
}

/// OpenSSL's servername callback, after the ClientHello callback chose the certificate: acknowledges the name when
/// one of the frontend's certificates carries it.
private func onServerName(
    _ ssl: OpaquePointer?, _ alert: UnsafeMutablePointer<Int32>?, _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    defer { sessionWithKnownName = nil }
    return ssl != nil && ssl == sessionWithKnownName ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK
}
