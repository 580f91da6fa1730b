import COpenSSL

/// The hook that holds a TLS 1.3 session ticket back in the client's socket, so that it can wait for the first
/// response and share its TCP segment (`Connection+Corking.swift`).
///
/// OpenSSL calls a context's ticket-generation callback while it builds the ticket, inside the `SSL_do_handshake`
/// that read the client's Finished, after our flight has left and just before it writes the ticket. Only the
/// callback sees that moment every time: when the worker is slow, the Finished is already there and that same call
/// wrote our flight, which must not wait. The callback marks the connection's next client write as followed by
/// more (`ClientSocketBIO` then sends it with `MSG_MORE`); the connection ends the mark once `SSL_do_handshake`
/// returns. TLS 1.2 is left alone: its ticket goes in the server's last flight, which the client waits for.
///
/// Only a client whose first bytes came with its Finished (OpenSSL already holds them) has its ticket held. One that
/// has not spoken yet may be waiting for the ACK of its Finished before it sends them (Nagle's algorithm), or for its
/// ticket: a held ticket made it wait `--ticket-wait` (20 ms). Sent at once, the ticket carries the ACK.
enum TicketHold {
    /// Whether the hook holds tickets (`--ticket-wait` above 0); each worker sets it when it starts.
    nonisolated(unsafe) static var enabled = false

    /// Installs the hook on `context` (every context: OpenSSL asks the one the connection started with).
    static func install(in context: OpaquePointer) {
        _ = SSL_CTX_set_session_ticket_cb(context, generate, nil, nil)
    }

    private static let generate: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Int32 = { ssl, _ in
        guard enabled, let ssl, SSL_version(ssl) == TLS1_3_VERSION, SSL_has_pending(ssl) == 1,
            let connection = ClientSocketBIO.connection(of: SSL_get_wbio(ssl))
        else { return 1 }
        connection.pointee.flags.insert(.clientMoreFollows)
        return 1
    }
}
