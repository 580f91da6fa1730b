import Glibc

/// One table of the session-ID cache every worker shares (`SharedSessionCache`): a fixed table of serialised
/// sessions in one `MAP_SHARED` mapping the parent creates before forking, behind a process-shared robust mutex.
///
/// Open addressing over `slotCount` slots of `slotSize` bytes: a session ID is looked for in the `probeLength`
/// slots from its hash on, and a new session takes the first free or expired slot there, else the oldest one, so
/// every operation touches at most `probeLength` slots and the table never grows. A session whose serialised form
/// does not fit a slot is refused. A single-use session (a TLS 1.3 stateful ticket's) leaves the table when it is
/// copied out. A worker that dies holding the lock leaves the next one to take it
/// `EOWNERDEAD`: that one empties the table (a slot may be half written) and goes on.
struct SessionTable {
    /// Slots looked at per operation.
    static let probeLength = 8
    /// The longest session ID (`SSL_MAX_SSL_SESSION_ID_LENGTH`).
    static let maximumIDLength = 32
    /// Bytes before the first slot: the mutex and the stamp counter, rounded to a cache line.
    static let headerSize = (MemoryLayout<pthread_mutex_t>.size + 8 + 63) & ~63

    /// A slot's fields, by offset: stamp (UInt64, 0 = empty; the higher, the newer), expiry (Int64, seconds since
    /// the epoch), ID length (UInt8), single use (UInt8, 0 or 1), session length (UInt16), ID (32 bytes), session.
    private enum Slot {
        static let stampOffset = 0
        static let expiryOffset = 8
        static let idLengthOffset = 16
        static let singleUseOffset = 17
        static let sessionLengthOffset = 18
        static let idOffset = 20
        static let sessionOffset = idOffset + SessionTable.maximumIDLength
    }

    private let base: UnsafeMutableRawPointer
    let slotCount: Int
    /// Bytes per slot: the header above and the session.
    let slotSize: Int

    /// The largest serialised session a slot holds.
    var maximumSessionSize: Int { Self.maximumSessionSize(slotSize: slotSize) }

    /// The largest serialised session a slot of `slotSize` bytes holds.
    static func maximumSessionSize(slotSize: Int) -> Int { slotSize - Slot.sessionOffset }

    /// The bytes a table of `sessions` slots of `slotSize` bytes takes.
    static func regionSize(sessions: Int, slotSize: Int) -> Int { headerSize + sessions * slotSize }

    /// A table of `sessions` slots of `slotSize` bytes in a new anonymous shared mapping (pages become memory as
    /// slots are used).
    static func map(sessions: Int, slotSize: Int) throws(StartupError) -> SessionTable {
        let size = regionSize(sessions: sessions, slotSize: slotSize)
        guard
            let region = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
            region != MAP_FAILED
        else { throw .system(SystemError("mmap \(size) bytes for the session cache (session-cache)")) }
        return try SessionTable(region: region, sessions: sessions, slotSize: slotSize)
    }

    /// An empty table of `sessions` slots in `region` (`regionSize(sessions:slotSize:)` zeroed bytes).
    private init(region: UnsafeMutableRawPointer, sessions: Int, slotSize: Int) throws(StartupError) {
        precondition(sessions > 0, "a session table has at least one slot")
        precondition(slotSize > Slot.sessionOffset, "a slot holds its header and a session")
        base = region
        slotCount = sessions
        self.slotSize = slotSize
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        defer { pthread_mutexattr_destroy(&attributes) }
        pthread_mutexattr_setpshared(&attributes, Int32(PTHREAD_PROCESS_SHARED))
        pthread_mutexattr_setrobust(&attributes, Int32(PTHREAD_MUTEX_ROBUST))
        let result = pthread_mutex_init(mutex, &attributes)
        guard result == 0 else { throw .system(SystemError("initialise the session cache's lock", code: result)) }
    }

    /// Stores `session` (serialised) under `id` until `expiry`, in place of an older one with that ID; a
    /// `singleUse` one is dropped when it is first copied out. Returns false when it does not fit a slot or the ID
    /// is longer than TLS allows.
    @discardableResult
    func store(
        id: UnsafeRawBufferPointer, session: UnsafeRawBufferPointer, expiry: Int64, now: Int64, singleUse: Bool
    ) -> Bool {
        guard !id.isEmpty, id.count <= Self.maximumIDLength, session.count <= maximumSessionSize else {
            return false
        }
        guard lock() else { return false }
        defer { unlock() }
        let slot = find(id) ?? freeSlot(for: id, now: now)
        stampCounter += 1
        slot.storeBytes(of: stampCounter, toByteOffset: Slot.stampOffset, as: UInt64.self)
        slot.storeBytes(of: expiry, toByteOffset: Slot.expiryOffset, as: Int64.self)
        slot.storeBytes(of: UInt8(id.count), toByteOffset: Slot.idLengthOffset, as: UInt8.self)
        slot.storeBytes(of: singleUse ? 1 : 0, toByteOffset: Slot.singleUseOffset, as: UInt8.self)
        slot.storeBytes(of: UInt16(session.count), toByteOffset: Slot.sessionLengthOffset, as: UInt16.self)
        (slot + Slot.idOffset).copyMemory(from: id.baseAddress!, byteCount: id.count)
        (slot + Slot.sessionOffset).copyMemory(from: session.baseAddress!, byteCount: session.count)
        return true
    }

    /// Copies the session stored under `id` into `buffer` (at least `maximumSessionSize` bytes) and returns its
    /// length; `nil` when there is none or it expired before `now` (it is then dropped). A single-use session is
    /// dropped as it is copied.
    func copySession(id: UnsafeRawBufferPointer, now: Int64, into buffer: UnsafeMutableRawPointer) -> Int? {
        guard !id.isEmpty, id.count <= Self.maximumIDLength else { return nil }
        guard lock() else { return nil }
        defer { unlock() }
        guard let slot = find(id) else { return nil }
        guard slot.load(fromByteOffset: Slot.expiryOffset, as: Int64.self) > now else {
            clear(slot)
            return nil
        }
        let length = Int(slot.load(fromByteOffset: Slot.sessionLengthOffset, as: UInt16.self))
        buffer.copyMemory(from: slot + Slot.sessionOffset, byteCount: length)
        if slot.load(fromByteOffset: Slot.singleUseOffset, as: UInt8.self) != 0 { clear(slot) }
        return length
    }

    /// Drops the session stored under `id`, if any.
    func remove(id: UnsafeRawBufferPointer) {
        guard !id.isEmpty, id.count <= Self.maximumIDLength else { return }
        guard lock() else { return }
        defer { unlock() }
        if let slot = find(id) { clear(slot) }
    }

    // MARK: - The table (callers hold the lock)

    private var mutex: UnsafeMutablePointer<pthread_mutex_t> { base.assumingMemoryBound(to: pthread_mutex_t.self) }

    /// The last stamp given; stamps order the slots by age.
    private var stampCounter: UInt64 {
        get { base.load(fromByteOffset: MemoryLayout<pthread_mutex_t>.size, as: UInt64.self) }
        nonmutating set {
            base.storeBytes(of: newValue, toByteOffset: MemoryLayout<pthread_mutex_t>.size, as: UInt64.self)
        }
    }

    private func slot(_ index: Int) -> UnsafeMutableRawPointer { base + Self.headerSize + index * slotSize }

    /// Where `id`'s probe starts: the index of the first of the `probeCount` slots it may be in (wrapping around).
    private func firstProbe(_ id: UnsafeRawBufferPointer) -> Int {
        // FNV-1a: server-made IDs are random, so any mixing would do; this one also spreads short ones.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(hash % UInt64(slotCount))
    }

    /// Slots looked at per operation: `probeLength`, or the whole table when it is smaller.
    private var probeCount: Int { min(Self.probeLength, slotCount) }

    /// The `step`th slot of the probe that starts at index `first`.
    private func probeSlot(_ first: Int, _ step: Int) -> UnsafeMutableRawPointer { slot((first + step) % slotCount) }

    // The two walks below count steps in `while` loops: a lookup runs in a handshake and must allocate nothing,
    // and a lazily mapped sequence of slots took a heap context per lookup (seen with gdb on malloc).

    private func find(_ id: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer? {
        let first = firstProbe(id)
        var step = 0
        while step < probeCount {
            let slot = probeSlot(first, step)
            if slot.load(fromByteOffset: Slot.stampOffset, as: UInt64.self) != 0
                && Int(slot.load(fromByteOffset: Slot.idLengthOffset, as: UInt8.self)) == id.count
                && memcmp(slot + Slot.idOffset, id.baseAddress!, id.count) == 0
            {
                return slot
            }
            step += 1
        }
        return nil
    }

    /// An empty or expired slot for `id`, else the oldest one it may be in.
    private func freeSlot(for id: UnsafeRawBufferPointer, now: Int64) -> UnsafeMutableRawPointer {
        let first = firstProbe(id)
        var oldest = probeSlot(first, 0)
        var step = 0
        while step < probeCount {
            let slot = probeSlot(first, step)
            let stamp = slot.load(fromByteOffset: Slot.stampOffset, as: UInt64.self)
            if stamp == 0 || slot.load(fromByteOffset: Slot.expiryOffset, as: Int64.self) <= now { return slot }
            if stamp < oldest.load(fromByteOffset: Slot.stampOffset, as: UInt64.self) { oldest = slot }
            step += 1
        }
        return oldest
    }

    private func clear(_ slot: UnsafeMutableRawPointer) {
        slot.storeBytes(of: 0, toByteOffset: Slot.stampOffset, as: UInt64.self)
    }

    /// Takes the lock; false (the cache is passed by) should it ever fail otherwise than by its owner's death.
    /// Internal for the test of a worker that dies holding it.
    func lock() -> Bool {
        switch pthread_mutex_lock(mutex) {
        case 0:
            return true
        case EOWNERDEAD:
            // The worker that held the lock died, perhaps in the middle of a slot: start afresh.
            pthread_mutex_consistent(mutex)
            for index in 0..<slotCount { clear(slot(index)) }
            Log.error("the session cache's lock was held by a worker that died: the cache was emptied")
            return true
        case let error:
            Log.error("the session cache is passed by: \(SystemError("lock it", code: error))")
            return false
        }
    }

    func unlock() { pthread_mutex_unlock(mutex) }
}
