import CUnwrapdShims
import Glibc
import Testing

@testable import UnwrapdCore

@Suite struct OpenSSLAllocatorTests {
    /// The class step where `size` lies: 16 bytes for small classes, 1 KiB for large ones.
    private func step(_ sizeClass: SizeClass) -> Int { sizeClass.index < 16 ? 16 : SizeClass.largeStep }

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

    /// A block is filed under a class it can hold; a block malloc returned for a class (glibc: 8 bytes more usable,
    /// or up to 31 more when a remainder was too small to split) goes back to that class or one it also holds.
    @Test func aReleasedBlockGoesToAClassItHolds() throws {
        for usable in 0...40_000 {
            guard let sizeClass = SizeClass(holdingAtMost: usable) else { continue }
            #expect(sizeClass.size <= usable, "usable \(usable)")
        }
        for index in 0..<SizeClass.count {
            let sizeClass = SizeClass(index: index)
            #expect(SizeClass(holdingAtMost: sizeClass.size + 8) == sizeClass)
            #expect(SizeClass(holdingAtMost: sizeClass.size + 39) != nil)
            let block = try #require(malloc(sizeClass.size))
            #expect(SizeClass(holdingAtMost: unwrapd_malloc_usable_size(block)) != nil)
            free(block)
        }
        #expect(SizeClass(holdingAtMost: 7608) == nil)
    }

    @Test func recordBufferSizesAreRecycledThroughTheFreeList() {
        let first = OpenSSLAllocator.allocate(16712)!
        first.storeBytes(of: 0xAB, as: UInt8.self)
        OpenSSLAllocator.release(first)
        let second = OpenSSLAllocator.allocate(16492)!
        #expect(second == first, "a released block of the same class is handed out again")
        OpenSSLAllocator.release(second)
    }

    /// What a connection keeps for its lifetime (the SSL object is 7 608 bytes) costs what malloc alone would.
    @Test func longLivedSizesAreNotRoundedUp() {
        let block = OpenSSLAllocator.allocate(7608)!
        #expect(unwrapd_malloc_usable_size(block) < 7608 + 16)
        OpenSSLAllocator.release(block)
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
