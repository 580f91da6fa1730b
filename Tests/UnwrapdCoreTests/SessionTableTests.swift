import Glibc
import Testing

@testable import UnwrapdCore

/// One table of the session cache all workers share, on its own (the OpenSSL side: `ResumptionTests`).
@Suite struct SessionTableTests {
    /// A table of `sessions` standard slots in a shared mapping, as the parent makes it.
    private func cache(_ sessions: Int) throws -> SessionTable {
        try SessionTable.map(sessions: sessions, slotSize: SharedSessionCache.standardSlotSize)
    }

    @Test func aStoredSessionComesBackByItsIDOnly() throws {
        let cache = try cache(64)
        #expect(store(cache, "session-a", [1, 2, 3]))
        #expect(store(cache, "session-b", [4]))
        #expect(session(cache, "session-a") == [1, 2, 3])
        #expect(session(cache, "session-b") == [4])
        #expect(session(cache, "session-c") == nil)
        #expect(session(cache, "session-") == nil)
    }

    @Test func storingAnIDAgainReplacesItsSession() throws {
        let cache = try cache(64)
        #expect(store(cache, "id", [1]))
        #expect(store(cache, "id", [2, 2]))
        #expect(session(cache, "id") == [2, 2])
    }

    @Test func anExpiredSessionIsGoneAndItsSlotReused() throws {
        let cache = try cache(1)
        #expect(store(cache, "old", [1], expiry: 20))
        #expect(session(cache, "old", now: 19) == [1])
        #expect(session(cache, "old", now: 20) == nil)
        #expect(store(cache, "new", [2], expiry: 20))
        #expect(session(cache, "new", now: 10) == [2])
    }

    /// Every slot a new session may take is in use: the oldest of them goes.
    @Test func aFullTableGivesTheOldestSlotToANewSession() throws {
        let cache = try cache(SessionTable.probeLength)
        let ids = (0..<SessionTable.probeLength).map { "id-\($0)" }
        for id in ids { #expect(store(cache, id, Array(id.utf8))) }
        #expect(store(cache, "newest", [9]))
        #expect(session(cache, ids[0]) == nil, "the oldest session")
        for id in ids.dropFirst() { #expect(session(cache, id) == Array(id.utf8)) }
        #expect(session(cache, "newest") == [9])
    }

    /// A TLS 1.3 stateful ticket's session resumes once (`session-tickets = off`); a session ID's as often as asked.
    @Test func aSingleUseSessionIsCopiedOutOnce() throws {
        let cache = try cache(64)
        #expect(store(cache, "ticket", [1, 3], singleUse: true))
        #expect(store(cache, "session ID", [1, 2]))
        #expect(session(cache, "ticket") == [1, 3])
        #expect(session(cache, "ticket") == nil, "a second use")
        #expect(session(cache, "session ID") == [1, 2])
        #expect(session(cache, "session ID") == [1, 2])
        #expect(store(cache, "session ID", [4], singleUse: true), "stored again, as single-use")
        #expect(session(cache, "session ID") == [4])
        #expect(session(cache, "session ID") == nil)
    }

    @Test func removeDropsOneSession() throws {
        let cache = try cache(64)
        #expect(store(cache, "a", [1]))
        #expect(store(cache, "b", [2]))
        Array("a".utf8).withUnsafeBytes { cache.remove(id: $0) }
        #expect(session(cache, "a") == nil)
        #expect(session(cache, "b") == [2])
    }

    @Test func refusesWhatASlotCannotHold() throws {
        let cache = try cache(64)
        let largest = [UInt8](repeating: 7, count: cache.maximumSessionSize)
        #expect(store(cache, "largest", largest))
        #expect(session(cache, "largest") == largest)
        #expect(!store(cache, "too large", largest + [7]))
        #expect(!store(cache, String(repeating: "x", count: 33), [1]), "IDs are at most 32 bytes")
        #expect(!store(cache, "", [1]))
    }

    /// A worker that dies holding the lock: the next one gets it, empties the table (a slot may be half written),
    /// and the table works on.
    @Test func aWorkerThatDiesHoldingTheLockDoesNotStopTheOthers() throws {
        let cache = try cache(64)
        #expect(store(cache, "before", [1]))
        let child = fork()
        if child == 0 {
            _ = cache.lock()
            _exit(0)
        }
        try #require(child > 0)
        var status: Int32 = 0
        #expect(waitpid(child, &status, 0) == child)
        #expect(session(cache, "before") == nil)
        #expect(store(cache, "after", [2]))
        #expect(session(cache, "after") == [2])
    }
}
