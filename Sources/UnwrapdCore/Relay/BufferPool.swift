import Glibc

/// A worker's free list of fixed-size buffer chunks, so that the relay borrows and returns buffers per event
/// without calling malloc.
///
/// Free chunks are linked through their first word. At most `maxFreeChunks` are kept; beyond that returned
/// chunks go back to malloc, so a burst does not pin memory forever.
struct BufferPool {
    /// One TLS record's worth of plaintext: `SSL_read` never returns more than this at once, and an `SSL_write`
    /// of a full chunk makes one full record.
    static let chunkSize = 16 * 1024
    /// Where a chunk starts in its page: half a page away from OpenSSL's record buffers, which start a few bytes
    /// into a page (`OpenSSLAllocator` page-aligns them). OpenSSL copies each record's plaintext between the two,
    /// and on the development machine's AMD EPYC a 16 KiB `memcpy` whose destination lies 1–31 bytes past its
    /// source modulo 4 KiB runs at 1.7–1.9 GB/s instead of 43–52 (measured on CPU 0). With malloc's placement that
    /// distance was a matter of heap layout: 24 bytes in one build and setting, and the copies then took a fifth of
    /// a bulk transfer's CPU.
    static let chunkOffset = 2048
    /// The span the placement is reckoned in: the 4 KiB over which the CPU compares a load's address with earlier
    /// stores' (the slow copies above), not the kernel's page size, so a constant (also x86-64's page size).
    static let pageSize = 4096

    private var freeList: UnsafeMutableRawPointer? = nil
    private(set) var freeChunks = 0
    private(set) var chunksInUse = 0
    let maxFreeChunks: Int

    init(maxFreeChunks: Int) {
        self.maxFreeChunks = maxFreeChunks
    }

    /// A chunk, or `nil` when memory is exhausted.
    mutating func acquire() -> UnsafeMutableRawPointer? {
        let chunk: UnsafeMutableRawPointer
        if let head = freeList {
            freeList = head.load(as: UnsafeMutableRawPointer?.self)
            freeChunks -= 1
            chunk = head
        } else {
            var page: UnsafeMutableRawPointer?
            guard posix_memalign(&page, BufferPool.pageSize, BufferPool.chunkOffset + BufferPool.chunkSize) == 0,
                let page
            else { return nil }
            chunk = page + BufferPool.chunkOffset
        }
        chunksInUse += 1
        return chunk
    }

    mutating func release(_ chunk: UnsafeMutableRawPointer) {
        chunksInUse -= 1
        guard freeChunks < maxFreeChunks else {
            free(chunk - BufferPool.chunkOffset)
            return
        }
        chunk.storeBytes(of: freeList, as: UnsafeMutableRawPointer?.self)
        freeList = chunk
        freeChunks += 1
    }
}

extension BufferPool {
    /// Gives `buffer` a chunk if it has none; false when memory is exhausted.
    @inline(__always)
    mutating func provide(_ buffer: inout ByteBuffer) -> Bool {
        if buffer.hasChunk { return true }
        guard let chunk = acquire() else { return false }
        buffer.attach(chunk)
        return true
    }

    /// Takes back the chunk of an empty buffer.
    @inline(__always)
    mutating func reclaimIfEmpty(_ buffer: inout ByteBuffer) {
        guard buffer.hasChunk, buffer.isEmpty, let chunk = buffer.detach() else { return }
        release(chunk)
    }

    /// Takes back the chunk of `buffer`, dropping what it still holds (the connection is closing).
    mutating func reclaim(_ buffer: inout ByteBuffer) {
        buffer.discardPending()
        reclaimIfEmpty(&buffer)
    }
}
