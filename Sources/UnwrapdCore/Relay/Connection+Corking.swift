import Glibc

/// `TCP_CORK` on a sink socket while one `pump` streams into it: the records of a stream leave in full-sized
/// segments instead of one segment per record.
///
/// Why: the daemon writes one TLS record (16 KiB of payload) per `SSL_write`, and with `TCP_NODELAY` each write left
/// as its own segment, so the receiver was woken, and its kernel processed a segment, once per record. On loopback
/// that receive work runs on the sender's CPU, inside its `write(2)`: waking the client took 11 % of a worker's CPU
/// in a 64 MiB download. Corked, about four records share a segment (loopback's is up to 64 KiB). Measured with the
/// benchmark's `tlsload` in 5-second 64 MiB downloads (5 runs of each build, alternating): TCP segments per MB
/// 145 → 65, daemon CPU per MB 1 891 → 1 646 µs (medians), MB/s 515 → 556.
///
/// A sink is corked only before a write that more bytes will follow at once: its source's last read filled all the
/// room it had, so the source still has more. A response that one read took whole (the usual small one) is never
/// corked and costs no extra system call. Every `pump` ends by uncorking what it corked, which sends the rest at
/// once: corking never holds bytes back across events. Only TCP sockets are corked (a UNIX backend has no
/// segments).
extension UnsafeMutablePointer where Pointee == Connection {
    /// Before a write to the client: corks its socket if more backend bytes follow at once.
    @inline(__always)
    func corkClientIfMoreFollows() {
        let flags = pointee.flags
        guard flags.contains(.backendReadable), !flags.contains(.backendInputDone) else { return }
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

    /// Uncorks what this `pump` corked: the last partial segment of each leaves now.
    @inline(__always)
    func uncork() {
        let flags = pointee.flags
        if flags.contains(.clientCorked) { setCork(pointee.clientDescriptor, 0) }
        if flags.contains(.backendCorked) { setCork(pointee.backendDescriptor, 0) }
        pointee.flags.subtract(Connection.Flags.corked)
    }

    @inline(__always)
    private func cork(_ descriptor: Int32, _ flag: Connection.Flags) {
        guard !pointee.flags.contains(flag), setCork(descriptor, 1) else { return }
        pointee.flags.insert(flag)
    }

    @inline(__always)
    @discardableResult
    private func setCork(_ descriptor: Int32, _ value: Int32) -> Bool {
        SocketOptions.trySet(descriptor, Int32(IPPROTO_TCP), TCP_CORK, value)
    }
}
