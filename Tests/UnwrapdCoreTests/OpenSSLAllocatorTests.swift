import CUnwrapdShims
import Glibc
import Testing

@testable import UnwrapdCore

/// Serialized: the allocator's lists are per process and unlocked (each worker is one thread).
@Suite(.serialized) struct OpenSSLAllocatorTests {
    /// The class step where `size` lies: 16 bytes for small classes, 1 KiB for large ones.
    private func step(_ sizeClass: SizeClass) -> Int { sizeClass.isLarge ? SizeClass.largeStep : 16 }

    @Test func poolableSizesGetTheSmallestClassThatHoldsThemAndOthersNone() {
        for size in 0...40_000 {
            guard let sizeClass = SizeClass(fitting: size) else {
                #expect(
                    (SizeClass.smallLimit + 1...SizeClass.largeBase).contains(size) || size > SizeClass.largeLimit,
                    "size \(size)")
                continue
            }
            #expect(sizeClass.size >= size && sizeClass.size - max(size, 1) < step(sizeClass), "size \(size)")
            #expect(SizeClass(fitting: sizeClass.size) == sizeClass)
        }
        #expect(SizeClass(fitting: SizeClass.largeLimit)?.index == SizeClass.count - 1)
    }

    /// A record buffer is filed under a class it can hold; a block malloc returned for a class (glibc: 8 bytes more
    /// usable, or up to 31 more when a remainder was too small to split) goes back to that class or one it also
    /// holds. Small and in-between malloc blocks are filed under no record-buffer class.
    @Test func aReleasedRecordBufferGoesToAClassItHolds() throws {
        for usable in 0...40_000 {
            guard let sizeClass = SizeClass(largeHoldingAtMost: usable) else { continue }
            #expect(sizeClass.isLarge && sizeClass.size <= usable, "usable \(usable)")
        }
        for index in SizeClass.smallCount..<SizeClass.count {
            let sizeClass = SizeClass(index: index)
            #expect(SizeClass(largeHoldingAtMost: sizeClass.size + 8) == sizeClass)
            #expect(SizeClass(largeHoldingAtMost: sizeClass.size + 39) != nil)
            let block = try #require(malloc(sizeClass.size))
            #expect(SizeClass(largeHoldingAtMost: unwrapd_malloc_usable_size(block)) != nil)
            free(block)
        }
        #expect(SizeClass(largeHoldingAtMost: 7608) == nil)
        #expect(SizeClass(largeHoldingAtMost: 264) == nil)
    }

    /// Without an arena small blocks come from malloc; each goes back to a small class it can hold, whatever
    /// slack malloc gave it, and in-between blocks to none.
    @Test func aReleasedSmallMallocBlockGoesToASmallClassItHolds() throws {
        for usable in 0...40_000 {
            guard let sizeClass = SizeClass(smallHoldingAtMost: usable) else { continue }
            #expect(!sizeClass.isLarge && sizeClass.size <= usable, "usable \(usable)")
        }
        for index in 0..<SizeClass.smallCount {
            let sizeClass = SizeClass(index: index)
            #expect(SizeClass(smallHoldingAtMost: sizeClass.size + 8) == sizeClass)
            let block = try #require(malloc(sizeClass.size))
            #expect(SizeClass(smallHoldingAtMost: unwrapd_malloc_usable_size(block)) != nil)
            free(block)
        }
        #expect(SizeClass(smallHoldingAtMost: 7608) == nil)
        #expect(SizeClass(smallHoldingAtMost: 16 * 1024 + 1032) == nil)
    }

    /// Small blocks come from the arena, which knows each one's class from its address alone, and are handed out
    /// again once released.
    @Test func smallBlocksComeFromTheArenaAndAreRecycled() throws {
        OpenSSLAllocator.reserveArena()
        var arena = SmallBlockArena.reserve()
        try #require(arena.isReserved, "a process without an address-space limit gets an arena")
        for index in 0..<SizeClass.smallCount {
            let sizeClass = SizeClass(index: index)
            let carvedFirst = arena.carve(sizeClass)
            let carvedSecond = arena.carve(sizeClass)
            let first = try #require(carvedFirst)
            let second = try #require(carvedSecond)
            #expect(second == first + sizeClass.size, "blocks of a class are carved side by side")
            #expect(arena.classIndex(of: first) == index && arena.classIndex(of: second) == index)
        }
        let outside = try #require(malloc(32))
        #expect(arena.classIndex(of: outside) == nil)
        free(outside)

        let block = try #require(OpenSSLAllocator.allocate(40))
        block.storeBytes(of: 0xAB, toByteOffset: 47, as: UInt8.self)  // its class holds 48 bytes
        OpenSSLAllocator.release(block)
        #expect(OpenSSLAllocator.allocate(33) == block, "a released block of the same class is handed out again")
        OpenSSLAllocator.release(block)
    }

    /// When a class's span is used up, carving stops there (the allocator then takes small blocks from malloc).
    @Test func aFullClassSpanCarvesNoMore() throws {
        var arena = SmallBlockArena.reserve()
        try #require(arena.isReserved)
        let largest = SizeClass(index: SizeClass.smallCount - 1)
        var last: UnsafeMutableRawPointer?
        for _ in 0..<SmallBlockArena.span / largest.size {  // carving touches no memory
            last = arena.carve(largest)
        }
        let final = try #require(last)
        #expect(arena.classIndex(of: final) == largest.index)
        let beyond = arena.carve(largest)
        #expect(beyond == nil)
        let neighbour = arena.carve(SizeClass(index: largest.index - 1))
        #expect(neighbour != nil, "each class has its own span")
        var none = SmallBlockArena()
        let fromNone = none.carve(SizeClass(index: 0))
        #expect(fromNone == nil, "no reservation, no blocks")
    }

    @Test func recordBufferSizesAreRecycledThroughTheFreeList() {
        let first = OpenSSLAllocator.allocate(16712)!
        first.storeBytes(of: 0xAB, as: UInt8.self)
        OpenSSLAllocator.release(first)
        let second = OpenSSLAllocator.allocate(16492)!
        #expect(second == first, "a released block of the same class is handed out again")
        OpenSSLAllocator.release(second)
    }

    /// Record buffers start at a page boundary (see `BufferPool.chunkOffset`).
    @Test func recordBuffersArePageAligned() throws {
        var blocks: [UnsafeMutableRawPointer] = []
        for size in [16_492, 16_712, 20_000] { blocks.append(try #require(OpenSSLAllocator.allocate(size))) }
        for block in blocks { #expect(UInt(bitPattern: block) % UInt(BufferPool.pageSize) == 0) }
        for block in blocks { OpenSSLAllocator.release(block) }
    }

    /// What a connection keeps for its lifetime (the SSL object is 7 608 bytes) costs what malloc alone would. glibc
    /// may hand out a free chunk 16 bytes larger rather than split off a remainder too small to be a chunk.
    @Test func longLivedSizesAreNotRoundedUp() {
        let block = OpenSSLAllocator.allocate(7608)!
        #expect(unwrapd_malloc_usable_size(block) <= 7608 + 16)
        OpenSSLAllocator.release(block)
    }

    /// The chunk classes are glibc's chunk sizes for the requests between the small classes and the record
    /// buffers; the literal constants agree with the arithmetic they stand for.
    @Test func inBetweenSizesGetTheChunkMallocWouldGiveThem() throws {
        #expect(MallocChunkClass.smallestChunk == MallocChunkClass.chunkSize(holding: MallocChunkClass.smallestRequest))
        #expect(
            MallocChunkClass.count
                == (MallocChunkClass.chunkSize(holding: MallocChunkClass.largestRequest)
                    - MallocChunkClass.smallestChunk) / MallocChunkClass.step + 1)
        #expect(MallocChunkClass.smallestUsable == MallocChunkClass.smallestChunk - MallocChunkClass.header)
        for size in 0...40_000 {
            guard let chunkClass = MallocChunkClass(fitting: size) else {
                #expect(SizeClass(fitting: size) != nil || size > SizeClass.largeLimit, "size \(size)")
                continue
            }
            #expect(SizeClass(fitting: size) == nil, "size \(size) has one class only")
            #expect(chunkClass.usableSize >= size && chunkClass.usableSize - size < MallocChunkClass.step)
        }
        #expect(MallocChunkClass(fitting: SizeClass.smallLimit)?.index == nil)
        #expect(MallocChunkClass(fitting: SizeClass.smallLimit + 1)?.index == 0)
        #expect(MallocChunkClass(fitting: SizeClass.largeBase)?.index == MallocChunkClass.count - 1)
        for size in [257, 300, 928, 960, 3264, 4096, 7608, 16_384] {
            let block = try #require(malloc(size))
            // glibc may hand out a free chunk 16 bytes larger rather than split off a remainder too small to be one.
            let usable = unwrapd_malloc_usable_size(block)
            let expected = try #require(MallocChunkClass(fitting: size)).usableSize
            #expect(usable == expected || usable == expected + MallocChunkClass.step, "size \(size)")
            free(block)
        }
    }

    /// A released malloc block is filed under the largest chunk class it holds, so that whatever request takes it
    /// again fits; blocks too small or too large for every class are filed under none.
    @Test func aReleasedInBetweenBlockGoesToAClassItHolds() {
        for usable in 0...40_000 {
            guard let chunkClass = MallocChunkClass(holdingAtMost: usable) else {
                let largest = MallocChunkClass(index: MallocChunkClass.count - 1).usableSize
                #expect(usable < MallocChunkClass.smallestUsable || usable >= largest + MallocChunkClass.step)
                continue
            }
            #expect(chunkClass.usableSize <= usable && usable - chunkClass.usableSize < MallocChunkClass.step)
        }
        for index in 0..<MallocChunkClass.count {
            let chunkClass = MallocChunkClass(index: index)
            #expect(MallocChunkClass(holdingAtMost: chunkClass.usableSize) == chunkClass)
        }
    }

    /// What a handshake takes for a moment and what a closing connection gives back (the `SSL` object) is handed out
    /// again, the same block for the same chunk size, without going back to malloc (which would hand it to the
    /// next malloc of that size).
    @Test(arguments: [(7608, 7600), (264, 257)])
    func inBetweenBlocksAreRecycled(sizes: (first: Int, second: Int)) throws {
        OpenSSLAllocator.reserveArena()
        let block = try #require(OpenSSLAllocator.allocate(sizes.first))
        block.storeBytes(of: 0xAB, toByteOffset: sizes.first - 1, as: UInt8.self)
        OpenSSLAllocator.release(block)
        let fromMalloc = try #require(malloc(sizes.second))
        #expect(fromMalloc != block, "the released block stayed out of malloc")
        #expect(OpenSSLAllocator.allocate(sizes.second) == block, "and is handed out again for the same chunk size")
        free(fromMalloc)
        OpenSSLAllocator.release(block)
    }

    /// The in-between free lists keep at most `inBetweenBudget` bytes, and fill up to it; blocks released beyond
    /// it go back to malloc.
    @Test func inBetweenFreeListsKeepAtMostTheirBudget() throws {
        let size = 8 << 10
        let perBlock = try #require(MallocChunkClass(fitting: size)).usableSize
        let count = OpenSSLAllocator.inBetweenBudget / perBlock * 2
        var blocks: [UnsafeMutableRawPointer] = []
        for _ in 0..<count { blocks.append(try #require(OpenSSLAllocator.allocate(size))) }
        for block in blocks { OpenSSLAllocator.release(block) }
        let kept = OpenSSLAllocator.inBetweenBytes
        #expect(kept <= OpenSSLAllocator.inBetweenBudget, "\(kept) bytes kept")
        #expect(kept > OpenSSLAllocator.inBetweenBudget - perBlock, "\(kept) bytes kept: the lists fill up first")
        blocks = []
        for _ in 0..<count { blocks.append(try #require(OpenSSLAllocator.allocate(size))) }
        #expect(OpenSSLAllocator.inBetweenBytes <= kept - OpenSSLAllocator.inBetweenBudget / 2, "taken back first")
        for block in blocks { OpenSSLAllocator.release(block) }
    }

    @Test func reallocationKeepsTheContentAndGrowsAcrossClasses() {
        let small = OpenSSLAllocator.allocate(24)!
        for offset in 0..<24 { (small + offset).storeBytes(of: UInt8(offset), as: UInt8.self) }
        let same = OpenSSLAllocator.reallocate(small, 30)!
        #expect(same == small, "growing within the block stays in place")
        let grown = OpenSSLAllocator.reallocate(same, 5000)!
        #expect((0..<24).allSatisfy { (grown + $0).load(as: UInt8.self) == UInt8($0) })
        let huge = OpenSSLAllocator.reallocate(grown, 100_000)!
        #expect((0..<24).allSatisfy { (huge + $0).load(as: UInt8.self) == UInt8($0) })
        #expect(OpenSSLAllocator.reallocate(huge, 0) == nil)
    }
}
