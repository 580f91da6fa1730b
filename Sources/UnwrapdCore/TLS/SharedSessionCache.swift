/// The TLS session cache every worker shares (TLS 1.2 resumption by session ID, and TLS 1.3's stateful tickets
/// with `session-tickets = off`): two `SessionTable`s, one of 1 KiB slots for `session-cache` sessions and one of
/// 4 KiB slots, a quarter as many, for sessions that do not fit the first.
///
/// Why two: a serialised session holds the client's certificate when there is one, so with `client-verify` it is
/// the certificate's size and some 200 bytes: a session with an RSA-2048 client certificate of 773 bytes still fit
/// 1 KiB, one with an RSA-4096 certificate of 1 029 bytes did not, and OpenSSL's own cache is off, so such a session
/// could never resume by ID. Slots of 4 KiB for all would make the table four times the size for the sessions that
/// need none of it. Pages of either table become memory only when used. A session larger than a large slot (a
/// client certificate over about 3.8 KB) is not cached: it resumes with a ticket only, and not at all with
/// `session-tickets = off`.
struct SharedSessionCache {
    static let standardSlotSize = 1024
    static let largeSlotSize = 4096
    /// Standard slots per large one.
    static let largeShare = 4

    let standard: SessionTable
    let large: SessionTable

    /// The largest serialised session cached.
    var maximumSessionSize: Int { large.maximumSessionSize }

    /// The tables for `sessions` standard sessions (and a quarter as many large ones), in new shared mappings.
    static func map(sessions: Int) throws(StartupError) -> SharedSessionCache {
        SharedSessionCache(
            standard: try SessionTable.map(sessions: sessions, slotSize: standardSlotSize),
            large: try SessionTable.map(sessions: max(sessions / largeShare, 1), slotSize: largeSlotSize))
    }

    /// Stores `session` under `id` in the table whose slots it fits (`singleUse`: dropped when first copied out).
    /// Returns false when it fits neither (or the ID is longer than TLS allows).
    @discardableResult
    func store(
        id: UnsafeRawBufferPointer, session: UnsafeRawBufferPointer, expiry: Int64, now: Int64, singleUse: Bool
    ) -> Bool {
        let table = session.count <= standard.maximumSessionSize ? standard : large
        return table.store(id: id, session: session, expiry: expiry, now: now, singleUse: singleUse)
    }

    /// Copies the session stored under `id` into `buffer` (at least `maximumSessionSize` bytes) and returns its
    /// length; `nil` when neither table has it, or it expired.
    func copySession(id: UnsafeRawBufferPointer, now: Int64, into buffer: UnsafeMutableRawPointer) -> Int? {
        standard.copySession(id: id, now: now, into: buffer) ?? large.copySession(id: id, now: now, into: buffer)
    }

    /// Drops the session stored under `id`, from whichever table holds it.
    func remove(id: UnsafeRawBufferPointer) {
        standard.remove(id: id)
        large.remove(id: id)
    }
}
