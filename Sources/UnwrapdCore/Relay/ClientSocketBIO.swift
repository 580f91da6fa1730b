import COpenSSL
import CUnwrapdShims
import Glibc

/// The BIO through which OpenSSL reads and writes a client's socket: OpenSSL's socket BIO, plus what only the
/// connection knows, to spare system calls.
///
/// - **Reads**, during the handshake, only when an event said the socket is readable since a read last drained it
///   (`.clientReadable`, cleared by a short read or EAGAIN). Otherwise it answers "retry" without a read(2): the
///   level-triggered watcher reports the socket again when bytes arrive. After writing its handshake flight, OpenSSL
///   reads at once for the client's answer, which is a round trip away: that read(2) said EAGAIN on every full
///   handshake. Once the connection streams, `pump` decides when to read (at the level of TLS records, where
///   `.clientReadable` also says whether more client bytes follow at once: `Connection+Corking.swift`), and this BIO
///   reads whenever OpenSSL asks and leaves the flag to `pump`.
/// - **Writes** with `send(MSG_MORE)` while the connection says more bytes follow at once (`.clientMoreFollows`):
///   the kernel then holds a partly filled segment for them, as `TCP_CORK` would, without the two `setsockopt`
///   calls around it (`Connection+Corking.swift`). `.clientOutputHeld` records that bytes wait that way.
/// - **End of stream** is flagged as OpenSSL's socket BIO flags it (`BIO_eof`), so that a client that closes
///   without close_notify is taken for one that sent it (`SSL_OP_IGNORE_UNEXPECTED_EOF`), as before.
///
/// The BIO's data is the connection; the connection closes the socket, not the BIO.
enum ClientSocketBIO {
    /// The method and its BIO type, made once per process; nil only when OpenSSL is out of memory.
    nonisolated(unsafe) private static let method: (pointer: OpaquePointer, type: Int32)? = makeMethod()

    /// A BIO for `connection`'s client socket, or nil when OpenSSL is out of memory.
    static func make(for connection: ConnectionPointer) -> OpaquePointer? {
        guard let method, let bio = BIO_new(method.pointer) else { return nil }
        BIO_set_data(bio, UnsafeMutableRawPointer(connection))
        BIO_set_init(bio, 1)
        return bio
    }

    /// The connection whose client socket `bio` is, or nil for a BIO of another kind.
    static func connection(of bio: OpaquePointer?) -> ConnectionPointer? {
        guard let bio, let method, BIO_method_type(bio) == method.type, let data = BIO_get_data(bio)
        else { return nil }
        return data.assumingMemoryBound(to: Connection.self)
    }

    private static func makeMethod() -> (pointer: OpaquePointer, type: Int32)? {
        let index = BIO_get_new_index()
        let type = index | BIO_TYPE_SOURCE_SINK
        guard index > 0, let method = BIO_meth_new(type, "unwrapd client socket") else { return nil }
        _ = BIO_meth_set_read(method, read)
        _ = BIO_meth_set_write(method, write)
        _ = BIO_meth_set_ctrl(method, control)
        return (method, type)
    }

    private static let read: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int32) -> Int32 = {
        bio, buffer, count in
        unwrapd_BIO_clear_retry_flags(bio)
        let connection = BIO_get_data(bio).assumingMemoryBound(to: Connection.self)
        let handshaking = connection.pointee.phase == .handshaking
        if handshaking && !connection.pointee.flags.contains(.clientReadable) {
            unwrapd_BIO_set_retry_read(bio)
            return -1
        }
        while true {
            let result = Glibc.read(connection.pointee.clientDescriptor, buffer, Int(count))
            if result > 0 {
                if handshaking && result < count { connection.pointee.flags.remove(.clientReadable) }
                return Int32(result)
            }
            if result == 0 {
                BIO_set_flags(bio, BIO_FLAGS_IN_EOF)
                return 0
            }
            if errno == EINTR { continue }
            if errno == EAGAIN {
                if handshaking { connection.pointee.flags.remove(.clientReadable) }
                unwrapd_BIO_set_retry_read(bio)
            }
            return -1
        }
    }

    private static let write: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = {
        bio, buffer, count in
        unwrapd_BIO_clear_retry_flags(bio)
        let connection = BIO_get_data(bio).assumingMemoryBound(to: Connection.self)
        let holds = connection.pointee.flags.contains(.clientMoreFollows)
        let flags = Int32(MSG_NOSIGNAL) | (holds ? Int32(MSG_MORE) : 0)
        while true {
            let result = send(connection.pointee.clientDescriptor, buffer, Int(count), flags)
            if result >= 0 {
                // A write without MSG_MORE sends what earlier ones held.
                if holds {
                    connection.pointee.flags.insert(.clientOutputHeld)
                } else {
                    connection.pointee.flags.remove(.clientOutputHeld)
                }
                return Int32(result)
            }
            if errno == EINTR { continue }
            if errno == EAGAIN { unwrapd_BIO_set_retry_write(bio) }
            return -1
        }
    }

    /// What libssl asks of its BIO: flush (nothing to do: every write went to the socket) and end of stream.
    private static let control: @convention(c) (OpaquePointer?, Int32, Int, UnsafeMutableRawPointer?) -> Int = {
        bio, command, _, _ in
        switch command {
        case BIO_CTRL_FLUSH: 1
        case BIO_CTRL_EOF: BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0
        default: 0
        }
    }
}
