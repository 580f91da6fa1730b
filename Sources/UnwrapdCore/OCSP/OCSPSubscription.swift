import COpenSSL
import CUnwrapdShims
import Glibc

/// A certificate whose OCSP response unwrapd fetches while it runs (hitch's automatic stapling): its responder,
/// the context that holds it with its chain, the shared slot the workers staple from, and the file in `ocsp-dir`
/// that keeps the response across restarts.
struct OCSPSubscription {
    /// The PEM file as configured, for log lines and the cache file's name.
    let certificatePath: String
    let url: OCSPResponderURL
    /// One of the certificate's contexts (every frontend serving it has one; they staple from the same slot).
    let context: OpaquePointer
    let slot: UnsafeMutablePointer<unwrapd_ocsp_slot>
    /// `ocsp-verify-staple` for this certificate.
    let verify: Bool
    let cacheFile: String

    /// The start of every log line about it.
    var origin: String { "pem-file \(certificatePath): OCSP responder \(url.text)" }

    /// Puts a checked response into the slot, for the workers' next handshakes.
    func publish(_ response: [UInt8], nextUpdate: Int?, fetchedAt: Int) {
        response.withUnsafeBufferPointer { bytes in
            unwrapd_ocsp_slot_publish(slot, bytes.baseAddress, bytes.count, nextUpdate ?? 0, fetchedAt)
        }
    }

    /// What the slot holds now (the parent's read, on a reload), or nil when it holds none.
    var response: [UInt8]? {
        var length = 0
        guard let copy = unwrapd_ocsp_slot_copy(slot, 0, &length) else { return nil }  // now 0: even if expired
        defer { CRYPTO_free(copy, nil, 0) }
        return Array(UnsafeBufferPointer(start: copy, count: length))
    }

    /// Makes `context` staple what the slot holds, when a client asks.
    static func install(_ slot: UnsafeMutablePointer<unwrapd_ocsp_slot>, in context: OpaquePointer) {
        _ = unwrapd_SSL_CTX_set_tlsext_status_cb(context, onFetchedStatusRequest, slot)
    }
}

/// OpenSSL's status callback for a certificate whose response is fetched: a copy of the slot's response while it is
/// current (OpenSSL frees what it is given), else the handshake goes on without one.
private func onFetchedStatusRequest(_ ssl: OpaquePointer?, _ argument: UnsafeMutableRawPointer?) -> Int32 {
    guard let ssl, let argument else { return SSL_TLSEXT_ERR_NOACK }
    var length = 0
    guard
        let copy = unwrapd_ocsp_slot_copy(
            argument.assumingMemoryBound(to: unwrapd_ocsp_slot.self), time(nil), &length)
    else { return SSL_TLSEXT_ERR_NOACK }
    guard unwrapd_SSL_set_tlsext_status_ocsp_resp(ssl, copy, length) == 1 else {
        CRYPTO_free(copy, nil, 0)
        return SSL_TLSEXT_ERR_NOACK
    }
    return SSL_TLSEXT_ERR_OK
}
