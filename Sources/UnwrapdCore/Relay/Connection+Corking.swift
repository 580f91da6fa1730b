/// Bytes that leave close together share a TCP segment: a partly filled segment is held back while more follows at
/// once, with `MSG_MORE` on the client socket (all its writes go through `ClientSocketBIO`) and `TCP_CORK` on the
/// backend socket.
///
/// **Streams.** The daemon writes one TLS record (16 KiB of payload) per `SSL_write`, and with `TCP_NODELAY` each
/// write left as its own segment, so the receiver was woken, and its kernel processed a segment, once per record. On
/// loopback that receive work runs on the sender's CPU, inside its `write(2)`: waking the client took 11 % of a
/// worker's CPU in a 64 MiB download. So a sink is held while one `pump` streams into it; about four records then
/// share a segment (loopback's is up to 64 KiB). Measured with the benchmark's `tlsload` in 5-second 64 MiB
/// downloads (5 runs of each build, alternating): TCP segments per MB 145 → 65, daemon CPU per MB 1 891 → 1 646 µs
/// (medians), MB/s 515 → 556. A sink is held only for a write that more bytes will follow at once: its source's last
/// read filled all the room it had. A response that one read took whole (the usual small one) is never held this
/// way. A `pump` whose last write to a socket held bytes back ends by sending them. Only TCP backends are corked (a
/// UNIX backend has no segments).
///
/// **The TLS 1.3 session ticket.** OpenSSL writes the ticket as soon as the client's Finished arrives, before the
/// backend has answered, so after the handshake flight a short exchange sent the client three segments (ticket,
/// response, close_notify), each processed by the kernel on the worker's CPU (loopback). `TicketHold`'s hook marks
/// the ticket's write as followed by more; the ticket then waits in the kernel for the first `pump` that writes to
/// the client and leaves in one segment with the response (and, for a response that ends the connection, with
/// close_notify). It waits at most `--ticket-wait` (20 ms) after the backend accepted (the connection's timer then
/// pushes it), not at all if the backend connect has to wait, and only if the client's first bytes came with its
/// Finished (`TicketHold`): a client that waits for its ticket, or for the ACK of its Finished (Nagle's algorithm),
/// before it speaks gets the ticket at once, where the kernel alone would hold it for 200 ms.
///
/// **The end.** Once the backend has finished, close_notify follows the last bytes in the same `pump`: they are
/// written with `MSG_MORE` and close_notify without, so both leave as one segment (a response read whole used to
/// leave as two: TLS 1.2 resumption 27 → 25 segments per connection on loopback). The FIN still waits for close(2),
/// after the client's close_notify, so that the client's kernel, not the daemon's, keeps the connection's TIME_WAIT.
/// (Sending the FIN with close_notify saved one segment more and moved the TIME_WAIT of nearly every connection to
/// the daemon's side: 2 000 of 2 000 against 168; `Tests/Benchmarks/README.md`, "How a connection ends".)
///
/// **Why `MSG_MORE` on the client.** The kernel holds a `MSG_MORE` write's partial segment as it holds a corked one:
/// against ACKs and data that arrive meanwhile, and for at most 200 ms. A later write without the flag sends it, so
/// the ticket, response and close_notify of a short exchange need no system call besides their writes, where
/// `TCP_CORK` took two `setsockopt` calls around them. Held bytes that no such write follows are pushed by setting
/// `TCP_NODELAY` again, which sends what waits.
extension UnsafeMutablePointer where Pointee == Connection {
    /// Before a write to the client: whether more follows at once, backend bytes or, once the backend has finished,
    /// close_notify. The write then holds back a partly filled segment for it.
    @inline(__always)
    func holdClientOutputIfMoreFollows() {
        let flags = pointee.flags
        if flags.contains(.backendReadable) || flags.contains(.backendInputDone) {
            pointee.flags.insert(.clientMoreFollows)
        } else {
            pointee.flags.remove(.clientMoreFollows)
        }
    }

    /// The next client writes are followed by nothing: they send what earlier ones held back. Before close_notify,
    /// and after a handshake step (the ticket it wrote stays held until a write without `MSG_MORE` or a push).
    @inline(__always)
    func holdNoClientOutput() {
        pointee.flags.remove(.clientMoreFollows)
    }

    /// Before a write to the backend: corks its socket if more client bytes follow at once.
    @inline(__always)
    func corkBackendIfMoreFollows() {
        let flags = pointee.flags
        guard flags.contains(.clientReadable), !flags.contains(.clientInputDone),
            pointee.worker.pointee.backend.isTCP
        else { return }
        guard !flags.contains(.backendCorked), SocketOptions.setCork(pointee.backendDescriptor, true) else { return }
        pointee.flags.insert(.backendCorked)
    }

    /// Sends what waits in the client socket (the session ticket, or a stream's last partial segment) now.
    func pushClientOutput() {
        pointee.flags.remove(.clientMoreFollows)
        guard pointee.flags.contains(.clientOutputHeld) else { return }
        SocketOptions.push(pointee.clientDescriptor)
        pointee.flags.remove(.clientOutputHeld)
    }

    /// Once the backend accepted and the first `pump` is done: bounds how long the ticket may still wait.
    func boundTicketHold() {
        if pointee.flags.contains(.clientOutputHeld) { armTimer(pointee.worker.pointee.ticketWait) }
    }

    /// At the end of a `pump`: uncorks the backend if it is corked, and sends what the client socket holds if the
    /// pump wrote to it (a ticket held for a response stays so until a response comes).
    @inline(__always)
    func releaseHeldOutput(clientWritten: Bool) {
        if clientWritten { pushClientOutput() }
        guard pointee.flags.contains(.backendCorked) else { return }
        SocketOptions.setCork(pointee.backendDescriptor, false)
        pointee.flags.remove(.backendCorked)
    }
}
