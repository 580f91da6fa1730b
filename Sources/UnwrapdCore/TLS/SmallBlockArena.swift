import Glibc

/// The address space OpenSSL's small blocks (the 16 classes up to 256 bytes) are carved from: one reservation,
/// `span` bytes of addresses per class side by side, so that a block's class is its offset over the span.
///
/// Why: most of OpenSSL's ~720 allocations per full handshake are small, and the free path of a malloc block must
/// ask malloc its size (`malloc_usable_size`, which reads the block's header and its neighbour's: cache misses that
/// made it 1 % of a worker's CPU in a full-handshake run). A block from here has no header at all: its class is
/// arithmetic on its address, and an idle connection's small blocks cost their class size, not that plus malloc's
/// 8-byte header and 32-byte minimum. Pages are touched only as blocks are first carved; what was carved stays on
/// the free lists for reuse (like malloc's heap, it does not shrink after a peak). Reserved with `MAP_NORESERVE`
/// and without transparent huge pages; when the reservation is refused (an address-space limit, strict
/// overcommit) or a class's span is used up, small blocks come from malloc, and `OpenSSLAllocator` files them on the
/// same free lists by their usable size.
struct SmallBlockArena {
    /// Addresses per class: 256 MiB, over a million blocks even of the largest small class.
    static let spanShift = 28
    static let span = 1 << spanShift
    static let classCount = SizeClass.smallCount

    /// The first address, and the length of the whole reservation (0: no arena).
    private var base: UInt = 0
    private var length: UInt = 0
    /// Bytes carved so far from each class's span.
    private var carved = InlineArray<16, Int>(repeating: 0)

    /// No arena: every small block comes from malloc. (Trivial, so that a static holding it is initialised at
    /// compile time and its readers pay no lazy-initialisation check.)
    init() {}

    /// Reserves the address space; no arena when the process has an address-space limit (the reservation would
    /// count against it) or the kernel refuses.
    static func reserve() -> SmallBlockArena {
        var arena = SmallBlockArena()
        precondition(arena.carved.count == classCount, "one carved count per small class")
        var limit = rlimit()
        let unlimited = rlim_t.max  // RLIM_INFINITY
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur == unlimited else { return arena }
        let length = span * classCount
        guard
            let start = mmap(
                nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
            start != UnsafeMutableRawPointer(bitPattern: -1)  // MAP_FAILED
        else { return arena }
        _ = madvise(start, length, MADV_NOHUGEPAGE)  // else one 2 MiB page per class at the first block
        arena.base = UInt(bitPattern: start)
        arena.length = UInt(length)
        return arena
    }

    var isReserved: Bool { length != 0 }

    /// The small class of a block carved here; `nil` for any other block (malloc's).
    @inline(__always)
    func classIndex(of block: UnsafeMutableRawPointer) -> Int? {
        let offset = UInt(bitPattern: block) &- base
        return offset < length ? Int(truncatingIfNeeded: offset >> UInt(SmallBlockArena.spanShift)) : nil
    }

    /// A new block of the small class `sizeClass`; `nil` when there is no arena or the class's span is full.
    @inline(__always)
    mutating func carve(_ sizeClass: SizeClass) -> UnsafeMutableRawPointer? {
        let index = sizeClass.index
        let offset = carved[index]
        guard offset + sizeClass.size <= SmallBlockArena.span, length != 0 else { return nil }
        carved[index] = offset + sizeClass.size
        return UnsafeMutableRawPointer(bitPattern: base + UInt(index << SmallBlockArena.spanShift + offset))
    }
}
