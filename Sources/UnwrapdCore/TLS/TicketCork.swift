import COpenSSL

/// The hook that corks a TLS 1.3 client's socket just before OpenSSL writes its session ticket, so that the ticket
/// can wait for the first response and share its TCP segment (`Connection+Corking.swift`).
///
/// OpenSSL calls a context's ticket-generation callback while it builds the ticket, inside the `SSL_do_handshake`
/// that read the client's Finished. Only the callback sees that moment every time: when the worker is slow, the
/// Finished is already there and that same call wrote our flight, which must not wait. The callback corks the
/// socket and leaves a note; the connection takes the note once `SSL_do_handshake` returns. A worker is one
/// thread and runs one handshake step at a time, so one note suffices. TLS 1.2 is left alone: its ticket goes in
/// the server's last flight, which the client waits for.
enum TicketCork {
    /// Whether the hook corks (`--ticket-wait` above 0); each worker sets it when it starts.
    nonisolated(unsafe) static var enabled = false
    /// The client socket the hook corked since a connection last took the note, or -1.
    nonisolated(unsafe) private static var corkedDescriptor: Int32 = -1

    /// Installs the hook on `context` (every context: OpenSSL asks the one the connection started with).
    static func install(in context: OpaquePointer) {
        _ = SSL_CTX_set_session_ticket_cb(context, generate, nil, nil)
    }

    /// After a handshake step on `descriptor`: whether the hook corked it during the step. Clears the note.
    @inline(__always)
    static func takeNote(for descriptor: Int32) -> Bool {
        guard corkedDescriptor >= 0 else { return false }
        defer { corkedDescriptor = -1 }
        return corkedDescriptor == descriptor
    }

    private static let generate: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Int32 = { ssl, _ in
        guard enabled, let ssl, SSL_version(ssl) == TLS1_3_VERSION else { return 1 }
        let descriptor = SSL_get_fd(ssl)
        if SocketOptions.setCork(descriptor, true) { corkedDescriptor = descriptor }
        return 1
    }
}
