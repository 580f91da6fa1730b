/// The classes of OpenSSL's in-between blocks (257 bytes to 16 KiB: the `SSL` object, cipher and key-derivation
/// contexts, the handshake's buffering BIO): one per size of chunk glibc's malloc hands out for them, in its 16-byte
/// steps, so that a recycled block is exactly the block malloc would have returned — no rounding up, and an idle
/// connection's long-lived blocks cost what they cost before.
///
/// Why: a full TLS 1.3 handshake takes and gives back 26 of these (`Tests/Benchmarks/README.md`), most of them
/// larger than glibc's per-thread cache takes (1 032 bytes, and at most 7 blocks of a size), so they went through
/// malloc's bins and the consolidation of its free chunks; with their own free lists they are a pop and a push.
struct MallocChunkClass: Equatable {
    /// glibc's chunk header: a chunk of `n` bytes holds `n - 8` (x86-64, `SIZE_SZ`).
    static let header = 8
    static let step = 16
    static let smallestRequest = SizeClass.smallLimit + 1
    static let largestRequest = SizeClass.largeBase
    /// `chunkSize(holding: smallestRequest)`, and the number of classes up to `largestRequest`'s chunk (16 400
    /// bytes); literals, so that reading them costs no lazy initialisation (a test checks them).
    static let smallestChunk = 272
    static let count = 1009
    /// What the smallest class's blocks hold: a malloc block that holds less is a small one.
    static let smallestUsable = smallestChunk - header

    let index: Int

    init(index: Int) { self.index = index }

    /// The class of the chunk malloc returns for `size` bytes; `nil` for a size outside the in-between range.
    @inline(__always)
    init?(fitting size: Int) {
        guard size >= MallocChunkClass.smallestRequest && size <= MallocChunkClass.largestRequest else { return nil }
        index = (MallocChunkClass.chunkSize(holding: size) - MallocChunkClass.smallestChunk) / MallocChunkClass.step
    }

    /// The largest class no bigger than a malloc block of `usable` bytes (`malloc_usable_size`); `nil` for a block
    /// that holds less than the smallest class or more than the largest.
    @inline(__always)
    init?(holdingAtMost usable: Int) {
        let chunk = usable + MallocChunkClass.header
        guard chunk >= MallocChunkClass.smallestChunk else { return nil }
        let index = (chunk - MallocChunkClass.smallestChunk) / MallocChunkClass.step
        guard index < MallocChunkClass.count else { return nil }
        self.index = index
    }

    /// The bytes a block of the class holds.
    @inline(__always)
    var usableSize: Int { MallocChunkClass.smallestChunk + index * MallocChunkClass.step - MallocChunkClass.header }

    /// glibc's chunk for a request of `size` bytes: the size plus the header, rounded up to the 16-byte step.
    @inline(__always)
    static func chunkSize(holding size: Int) -> Int { (size + header + step - 1) & ~(step - 1) }
}
