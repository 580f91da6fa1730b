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
/// connections still hold no buffers. Sizes in between (what OpenSSL keeps for a connection's lifetime, the SSL
/// object, cipher contexts and the session, and what a handshake takes for a moment) are malloc blocks too, never
/// rounded up: each is filed under its malloc chunk size (`MallocChunkClass`), within `inBetweenBudget`. Each
/// worker is single-threaded, so the lists need no locking. Installed before OpenSSL allocates anything
/// (`install()`), else OpenSSL refuses and keeps malloc.
enum OpenSSLAllocator {
    /// Bytes the record buffers' free lists may keep per process: those of the busiest moments. A worker is one
    /// thread and OpenSSL gives a buffer back when it is empty, so few are out at once.
    static let retainedBudget = 512 << 10
    /// Bytes the in-between blocks' free lists may keep per process. In steady traffic they hold a handshake's
    /// worth; the bound is for what a burst of closing connections gives back (their `SSL` objects, 7.4 KiB each).
    static let inBetweenBudget = 1 << 20

    /// Routes OpenSSL's allocations through the free lists. Returns false when OpenSSL had already allocated.
    @discardableResult
    static func install() -> Bool {
        precondition(heads.count == SizeClass.count, "one free list per size class")
        precondition(inBetweenHeads.count == MallocChunkClass.count, "one free list per malloc chunk class")
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
    /// The in-between blocks' free lists, one per `MallocChunkClass`, and the bytes they hold.
    @exclusivity(unchecked) nonisolated(unsafe) private static var inBetweenHeads =
        InlineArray<1009, UnsafeMutableRawPointer?>(repeating: nil)
    @exclusivity(unchecked) nonisolated(unsafe) private(set) static var inBetweenBytes = 0
    @exclusivity(unchecked) nonisolated(unsafe) private static var arena = SmallBlockArena()

    @inline(__always)
    static func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
        guard let sizeClass = SizeClass(fitting: size) else { return allocateInBetween(size) }
        let index = sizeClass.index
        if let block = pop(&heads[index]) {
            if sizeClass.isLarge { retainedBytes -= sizeClass.size }
            return block
        }
        guard sizeClass.isLarge else { return arena.carve(sizeClass) ?? malloc(sizeClass.size) }
        // Page-aligned, so that the record's payload sits a few bytes into a page (see `BufferPool.chunkOffset`).
        var block: UnsafeMutableRawPointer?
        return posix_memalign(&block, BufferPool.pageSize, sizeClass.size) == 0 ? block : nil
    }

    /// A block of a size no `SizeClass` is for: from its chunk class's free list, or from malloc.
    @inline(__always)
    private static func allocateInBetween(_ size: Int) -> UnsafeMutableRawPointer? {
        guard let chunkClass = MallocChunkClass(fitting: size), let block = pop(&inBetweenHeads[chunkClass.index])
        else { return malloc(size) }
        inBetweenBytes -= chunkClass.usableSize
        return block
    }

    @inline(__always)
    static func release(_ block: UnsafeMutableRawPointer) {
        if let index = arena.classIndex(of: block) {
            push(block, onto: &heads[index])
            return
        }
        let usable = unwrapd_malloc_usable_size(block)
        // A small block from malloc: there is no arena (an address-space limit) or its class's span is full. With an
        // arena, a block that holds more than 256 bytes was taken for an in-between size: it goes back to that.
        if !arena.isReserved || usable < MallocChunkClass.smallestUsable,
            let sizeClass = SizeClass(smallHoldingAtMost: usable)
        {
            push(block, onto: &heads[sizeClass.index])
            return
        }
        if let chunkClass = MallocChunkClass(holdingAtMost: usable) {
            keep(
                block, of: chunkClass.usableSize, onto: &inBetweenHeads[chunkClass.index], counted: &inBetweenBytes,
                within: inBetweenBudget)
        } else if let sizeClass = SizeClass(largeHoldingAtMost: usable) {
            keep(
                block, of: sizeClass.size, onto: &heads[sizeClass.index], counted: &retainedBytes,
                within: retainedBudget)
        } else {
            free(block)
        }
    }

    /// Keeps a malloc block of `size` bytes on the free list at `head` while the lists that `kept` counts stay
    /// within `budget`; gives it back to malloc otherwise.
    @inline(__always)
    private static func keep(
        _ block: UnsafeMutableRawPointer, of size: Int, onto head: inout UnsafeMutableRawPointer?,
        counted kept: inout Int, within budget: Int
    ) {
        guard kept + size <= budget else {
            free(block)
            return
        }
        push(block, onto: &head)
        kept += size
    }

    /// Links `block` in front of the free list that starts at `head`.
    @inline(__always)
    private static func push(_ block: UnsafeMutableRawPointer, onto head: inout UnsafeMutableRawPointer?) {
        block.storeBytes(of: head, as: UnsafeMutableRawPointer?.self)
        head = block
    }

    /// Unlinks the first block of the free list that starts at `head`; `nil` when the list is empty.
    @inline(__always)
    private static func pop(_ head: inout UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
        guard let block = head else { return nil }
        head = block.load(as: UnsafeMutableRawPointer?.self)
        return block
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
