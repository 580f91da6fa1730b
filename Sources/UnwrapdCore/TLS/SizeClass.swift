/// The size classes: multiples of 16 bytes up to 256 (carved from `SmallBlockArena`), and 1 KiB steps above 16 KiB
/// up to 32 KiB (OpenSSL's record buffers: 16 712 bytes to read, 16 492 to write, so both share one class; malloc
/// blocks) — 32 classes in all. Sizes in between are `MallocChunkClass`'s.
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
