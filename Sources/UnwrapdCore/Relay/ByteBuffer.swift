import Glibc

/// The bytes waiting to go one way (client to backend or backend to client): a chunk of `BufferPool.chunkSize`
/// bytes borrowed from the worker's pool while there is data, and the unsent range `start..<end` in it.
///
/// An idle connection holds no chunk (`base == nil`); the relay borrows one before reading and returns it as soon
/// as it is empty. Plain value, no ARC: it lives inside `Connection`.
struct ByteBuffer {
    private(set) var base: UnsafeMutableRawPointer? = nil
    private(set) var start = 0
    private(set) var end = 0

    var isEmpty: Bool { start == end }
    var count: Int { end - start }
    var hasChunk: Bool { base != nil }
    /// Room left after the pending bytes (a missing chunk counts as a whole one: it is borrowed on demand).
    var freeSpace: Int { base == nil ? BufferPool.chunkSize : BufferPool.chunkSize - end }

    /// The pending bytes.
    var pending: UnsafeRawPointer { UnsafeRawPointer(base!) + start }

    /// Where the next bytes go; at least `freeSpace` bytes are writable there.
    var tail: UnsafeMutableRawPointer { base! + end }

    /// Takes `chunk` as storage; the buffer must not hold one.
    mutating func attach(_ chunk: UnsafeMutableRawPointer) {
        precondition(base == nil, "buffer already has a chunk")
        base = chunk
        start = 0
        end = 0
    }

    /// Gives the chunk back (to return it to the pool); the buffer must be empty.
    mutating func detach() -> UnsafeMutableRawPointer? {
        precondition(isEmpty, "detaching a buffer with pending bytes")
        defer { base = nil }
        return base
    }

    /// Marks `count` bytes written at `tail` as pending.
    mutating func didAppend(_ count: Int) {
        end += count
    }

    /// Marks `count` pending bytes as sent; an emptied buffer starts over at offset 0.
    mutating func didConsume(_ count: Int) {
        start += count
        if start == end {
            start = 0
            end = 0
        }
    }

    /// Forgets the pending bytes (the connection is closing and they cannot be delivered).
    mutating func discardPending() {
        start = 0
        end = 0
    }

    /// Moves the pending bytes to the front when the tail is full but bytes before them were already sent,
    /// so that reading can continue. Safe while a TLS write of these bytes is pending: contexts use
    /// `SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER`.
    mutating func compactIfFull() {
        guard let base, end == BufferPool.chunkSize, start > 0 else { return }
        memmove(base, base + start, end - start)
        end -= start
        start = 0
    }
}
