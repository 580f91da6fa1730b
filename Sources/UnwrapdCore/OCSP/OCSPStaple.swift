import COpenSSL
import CUnwrapdShims
import Glibc

/// A pre-fetched OCSP response (`ocsp-resp-file`) that a certificate's context staples to the handshakes whose
/// client asks for one (the status_request extension), as hitch's "OCSP stapling from manually pre-loaded files".
///
/// Read and checked in the parent with the rest of the configuration, so a renewed file takes effect at the next
/// reload (SIGHUP); workers share it copy-on-write. A response past its nextUpdate is not sent: a client that
/// checks it would refuse the connection, and one that does not loses nothing.
struct OCSPStaple {
    /// The DER-encoded response, as sent.
    let response: UnsafeMutableRawBufferPointer
    /// The response's nextUpdate in seconds since the epoch; nil when it has none (then it never expires here).
    let nextUpdate: Int?
    /// The file it came from, for the line that says it expired.
    let path: String
    /// Whether this process has logged that it expired.
    var expiryLogged = false

    /// Whether the response may still be sent at `now` (seconds since the epoch).
    func isCurrent(at now: Int) -> Bool {
        guard let nextUpdate else { return true }
        return now < nextUpdate
    }

    /// `isCurrent(at:)`, and the first time it is not (at load, or in a worker while serving), one line that says
    /// so: a process forked after it was logged does not log it again.
    mutating func isCurrentOrLogged(at now: Int) -> Bool {
        guard let nextUpdate, !isCurrent(at: now) else { return true }
        if !expiryLogged {
            expiryLogged = true
            Log.error(
                "ocsp-resp-file \(path): the response expired at \(utcText(nextUpdate)) (its nextUpdate) and is no "
                    + "longer stapled; replace the file and reload")
        }
        return false
    }

    /// Makes `context` staple `staple` when a client asks.
    static func install(_ staple: UnsafeMutablePointer<OCSPStaple>, in context: OpaquePointer) {
        _ = unwrapd_SSL_CTX_set_tlsext_status_cb(context, onStatusRequest, staple)
    }

    /// Frees a staple `load` made.
    static func release(_ staple: UnsafeMutablePointer<OCSPStaple>) {
        staple.pointee.response.deallocate()
        staple.deinitialize(count: 1)
        staple.deallocate()
    }
}

/// OpenSSL's status callback, during a handshake whose client sent status_request: staples the context's response
/// while it is current. OpenSSL frees what it is given, so each handshake gets a copy (one allocation, only for a
/// client that asks).
private func onStatusRequest(_ ssl: OpaquePointer?, _ argument: UnsafeMutableRawPointer?) -> Int32 {
    guard let ssl, let argument else { return SSL_TLSEXT_ERR_NOACK }
    let staple = argument.assumingMemoryBound(to: OCSPStaple.self)
    guard staple.pointee.isCurrentOrLogged(at: time(nil)) else { return SSL_TLSEXT_ERR_NOACK }
    let response = staple.pointee.response
    guard let copy = unwrapd_OPENSSL_malloc(response.count) else { return SSL_TLSEXT_ERR_NOACK }
    copy.copyMemory(from: response.baseAddress!, byteCount: response.count)
    guard
        unwrapd_SSL_set_tlsext_status_ocsp_resp(
            ssl, copy.assumingMemoryBound(to: UInt8.self), response.count) == 1
    else {
        CRYPTO_free(copy, nil, 0)
        return SSL_TLSEXT_ERR_NOACK
    }
    return SSL_TLSEXT_ERR_OK
}
