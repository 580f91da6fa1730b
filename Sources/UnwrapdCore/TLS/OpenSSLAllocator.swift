import COpenSSL
import CUnwrapdShims
import Glibc

/// OpenSSL's heap in each unwrapd process: the block sizes OpenSSL takes and gives back on every event are
/// recycled through free lists instead of going back to malloc.
///
/// Why: idle connections must hold no buffers, so contexts set `SSL_MODE_RELEASE_BUFFERS`, and OpenSSL then takes
/// and gives back its ~16.5 KiB record buffers (and a few small blocks) on every record it reads or writes. With
/// this allocator those are free-list pops and pushes: the data path calls malloc not once per event. Idle
/// connections still hold nothing; what the lists keep is bounded by `retainedBudget` per process and, in steady
/// state, is about what the busiest moment needed.
///
/// Blocks are plain malloc blocks without a header of ours: a block is filed under the largest class its
/// `malloc_usable_size` holds (glibc: the class it was taken for), so it is only ever handed out for a request it
/// can take. Sizes between the two class ranges (what OpenSSL keeps for a connection's lifetime: the SSL object,
/// cipher contexts, the session) are not rounded up at all, so an idle connection costs what malloc alone would.
/// Each worker is single-threaded, so the lists need no locking. Installed before OpenSSL allocates anything
/// (`install()`), else OpenSSL refuses and keeps malloc.
enum OpenSSLAllocator {
    /// Bytes the free lists may keep per process: the record buffers of the busiest moments. A worker is one thread
    /// and OpenSSL gives a buffer back when it is empty, so few are out at once.
    static let retainedBudget = 512 << 10

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
        InlineArray<32, UnsafeMutableRawPointer?>(repeating: nil)
    /// Bytes in the free lists.
    @exclusivity(unchecked) nonisolated(unsafe) private static var retainedBytes = 0

    @inline(__always)
    static func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        guard let sizeClass = SizeClass(fitting: size) else { return malloc(size) }
        let index = sizeClass.index
        if let block = heads[index] {
            heads[index] = block.load(as: UnsafeMutableRawPointer?.self)
            retainedBytes -= sizeClass.size
            return block
        }
        return malloc(sizeClass.size)
    }

    @inline(__always)
    static func release(_ block: UnsafeMutableRawPointer) {
        guard let sizeClass = SizeClass(holdingAtMost: unwrapd_malloc_usable_size(block)),
            retainedBytes + sizeClass.size <= retainedBudget
        else {
            free(block)
            return
        }
        block.storeBytes(of: heads[sizeClass.index], as: UnsafeMutableRawPointer?.self)
        heads[sizeClass.index] = block
        retainedBytes += sizeClass.size
    }

    static func reallocate(_ block: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
        guard let block else { return allocate(size) }
        guard size > 0 else {
            release(block)
            return nil
        }
        let usable = unwrapd_malloc_usable_size(block)
        if size <= usable { return block }
        guard let replacement = allocate(size) else { return nil }
        replacement.copyMemory(from: block, byteCount: usable)
        release(block)
        return replacement
    }
}

/// The size classes: multiples of 16 bytes up to 256 (as malloc rounds anyway), and 1 KiB steps above 16 KiB up
/// to 32 KiB (OpenSSL's record buffers: 16 712 bytes to read, 16 492 to write, so both share one class) — 32
/// classes in all. Other sizes are not pooled.
struct SizeClass: Equatable {
    static let count = 16 + 16
    static let smallLimit = 256
    static let largeBase = 16 << 10
    static let largeStep = 1 << 10
    static let largeLimit = 32 << 10

    let index: Int

    init(index: Int) { self.index = index }

    /// The smallest class holding `size` bytes; `nil` for a size no class is for.
    @inline(__always)
    init?(fitting size: Int) {
        if size <= SizeClass.smallLimit {
            index = max(size - 1, 0) / 16
        } else if size > SizeClass.largeBase && size <= SizeClass.largeLimit {
            index = 16 + (size - SizeClass.largeBase - 1) / SizeClass.largeStep
        } else {
            return nil
        }
    }

    /// The largest class no bigger than `usable` bytes, for a block of that usable size; `nil` for a block no
    /// class should keep.
    @inline(__always)
    init?(holdingAtMost usable: Int) {
        if usable < 16 { return nil }
        if usable < SizeClass.largeBase + SizeClass.largeStep {
            // malloc may hand out up to 31 bytes more than it must (a remainder too small to split).
            guard usable < SizeClass.smallLimit + 48 else { return nil }
            index = min(usable / 16, 16) - 1
        } else {
            guard usable < SizeClass.largeLimit + SizeClass.largeStep else { return nil }
            index = 15 + (usable - SizeClass.largeBase) / SizeClass.largeStep
        }
    }

    /// The block size of the class.
    @inline(__always)
    var size: Int {
        index < 16 ? (index + 1) * 16 : SizeClass.largeBase + (index - 15) * SizeClass.largeStep
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
