import COpenSSL

/// A TLS session (OpenSSL `SSL_SESSION`, reference-counted) kept from one connection to resume in another via
/// `TLSClientOptions.session`. Get one with `TLSTestClient.resumableSession(timeout:)`.
final class TLSSession: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Takes ownership of one reference to `pointer`.
    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    deinit { SSL_SESSION_free(pointer) }

    /// Whether the session can be offered for resumption (for TLS 1.3: a ticket arrived).
    var isResumable: Bool { SSL_SESSION_is_resumable(pointer) == 1 }

    var hasTicket: Bool { SSL_SESSION_has_ticket(pointer) == 1 }

    /// The ticket's length in bytes (0 without one): a stateful ticket is a 32-byte session ID, a stateless one the
    /// whole session, encrypted.
    var ticketLength: Int { ticket.count }

    /// The ticket as the server sent it (empty without one).
    var ticket: [UInt8] {
        var ticket: UnsafePointer<UInt8>?
        var length = 0
        SSL_SESSION_get0_ticket(pointer, &ticket, &length)
        return Array(UnsafeBufferPointer(start: ticket, count: length))
    }

    var version: TLSVersion? { TLSVersion(rawValue: SSL_SESSION_get_protocol_version(pointer)) }
}
