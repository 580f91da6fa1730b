import COpenSSL
import CUnwrapdShims
import Glibc

/// Connects OpenSSL's server session cache to `SharedSessionCache` (`session-cache` > 0): OpenSSL's own cache,
/// which each worker would keep for itself, is off, and new TLS 1.2 sessions are serialised into the shared table,
/// so a session ID resumes on whichever worker the client reaches. TLS 1.3 sessions are stored only when session
/// tickets are off (`session-tickets = off`): OpenSSL's TLS 1.3 ticket is then the session's ID, a stateful ticket,
/// and each one resumes once (RFC 8446, section 8.1); with tickets on, the session travels encrypted in the ticket.
///
/// A session is looked up by ID alone: OpenSSL then checks its session ID context (`SessionIDContext`), so a session
/// resumes only under the certificate and client-verification policy it was made with, in whichever context.
enum SessionCacheCallbacks {
    /// The table, mapped by the parent before the contexts are made and inherited by every worker.
    nonisolated(unsafe) static var cache: SharedSessionCache?
    /// Where a session is serialised to or copied out of the tables (one per process, which has one thread).
    nonisolated(unsafe) private static var scratch = UnsafeMutableRawPointer.allocate(
        byteCount: SessionTable.maximumSessionSize(slotSize: SharedSessionCache.largeSlotSize), alignment: 16)

    /// Routes `context`'s server session cache to the shared table, when there is one (`session-cache` > 0; else
    /// OpenSSL keeps its own).
    static func install(in context: OpaquePointer) {
        guard cache != nil else { return }
        _ = unwrapd_SSL_CTX_set_session_cache_mode(
            context, UNWRAPD_SSL_SESS_CACHE_SERVER | UNWRAPD_SSL_SESS_CACHE_NO_INTERNAL)
        SSL_CTX_sess_set_new_cb(context, onNewSession)
        SSL_CTX_sess_set_get_cb(context, onGetSession)
        SSL_CTX_sess_set_remove_cb(context, onRemoveSession)
    }

    /// The session's ID as bytes.
    fileprivate static func id(of session: OpaquePointer) -> UnsafeRawBufferPointer {
        var length: UInt32 = 0
        let bytes = SSL_SESSION_get_id(session, &length)
        return UnsafeRawBufferPointer(start: bytes, count: Int(length))
    }

    /// Stores `session`, made on `ssl`: TLS 1.2 ones always, TLS 1.3 ones (single-use) only when `ssl` issues
    /// stateful tickets, that is when its context has session tickets off (`SSL_OP_NO_TICKET`).
    fileprivate static func store(_ session: OpaquePointer, madeOn ssl: OpaquePointer) {
        let isTLS13 = SSL_SESSION_get_protocol_version(session) == TLS1_3_VERSION
        guard let cache, !isTLS13 || SSL_get_options(ssl) & UNWRAPD_SSL_OP_NO_TICKET != 0 else { return }
        let length = i2d_SSL_SESSION(session, nil)
        guard length > 0, Int(length) <= cache.maximumSessionSize else { return }
        var cursor: UnsafeMutablePointer<UInt8>? = scratch.assumingMemoryBound(to: UInt8.self)
        guard i2d_SSL_SESSION(session, &cursor) == length else { return }
        let expiry = Int64(SSL_SESSION_get_time(session)) + Int64(SSL_SESSION_get_timeout(session))
        cache.store(
            id: id(of: session), session: UnsafeRawBufferPointer(start: scratch, count: Int(length)),
            expiry: expiry, now: Int64(time(nil)), singleUse: isTLS13)
    }

    fileprivate static func session(id: UnsafeRawBufferPointer) -> OpaquePointer? {
        guard let cache, let length = cache.copySession(id: id, now: Int64(time(nil)), into: scratch) else {
            return nil
        }
        var cursor: UnsafePointer<UInt8>? = UnsafePointer(scratch.assumingMemoryBound(to: UInt8.self))
        return d2i_SSL_SESSION(nil, &cursor, length)
    }
}

/// A new session (full handshake): into the table. Returns 0: OpenSSL keeps no reference for the cache.
private func onNewSession(_ ssl: OpaquePointer?, _ session: OpaquePointer?) -> Int32 {
    if let ssl, let session { SessionCacheCallbacks.store(session, madeOn: ssl) }
    return 0
}

/// A client offered a session ID (or a TLS 1.3 stateful ticket, which is one): a fresh copy from the table, which the
/// caller owns (`copy` = 0), or nil.
private func onGetSession(
    _ ssl: OpaquePointer?, _ id: UnsafePointer<UInt8>?, _ length: Int32, _ copy: UnsafeMutablePointer<Int32>?
) -> OpaquePointer? {
    copy?.pointee = 0
    guard let id, length > 0 else { return nil }
    return SessionCacheCallbacks.session(id: UnsafeRawBufferPointer(start: id, count: Int(length)))
}

/// OpenSSL dropped a session (expired, or its connection failed): out of the table too.
private func onRemoveSession(_ context: OpaquePointer?, _ session: OpaquePointer?) {
    guard let session else { return }
    SessionCacheCallbacks.cache?.remove(id: SessionCacheCallbacks.id(of: session))
}
