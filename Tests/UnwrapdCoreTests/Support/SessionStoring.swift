@testable import UnwrapdCore

/// What the session-cache tests store and look up: one `SessionTable`, or the `SharedSessionCache` of two.
protocol SessionStoring {
    var maximumSessionSize: Int { get }
    func store(
        id: UnsafeRawBufferPointer, session: UnsafeRawBufferPointer, expiry: Int64, now: Int64, singleUse: Bool
    ) -> Bool
    func copySession(id: UnsafeRawBufferPointer, now: Int64, into buffer: UnsafeMutableRawPointer) -> Int?
}

extension SessionTable: SessionStoring {}
extension SharedSessionCache: SessionStoring {}

/// Stores `session` under `id` at time 10, until `expiry` (`singleUse`: until it is first looked up).
func store(
    _ cache: some SessionStoring, _ id: String, _ session: [UInt8], expiry: Int64 = 100, singleUse: Bool = false
) -> Bool {
    Array(id.utf8).withUnsafeBytes { id in
        session.withUnsafeBytes { cache.store(id: id, session: $0, expiry: expiry, now: 10, singleUse: singleUse) }
    }
}

/// The session stored under `id` at time `now`, or nil.
func session(_ cache: some SessionStoring, _ id: String, now: Int64 = 10) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: cache.maximumSessionSize)
    let length = Array(id.utf8).withUnsafeBytes { id in
        buffer.withUnsafeMutableBytes { cache.copySession(id: id, now: now, into: $0.baseAddress!) }
    }
    return length.map { Array(buffer.prefix($0)) }
}
