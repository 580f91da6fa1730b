import COpenSSL
import CUnwrapdShims

/// The session-ticket keys (name, HMAC and AES keys: 80 bytes) every context of every worker encrypts tickets with,
/// so that a ticket issued by one worker resumes on any other.
///
/// Created once in the parent before forking; every `SSL_CTX` gets the same keys.
struct TicketKeys {
    static let length = 80
    private let bytes: UnsafeMutableRawBufferPointer

    /// Fresh random keys.
    init() throws(StartupError) {
        bytes = .allocate(byteCount: TicketKeys.length, alignment: 16)
        guard RAND_bytes(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(TicketKeys.length)) == 1 else {
            throw .openSSL(OpenSSLError("generate session ticket keys"))
        }
    }

    /// Installs the keys in `context`.
    func install(in context: OpaquePointer) throws(StartupError) {
        let keys = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard unwrapd_SSL_CTX_set_tlsext_ticket_keys(context, keys, TicketKeys.length) == 1 else {
            throw .openSSL(OpenSSLError("install session ticket keys"))
        }
    }
}
