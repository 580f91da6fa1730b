import COpenSSL
import CUnwrapdShims

/// A frontend's TLS state as workers use it: one context per certificate it serves, the SNI selector over them,
/// and the default context new sessions start with (the certificate listed last).
///
/// Lives at a stable address (`allocate`) because OpenSSL's servername callback receives a pointer to it.
struct FrontendTLS {
    let contexts: [ServerContext]
    let selector: CertificateSelector
    let defaultContext: OpaquePointer
    let sniNoMatchAbort: Bool

    /// Builds the contexts for `certificates` (the frontend's own after the global ones it matches, so its own
    /// win on a shared name and its last one is the default) and installs the servername callback on each.
    static func allocate(
        certificates: [CertificateSource], builder: ServerContextBuilder, sniNoMatchAbort: Bool
    ) throws(StartupError) -> UnsafeMutablePointer<FrontendTLS> {
        var contexts: [ServerContext] = []
        do {
            for certificate in certificates { contexts.append(try builder.makeContext(for: certificate)) }
        } catch {
            for context in contexts { SSL_CTX_free(context.handle) }
            throw error
        }
        guard let last = contexts.last else { throw .invalid("no certificate configured for this frontend") }
        let pointer = UnsafeMutablePointer<FrontendTLS>.allocate(capacity: 1)
        pointer.initialize(
            to: FrontendTLS(
                contexts: contexts, selector: CertificateSelector(names: contexts.map(\.names)),
                defaultContext: last.handle, sniNoMatchAbort: sniNoMatchAbort))
        for context in contexts {
            _ = unwrapd_SSL_CTX_set_tlsext_servername_callback(context.handle, onServerName, pointer)
        }
        return pointer
    }

    /// Frees the contexts and the allocation (on reload, once no session uses them).
    static func release(_ pointer: UnsafeMutablePointer<FrontendTLS>) {
        for context in pointer.pointee.contexts { SSL_CTX_free(context.handle) }
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }
}

/// OpenSSL's servername callback: switches the session to the certificate the client asked for (and to that
/// context's client-verification mode); an unknown name keeps the default certificate, or is refused with
/// `unrecognized_name` under `sni-nomatch-abort`.
private func onServerName(
    _ ssl: OpaquePointer?, _ alert: UnsafeMutablePointer<Int32>?, _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    guard let ssl, let argument, let requested = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else {
        return SSL_TLSEXT_ERR_NOACK
    }
    let frontend = argument.assumingMemoryBound(to: FrontendTLS.self)
    guard let index = frontend.pointee.selector.select(String(cString: requested)) else {
        if frontend.pointee.sniNoMatchAbort {
            alert?.pointee = SSL_AD_UNRECOGNIZED_NAME
            return SSL_TLSEXT_ERR_ALERT_FATAL
        }
        return SSL_TLSEXT_ERR_NOACK
    }
    let chosen = frontend.pointee.contexts[index].handle
    if chosen != SSL_get_SSL_CTX(ssl) {
        _ = SSL_set_SSL_CTX(ssl, chosen)
        SSL_set_verify(ssl, SSL_CTX_get_verify_mode(chosen), nil)
    }
    return SSL_TLSEXT_ERR_OK
}
