import COpenSSL
import CUnwrapdShims
import Glibc

/// OpenSSL's heap in each unwrapd process: the block sizes OpenSSL takes and gives back on every event are
/// recycled through free lists instead of going back to malloc.
///
/// Why: idle connections must hold no buffers, so contexts set `SSL_MODE_RELEASE_BUFFERS`, and OpenSSL then takes
/// and gives back its ~16.5 KiB record buffers (and a few small blocks) on every record it reads or writes. With
/// this allocator those are free-list pops and pushes: the data path calls malloc not once per event.
///
/// Small blocks (up to 256 bytes, most of OpenSSL's allocations) are carved from `SmallBlockArena`, which tells a
/// block's class from its address: freeing one is a range check and a push. Without an arena (an address-space
/// limit) small blocks come from malloc and are filed by their usable size, so they are recycled all the same, at
/// the cost of `malloc_usable_size` on each free. Record buffers are plain malloc blocks
/// filed under the largest class their `malloc_usable_size` holds (glibc: the class they were taken for); what
/// their lists keep is bounded by `retainedBudget` per process, beyond it they go back to malloc, so idle
/// connections still hold no buffers. Sizes in between (what OpenSSL keeps for a connection's lifetime: the SSL
/// object, cipher contexts, the session) go to malloc and are not rounded up at all. Each worker is
/// single-threaded, so the lists need no locking. Installed before OpenSSL allocates anything (`install()`), else
/// OpenSSL refuses and keeps malloc.
enum OpenSSLAllocator {
    /// Bytes the record buffers' free lists may keep per process: those of the busiest moments. A worker is one
    /// thread and OpenSSL gives a buffer back when it is empty, so few are out at once.
    static let retainedBudget = 512 << 10

    /// Routes OpenSSL's allocations through the free lists. Returns false when OpenSSL had already allocated.
    @discardableResult
    static func install() -> Bool {
        precondition(heads.count == SizeClass.count, "one free list per size class")
        reserveArena()
        return CRYPTO_set_mem_functions(openSSLAllocate, openSSLReallocate, openSSLFree) == 1
    }

    /// Reserves the small blocks' address space, once (until then small blocks come from malloc).
    static func reserveArena() {
        if !arena.isReserved { arena = SmallBlockArena.reserve() }
    }

    /// The head of each class's free list (blocks are linked through their first word). Statically initialised
    /// and with exclusivity checks off, so that no allocation pays for a lazy-initialisation check or an access
    /// record: each process has one thread, and nothing here calls out while it holds an access.
    @exclusivity(unchecked) nonisolated(unsafe) private static var heads =
        InlineArray<32, UnsafeMutableRawPointer?>(repeating: nil)
    /// Bytes in the record buffers' free lists.
    @exclusivity(unchecked) nonisolated(unsafe) private static var retainedBytes = 0
    @exclusivity(unchecked) nonisolated(unsafe) private static var arena = SmallBlockArena()

    @inline(__always)
    static func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        guard let sizeClass = SizeClass(fitting: size) else { return malloc(size) }
        let index = sizeClass.index
        if let block = heads[index] {
            heads[index] = block.load(as: UnsafeMutableRawPointer?.self)
            if sizeClass.isLarge { retainedBytes -= sizeClass.size }
            return block
        }
        guard sizeClass.isLarge else { return arena.carve(sizeClass) ?? malloc(sizeClass.size) }
        // Page-aligned, so that the record's payload sits a few bytes into a page (see `BufferPool.chunkOffset`).
        var block: UnsafeMutableRawPointer?
        return posix_memalign(&block, BufferPool.pageSize, sizeClass.size) == 0 ? block : nil
    }

    @inline(__always)
    static func release(_ block: UnsafeMutableRawPointer) {
        if let index = arena.classIndex(of: block) {
            push(block, index)
            return
        }
        let usable = unwrapd_malloc_usable_size(block)
        // A small block from malloc: there is no arena (an address-space limit) or its class's span is full.
        if let sizeClass = SizeClass(smallHoldingAtMost: usable) {
            push(block, sizeClass.index)
            return
        }
        guard let sizeClass = SizeClass(largeHoldingAtMost: usable),
            retainedBytes + sizeClass.size <= retainedBudget
        else {
            free(block)
            return
        }
        push(block, sizeClass.index)
        retainedBytes += sizeClass.size
    }

    @inline(__always)
    private static func push(_ block: UnsafeMutableRawPointer, _ index: Int) {
        block.storeBytes(of: heads[index], as: UnsafeMutableRawPointer?.self)
        heads[index] = block
    }

    static func reallocate(_ block: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
        guard let block else { return allocate(size) }
        guard size > 0 else {
            release(block)
            return nil
        }
        let usable = arena.classIndex(of: block).map { SizeClass(index: $0).size } ?? unwrapd_malloc_usable_size(block)
        if size <= usable { return block }
        guard let replacement = allocate(size) else { return nil }
        replacement.copyMemory(from: block, byteCount: usable)
        release(block)
        return replacement
    }
}

/// The size classes: multiples of 16 bytes up to 256 (carved from `SmallBlockArena`), and 1 KiB steps above 16 KiB
/// up to 32 KiB (OpenSSL's record buffers: 16 712 bytes to read, 16 492 to write, so both share one class; malloc
/// blocks) — 32 classes in all. Other sizes are not pooled.
struct SizeClass: Equatable {
    static let smallCount = 16
    static let count = smallCount + 16
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
            index = SizeClass.smallCount + (size - SizeClass.largeBase - 1) / SizeClass.largeStep
        } else {
            return nil
        }
    }

    /// The largest small class no bigger than `usable` bytes, for a malloc block of that usable size (glibc: 8
    /// bytes more than asked, or up to 31 when a remainder was too small to split); `nil` for a block no small
    /// class should keep.
    @inline(__always)
    init?(smallHoldingAtMost usable: Int) {
        guard usable >= 16, usable < SizeClass.smallLimit + 48 else { return nil }
        index = min(usable / 16, SizeClass.smallCount) - 1
    }

    /// The largest record-buffer class no bigger than `usable` bytes, for a malloc block of that usable size; `nil`
    /// for a block no such class should keep.
    @inline(__always)
    init?(largeHoldingAtMost usable: Int) {
        guard usable >= SizeClass.largeBase + SizeClass.largeStep, usable < SizeClass.largeLimit + SizeClass.largeStep
        else { return nil }
        index = SizeClass.smallCount - 1 + (usable - SizeClass.largeBase) / SizeClass.largeStep
    }

    /// A record-buffer class (a malloc block), not a small one (carved from the arena).
    @inline(__always)
    var isLarge: Bool { index >= SizeClass.smallCount }

    /// The block size of the class.
    @inline(__always)
    var size: Int {
        isLarge ? SizeClass.largeBase + (index - SizeClass.smallCount + 1) * SizeClass.largeStep : (index + 1) * 16
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
