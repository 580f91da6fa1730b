import COpenSSL
import Glibc

/// OpenSSL's heap in each unwrapd process: blocks of up to 32 KiB are recycled through free lists of size
/// classes instead of going back to malloc.
///
/// Why: idle connections must hold no buffers, so contexts set `SSL_MODE_RELEASE_BUFFERS`, and OpenSSL then takes
/// and gives back its ~16.5 KiB record buffers (and a few small blocks) on every record it reads or writes. With
/// this allocator those are free-list pops and pushes: the data path calls malloc not once per event. Idle
/// connections still hold nothing; what the lists keep is bounded by `retainedBudget` per process and, in steady
/// state, is about what the busiest moment needed.
///
/// Blocks carry a 16-byte header (size class, requested size) in front of what OpenSSL sees, which keeps
/// malloc's 16-byte alignment. Each worker is single-threaded, so the lists need no locking. Installed before
/// OpenSSL allocates anything (`install()`), else OpenSSL refuses and keeps malloc.
enum OpenSSLAllocator {
    /// Bytes the free lists may keep per process.
    static let retainedBudget = 4 << 20
    /// Blocks larger than this go straight to malloc.
    static let largestClassSize = 32 << 10

    /// Routes OpenSSL's allocations through the free lists. Returns false when OpenSSL had already allocated.
    @discardableResult
    static func install() -> Bool {
        precondition(heads.count == SizeClass.count, "one free list per size class")
        return CRYPTO_set_mem_functions(openSSLAllocate, openSSLReallocate, openSSLFree) == 1
    }

    /// The head of each class's free list (blocks are linked through their first word). Statically initialised
    /// and with exclusivity checks off, so that no allocation pays for a lazy-initialisation check or an access
    /// record: each process has one thread, and nothing here calls out while it holds an access.
    @exclusivity(unchecked) nonisolated(unsafe) private static var heads =
        InlineArray<44, UnsafeMutableRawPointer?>(repeating: nil)
    /// Bytes in the free lists.
    @exclusivity(unchecked) nonisolated(unsafe) private static var retainedBytes = 0

    static let headerSize = 16

    @inline(__always)
    static func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        guard let sizeClass = SizeClass(fitting: size) else {
            return malloc(size + headerSize).map { mark($0, header: .unpooled(), size: size) }
        }
        let index = sizeClass.index
        let classSize = sizeClass.size
        let header = BlockHeader(index: index, classSize: classSize)
        if let block = heads[index] {
            heads[index] = block.load(as: UnsafeMutableRawPointer?.self)
            retainedBytes -= classSize
            return mark(block, header: header, size: size)
        }
        return malloc(classSize + headerSize).map { mark($0, header: header, size: size) }
    }

    @inline(__always)
    static func release(_ pointer: UnsafeMutableRawPointer) {
        let block = pointer - headerSize
        let header = block.load(as: BlockHeader.self)
        guard header.isPooled, retainedBytes + header.classSize <= retainedBudget else {
            free(block)
            return
        }
        block.storeBytes(of: heads[header.index], as: UnsafeMutableRawPointer?.self)
        heads[header.index] = block
        retainedBytes += header.classSize
    }

    static func reallocate(_ pointer: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
        guard let pointer else { return allocate(size) }
        guard size > 0 else {
            release(pointer)
            return nil
        }
        let block = pointer - headerSize
        let header = block.load(as: BlockHeader.self)
        let oldSize = block.load(fromByteOffset: 8, as: Int.self)
        if header.isPooled, size <= header.classSize {
            block.storeBytes(of: size, toByteOffset: 8, as: Int.self)
            return pointer
        }
        guard let replacement = allocate(size) else { return nil }
        replacement.copyMemory(from: pointer, byteCount: min(oldSize, size))
        release(pointer)
        return replacement
    }

    /// Writes the header and returns what the caller sees.
    @inline(__always)
    private static func mark(_ block: UnsafeMutableRawPointer, header: BlockHeader, size: Int)
        -> UnsafeMutableRawPointer
    {
        block.storeBytes(of: header, as: BlockHeader.self)
        block.storeBytes(of: size, toByteOffset: 8, as: Int.self)
        return block + headerSize
    }
}

/// The first word of a block's header: its size class and the class's block size, so that a release needs no
/// arithmetic to find its list and its size.
struct BlockHeader {
    private let rawIndex: Int32
    private let rawClassSize: Int32

    init(index: Int, classSize: Int) {
        rawIndex = Int32(truncatingIfNeeded: index)
        rawClassSize = Int32(truncatingIfNeeded: classSize)
    }

    /// The header of a block taken from malloc directly (larger than the largest class), given back with free.
    @inline(__always) static func unpooled() -> BlockHeader { BlockHeader(index: -1, classSize: 0) }

    var isPooled: Bool { rawIndex >= 0 }
    var index: Int { Int(rawIndex) }
    var classSize: Int { Int(rawClassSize) }
}

/// The size classes: multiples of 16 bytes up to 256, then four classes per power of two (at most 25 % slack)
/// up to 32 KiB — 44 classes in all.
struct SizeClass: Equatable {
    static let count = 16 + 7 * 4
    let index: Int

    init(index: Int) { self.index = index }

    /// The smallest class holding `size` bytes; `nil` above 32 KiB.
    @inline(__always)
    init?(fitting size: Int) {
        if size <= 256 {
            index = max(size - 1, 0) / 16
            return
        }
        guard size <= OpenSSLAllocator.largestClassSize else { return nil }
        let exponent = Int.bitWidth - 1 - (size - 1).leadingZeroBitCount  // size lies in (2^exponent, 2^(exponent+1)]
        let step = 1 << (exponent - 2)
        let quarter = (size - (1 << exponent) + step - 1) / step  // 1...4
        index = 16 + (exponent - 8) * 4 + quarter - 1
    }

    /// The block size of the class.
    @inline(__always)
    var size: Int {
        guard index >= 16 else { return (index + 1) * 16 }
        let exponent = (index - 16) / 4 + 8
        return (1 << exponent) + ((index - 16) % 4 + 1) * (1 << (exponent - 2))
    }
}

private func openSSLAllocate(_ size: Int, _ file: UnsafePointer<CChar>?, _ line: Int32) -> UnsafeMutableRawPointer? {
    OpenSSLAllocator.allocate(size)
}

private func openSSLReallocate(
    _ pointer: UnsafeMutableRawPointer?, _ size: Int, _ file: UnsafePointer<CChar>?, _ line: Int32
) -> UnsafeMutableRawPointer? {
    OpenSSLAllocator.reallocate(pointer, size)
}

private func openSSLFree(_ pointer: UnsafeMutableRawPointer?, _ file: UnsafePointer<CChar>?, _ line: Int32) {
    guard let pointer else { return }
    OpenSSLAllocator.release(pointer)
}
