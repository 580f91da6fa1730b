import COpenSSL
import CUnwrapdShims

/// A one-line description of an established TLS session, for debug logs:
/// `TLSv1.3 TLS_AES_128_GCM_SHA256, SNI www.example.com, ALPN h2, resumed`.
enum TLSSessionSummary {
    static func describe(_ ssl: OpaquePointer) -> String {
        var parts = [String(cString: SSL_get_version(ssl))]
        if let cipher = SSL_get_current_cipher(ssl) { parts.append(String(cString: SSL_CIPHER_get_name(cipher))) }
        if let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) {
            parts.append("SNI \(String(cString: name))")
        }
        var protocolName: UnsafePointer<UInt8>? = nil
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &protocolName, &length)
        if let protocolName, length > 0 {
            parts.append(
                "ALPN " + String(decoding: UnsafeBufferPointer(start: protocolName, count: Int(length)), as: UTF8.self))
        }
        if SSL_get0_peer_certificate(ssl) != nil { parts.append("client certificate verified") }
        if unwrapd_SSL_session_reused(ssl) != 0 { parts.append("resumed") }
        return "handshake complete: " + parts.joined(separator: ", ")
    }
}
