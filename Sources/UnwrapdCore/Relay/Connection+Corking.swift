/// `TCP_CORK` on a client or backend socket, so that bytes which leave close together share a TCP segment.
///
/// **Streams.** The daemon writes one TLS record (16 KiB of payload) per `SSL_write`, and with `TCP_NODELAY` each
/// write left as its own segment, so the receiver was woken, and its kernel processed a segment, once per record. On
/// loopback that receive work runs on the sender's CPU, inside its `write(2)`: waking the client took 11 % of a
/// worker's CPU in a 64 MiB download. So a sink is corked while one `pump` streams into it; about four records then
/// share a segment (loopback's is up to 64 KiB). Measured with the benchmark's `tlsload` in 5-second 64 MiB
/// downloads (5 runs of each build, alternating): TCP segments per MB 145 → 65, daemon CPU per MB 1 891 → 1 646 µs
/// (medians), MB/s 515 → 556. A sink is corked only before a write that more bytes will follow at once: its
/// source's last read filled all the room it had. A response that one read took whole (the usual small one) is
/// never corked this way and costs no extra system call. A `pump` that wrote to a socket ends by uncorking it, which
/// sends the rest at once. Only TCP sockets are corked (a UNIX backend has no segments).
///
/// **The TLS 1.3 session ticket.** OpenSSL writes the ticket as soon as the client's Finished arrives, before the
/// backend has answered, so after the handshake flight a short exchange sent the client three segments (ticket,
/// response, close_notify), each processed by the kernel on the worker's CPU (loopback). `TicketCork`'s hook corks
/// the client just before the ticket is written; the ticket then waits for the first `pump` that writes to the
/// client and leaves in one segment with the response (and, for a response that ends the connection, with
/// close_notify). It waits at most `--ticket-wait` (20 ms) after the backend accepted (the connection's timer then
/// uncorks), and not at all if the backend connect has to wait: a client that waits for its ticket before it speaks
/// gets it soon, where the kernel alone would hold it for 200 ms.
///
/// **The end.** Once the backend has finished, close_notify follows the last bytes in the same `pump`, so the client
/// is corked from the last write on and both leave as one segment (a response read whole used to leave as two:
/// TLS 1.2 resumption 27 → 25 segments per connection on loopback). The FIN still waits for close(2), after the
/// client's close_notify, so that the client's kernel, not the daemon's, keeps the connection's TIME_WAIT. (Sending
/// the FIN with close_notify saved one segment more and moved the TIME_WAIT of nearly every connection to the
/// daemon's side: 2 000 of 2 000 against 168; `Tests/Benchmarks/README.md`, "How a connection ends".)
extension UnsafeMutablePointer where Pointee == Connection {
    /// Before a write to the client: corks its socket if more follows at once, backend bytes or, once the backend
    /// has finished, close_notify.
    @inline(__always)
    func corkClientIfMoreFollows() {
        let flags = pointee.flags
        guard flags.contains(.backendReadable) || flags.contains(.backendInputDone) else { return }
        cork(pointee.clientDescriptor, .clientCorked)
    }

    /// Before a write to the backend: corks its socket if more client bytes follow at once.
    @inline(__always)
    func corkBackendIfMoreFollows() {
        let flags = pointee.flags
        guard flags.contains(.clientReadable), !flags.contains(.clientInputDone),
            pointee.worker.pointee.backend.isTCP
        else { return }
        cork(pointee.backendDescriptor, .backendCorked)
    }

    /// After a handshake step: takes over the cork `TicketCork`'s hook put on the client for the session ticket.
    @inline(__always)
    func takeTicketCork() {
        if TicketCork.takeNote(for: pointee.clientDescriptor) { pointee.flags.insert(.clientCorked) }
    }

    /// Uncorks the client: what its cork holds (the session ticket, or a stream's last partial segment) leaves now.
    func uncorkClient() {
        uncork(pointee.clientDescriptor, .clientCorked)
    }

    /// Once the backend accepted and the first `pump` is done: bounds how long the ticket may still wait.
    func boundTicketHold() {
        if pointee.flags.contains(.clientCorked) { armTimer(pointee.worker.pointee.ticketWait) }
    }

    /// At the end of a `pump`: uncorks the backend if it is corked, and the client if the pump wrote to it (a
    /// client corked for the ticket stays so until a response comes).
    @inline(__always)
    func uncork(clientWritten: Bool) {
        if clientWritten { uncorkClient() }
        uncork(pointee.backendDescriptor, .backendCorked)
    }

    @inline(__always)
    private func cork(_ descriptor: Int32, _ flag: Connection.Flags) {
        guard !pointee.flags.contains(flag), SocketOptions.setCork(descriptor, true) else { return }
        pointee.flags.insert(flag)
    }

    @inline(__always)
    private func uncork(_ descriptor: Int32, _ flag: Connection.Flags) {
        guard pointee.flags.contains(flag) else { return }
        SocketOptions.setCork(descriptor, false)
        pointee.flags.remove(flag)
    }
}
