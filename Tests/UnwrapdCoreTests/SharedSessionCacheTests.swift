import Testing

@testable import UnwrapdCore

/// The session cache all workers share: which of its two tables a session goes to, by its size.
@Suite struct SharedSessionCacheTests {
    /// Standard sessions fill standard slots; a larger one goes to the large table.
    @Test func aSessionTakesTheSmallestSlotItFits() throws {
        let cache = try SharedSessionCache.map(sessions: 64)
        let standard = [UInt8](repeating: 1, count: cache.standard.maximumSessionSize)
        let larger = [UInt8](repeating: 2, count: cache.standard.maximumSessionSize + 1)
        #expect(store(cache, "standard", standard))
        #expect(store(cache, "larger", larger))
        #expect(session(cache.standard, "standard") == standard)
        #expect(session(cache.large, "standard") == nil)
        #expect(session(cache.large, "larger") == larger)
        #expect(session(cache.standard, "larger") == nil)
        #expect(session(cache, "standard") == standard)
        #expect(session(cache, "larger") == larger)
    }

    /// Sessions up to nearly 4 KiB (client certificates up to about 3.8 KB) are cached; a larger one is not.
    @Test func sessionsUpToALargeSlotAreCached() throws {
        let cache = try SharedSessionCache.map(sessions: 64)
        #expect(cache.maximumSessionSize > 3_800)
        let largest = [UInt8](repeating: 3, count: cache.maximumSessionSize)
        #expect(store(cache, "largest", largest))
        #expect(session(cache, "largest") == largest)
        #expect(!store(cache, "too large", largest + [3]))
        #expect(session(cache, "too large") == nil)
    }

    /// Single use holds in the large table too: a TLS 1.3 session with a large client certificate resumes once.
    @Test func aLargeSingleUseSessionIsCopiedOutOnce() throws {
        let cache = try SharedSessionCache.map(sessions: 64)
        let larger = [UInt8](repeating: 5, count: cache.standard.maximumSessionSize + 1)
        #expect(store(cache, "larger", larger, singleUse: true))
        #expect(session(cache, "larger") == larger)
        #expect(session(cache, "larger") == nil)
    }

    @Test func removeDropsASessionFromEitherTable() throws {
        let cache = try SharedSessionCache.map(sessions: 64)
        #expect(store(cache, "standard", [1]))
        #expect(store(cache, "larger", [UInt8](repeating: 2, count: 2_000)))
        for id in ["standard", "larger"] {
            Array(id.utf8).withUnsafeBytes { cache.remove(id: $0) }
            #expect(session(cache, id) == nil, "\(id)")
        }
    }

    /// The large table has a quarter of the standard one's slots, and at least one.
    @Test(arguments: [(1, 1), (7, 1), (8, 2), (20_480, 5_120)])
    func theLargeTableIsAQuarterOfTheStandardOne(sessions: Int, large: Int) throws {
        let cache = try SharedSessionCache.map(sessions: sessions)
        #expect(cache.standard.slotCount == sessions)
        #expect(cache.large.slotCount == large)
    }
}
