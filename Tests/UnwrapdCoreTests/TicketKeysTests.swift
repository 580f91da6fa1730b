import Glibc
import Testing

@testable import UnwrapdCore

/// `TicketKeys`: which generation's key a ticket's key name finds as the parent rotates them.
@Suite struct TicketKeysTests {
    /// The key name of `generation` as a ticket carries it.
    static func name(_ keys: TicketKeys, _ generation: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: keys.key(ofGeneration: generation), count: TicketKeys.nameLength))
    }

    @Test func aKeyNameFindsItsGenerationForTwoRotations() throws {
        let keys = try TicketKeys()
        #expect(keys.generation == 0)
        let first = Self.name(keys, 0)
        #expect(keys.generation(ofKeyNamed: first) == 0)

        try keys.rotate()
        #expect(keys.generation == 1)
        let second = Self.name(keys, 1)
        #expect(second != first)
        #expect(keys.generation(ofKeyNamed: first) == 0)
        #expect(keys.generation(ofKeyNamed: second) == 1)

        try keys.rotate()
        #expect(keys.generation(ofKeyNamed: first) == 0)
        try keys.rotate()
        #expect(keys.generation == 3)
        #expect(keys.generation(ofKeyNamed: first) == nil, "three keys old")
        #expect(keys.generation(ofKeyNamed: second) == 1)
    }

    @Test func aSlotReusedByALaterGenerationHoldsANewKey() throws {
        let keys = try TicketKeys()
        let first = Self.name(keys, 0)
        for _ in 0..<TicketKeys.slotCount { try keys.rotate() }
        #expect(keys.generation == TicketKeys.slotCount)
        #expect(Self.name(keys, TicketKeys.slotCount) != first)
        #expect(keys.generation(ofKeyNamed: first) == nil)
    }

    @Test func anUnknownNameFindsNothing() throws {
        let keys = try TicketKeys()
        #expect(keys.generation(ofKeyNamed: [UInt8](repeating: 0xA5, count: TicketKeys.nameLength)) == nil)
    }
}
