import Testing

@testable import UnwrapdCore

@Suite struct OpenSSLAllocatorTests {
    @Test func everySizeGetsTheSmallestClassThatHoldsIt() {
        var previousSize = 0
        for index in 0..<SizeClass.count {
            let size = SizeClass(index: index).size
            #expect(size > previousSize)
            #expect(SizeClass(fitting: size) == SizeClass(index: index))
            #expect(SizeClass(fitting: previousSize + 1) == SizeClass(index: index))
            previousSize = size
        }
        #expect(previousSize == OpenSSLAllocator.largestClassSize)
        #expect(SizeClass(fitting: OpenSSLAllocator.largestClassSize + 1) == nil)
        #expect(SizeClass(fitting: 0) == SizeClass(index: 0))
    }

    @Test func classesWasteAtMostAQuarterAbove256Bytes() {
        for size in stride(from: 257, through: OpenSSLAllocator.largestClassSize, by: 7) {
            let sizeClass = SizeClass(fitting: size)!
            #expect(sizeClass.size >= size)
            #expect(Double(sizeClass.size) <= Double(size) * 1.25)
        }
    }

    @Test func recordBufferSizesAreRecycledThroughTheFreeList() {
        let first = OpenSSLAllocator.allocate(16712)!
        first.storeBytes(of: 0xAB, as: UInt8.self)
        OpenSSLAllocator.release(first)
        let second = OpenSSLAllocator.allocate(16500)!
        #expect(second == first, "a released block of the same class is handed out again")
        OpenSSLAllocator.release(second)
    }

    @Test func reallocationKeepsTheContentAndGrowsAcrossClasses() {
        let small = OpenSSLAllocator.allocate(24)!
        for offset in 0..<24 { (small + offset).storeBytes(of: UInt8(offset), as: UInt8.self) }
        let same = OpenSSLAllocator.reallocate(small, 30)!
        #expect(same == small, "growing within the class stays in place")
        let grown = OpenSSLAllocator.reallocate(same, 5000)!
        #expect((0..<24).allSatisfy { (grown + $0).load(as: UInt8.self) == UInt8($0) })
        let huge = OpenSSLAllocator.reallocate(grown, 100_000)!
        #expect((0..<24).allSatisfy { (huge + $0).load(as: UInt8.self) == UInt8($0) })
        #expect(OpenSSLAllocator.reallocate(huge, 0) == nil)
    }
}
