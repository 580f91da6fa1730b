import Testing

@testable import UnwrapdCore

@Suite struct ByteBufferTests {
    /// Every chunk starts half a page in, away from OpenSSL's page-aligned record buffers (a copy between buffers
    /// 1–31 bytes apart modulo 4 KiB is over 20 times slower here), new or reused, and chunks beyond the pool's
    /// bound go back to malloc whole.
    @Test func chunksStartHalfAPageInAndGoBackToMallocWhole() throws {
        var pool = BufferPool(maxFreeChunks: 2)
        var chunks: [UnsafeMutableRawPointer] = []
        for _ in 0..<5 {
            let chunk = pool.acquire()
            chunks.append(try #require(chunk))
        }
        for chunk in chunks {
            #expect(UInt(bitPattern: chunk) % UInt(BufferPool.pageSize) == UInt(BufferPool.chunkOffset))
            chunk.storeBytes(of: 0xAB, toByteOffset: BufferPool.chunkSize - 1, as: UInt8.self)
        }
        for chunk in chunks { pool.release(chunk) }
        #expect(pool.freeChunks == 2 && pool.chunksInUse == 0)
        let acquired = pool.acquire()
        let reused = try #require(acquired)
        #expect(UInt(bitPattern: reused) % UInt(BufferPool.pageSize) == UInt(BufferPool.chunkOffset))
        pool.release(reused)
    }

    @Test func appendAndConsumeTrackThePendingRangeAndResetWhenEmpty() {
        var pool = BufferPool(maxFreeChunks: 4)
        var buffer = ByteBuffer()
        #expect(buffer.freeSpace == BufferPool.chunkSize)
        let provided = pool.provide(&buffer)
        #expect(provided)
        buffer.tail.storeBytes(of: 0x41, as: UInt8.self)
        buffer.didAppend(10)
        #expect(buffer.count == 10)
        #expect(buffer.freeSpace == BufferPool.chunkSize - 10)
        buffer.didConsume(4)
        #expect(buffer.count == 6)
        buffer.didConsume(6)
        #expect(buffer.isEmpty)
        #expect(buffer.freeSpace == BufferPool.chunkSize)
        pool.reclaimIfEmpty(&buffer)
        #expect(!buffer.hasChunk)
    }

    @Test func compactionMovesPendingBytesToTheFrontOnlyWhenTheTailIsFull() {
        var pool = BufferPool(maxFreeChunks: 4)
        var buffer = ByteBuffer()
        let provided = pool.provide(&buffer)
        #expect(provided)
        for index in 0..<BufferPool.chunkSize {
            (buffer.tail + index).storeBytes(of: UInt8(index % 251), as: UInt8.self)
        }
        buffer.didAppend(BufferPool.chunkSize)
        buffer.didConsume(100)
        #expect(buffer.freeSpace == 0)
        buffer.compactIfFull()
        #expect(buffer.count == BufferPool.chunkSize - 100)
        #expect(buffer.freeSpace == 100)
        #expect(buffer.pending.load(as: UInt8.self) == UInt8(100 % 251))
        #expect(buffer.pending.load(fromByteOffset: 500, as: UInt8.self) == UInt8(600 % 251))
    }

    @Test func poolReusesReturnedChunksAndKeepsAtMostItsLimit() {
        var pool = BufferPool(maxFreeChunks: 1)
        let first = pool.acquire()!
        let second = pool.acquire()!
        #expect(pool.chunksInUse == 2)
        pool.release(first)
        pool.release(second)
        #expect(pool.freeChunks == 1)
        #expect(pool.acquire() == first)
        #expect(pool.chunksInUse == 1)
    }

    @Test func reclaimDropsPendingBytesOfAClosingConnection() {
        var pool = BufferPool(maxFreeChunks: 4)
        var buffer = ByteBuffer()
        let provided = pool.provide(&buffer)
        #expect(provided)
        buffer.didAppend(5)
        pool.reclaim(&buffer)
        #expect(!buffer.hasChunk)
        #expect(pool.chunksInUse == 0)
    }
}
