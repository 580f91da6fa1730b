import CUnwrapdShims

/// Addresses of a connection's watchers, from field offsets computed once.
///
/// `pointer(to: \.field)` would do, but in a debug build each use instantiates a key path on the heap; these
/// accessors keep even the debug build's data path free of allocations (which the allocation-budget test checks).
extension Connection {
    fileprivate static let clientWatcherOffset = MemoryLayout<Connection>.offset(of: \.clientWatcher)!
    fileprivate static let backendWatcherOffset = MemoryLayout<Connection>.offset(of: \.backendWatcher)!
    fileprivate static let timerOffset = MemoryLayout<Connection>.offset(of: \.timer)!
}

extension UnsafeMutablePointer where Pointee == Connection {
    var clientWatcher: UnsafeMutablePointer<ev_io> { field(Connection.clientWatcherOffset) }
    var backendWatcher: UnsafeMutablePointer<ev_io> { field(Connection.backendWatcherOffset) }
    var timer: UnsafeMutablePointer<ev_timer> { field(Connection.timerOffset) }

    @inline(__always)
    private func field<Field>(_ offset: Int) -> UnsafeMutablePointer<Field> {
        (UnsafeMutableRawPointer(self) + offset).assumingMemoryBound(to: Field.self)
    }
}

/// The shared counters, field by field, from offsets computed once (see above).
extension UnsafeMutablePointer where Pointee == unwrapd_shared_counters {
    private static let openConnectionsOffset = MemoryLayout<unwrapd_shared_counters>.offset(of: \.open_connections)!

    var openConnections: UnsafeMutablePointer<Int> { field(Self.openConnectionsOffset) }

    /// Adds `delta` to a counter (atomically: all workers share it).
    @inline(__always)
    func add(_ delta: Int, to counter: UnsafeMutablePointer<Int>) {
        _ = unwrapd_atomic_add(counter, delta)
    }

    @inline(__always)
    private func field(_ offset: Int) -> UnsafeMutablePointer<Int> {
        (UnsafeMutableRawPointer(self) + offset).assumingMemoryBound(to: Int.self)
    }
}
