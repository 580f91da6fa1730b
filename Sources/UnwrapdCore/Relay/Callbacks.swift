import CUnwrapdShims
import Glibc

// The functions libev calls. Each finds its connection through the watcher's `data` pointer: no lookup, no
// allocation, no reference counting.

/// The client socket is readable or writable.
func onClientEvent(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_io>?, _ events: Int32) {
    let connection = watcher!.pointee.data.assumingMemoryBound(to: Connection.self)
    if events & IOEvents.read != 0 { connection.pointee.flags.insert(.clientReadable) }
    if events & IOEvents.write != 0 { connection.pointee.flags.insert(.clientWritable) }
    switch connection.pointee.phase {
    case .readingProxyHeader: _ = connection.readProxyHeader()
    case .handshaking: _ = connection.continueHandshake()
    case .connectingBackend: connection.setInterest(watcher!, 0)
    case .streaming: _ = connection.pump()
    case .lingering: _ = connection.drainRefusedClient()
    }
}

/// The backend socket is readable or writable (while connecting: the connect finished).
func onBackendEvent(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_io>?, _ events: Int32) {
    let connection = watcher!.pointee.data.assumingMemoryBound(to: Connection.self)
    if connection.pointee.phase == .connectingBackend {
        _ = connection.finishBackendConnect()
        return
    }
    if events & IOEvents.read != 0 { connection.pointee.flags.insert(.backendReadable) }
    if events & IOEvents.write != 0 { connection.pointee.flags.insert(.backendWritable) }
    _ = connection.pump()
}

/// The loop is about to wait for events: the client writes deferred during this iteration go out now.
func onLoopPrepare(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_prepare>?, _ events: Int32) {
    watcher!.pointee.data.assumingMemoryBound(to: WorkerContext.self).flushDeferredWrites()
}

/// The hold timer fired: the waits it was armed for are over. The loop's next flush (it runs before the loop waits
/// again) sends what waited.
func onHoldTimer(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_io>?, _ events: Int32) {
    let worker = watcher!.pointee.data.assumingMemoryBound(to: WorkerContext.self)
    var expirations: UInt64 = 0
    _ = read(worker.pointee.holdTimer.descriptor, &expirations, MemoryLayout<UInt64>.size)
    worker.pointee.holdTimer.deadline = 0
}

/// The loop has waited for events after a flush: client writes may be deferred again.
func onLoopCheck(_ loop: OpaquePointer?, _ watcher: UnsafeMutablePointer<ev_check>?, _ events: Int32) {
    watcher!.pointee.data.assumingMemoryBound(to: WorkerContext.self).reopenDeferrals()
}

/// The connection's timer: the handshake or the backend connect took too long, or (streaming) the session ticket
/// has waited long enough for a response to share its segment.
func onConnectionTimeout(_ loop: OpaquePointer?, _ timer: UnsafeMutablePointer<ev_timer>?, _ events: Int32) {
    let connection = timer!.pointee.data.assumingMemoryBound(to: Connection.self)
    let worker = connection.pointee.worker.pointee
    switch connection.pointee.phase {
    case .readingProxyHeader, .handshaking:
        _ = connection.close(.handshakeTimedOut(seconds: worker.handshakeTimeout))
    case .connectingBackend:
        _ = connection.close(.backendConnectTimedOut(seconds: worker.connectTimeout))
    case .streaming:
        connection.pushClientOutput()
        connection.stopTimer()
    case .lingering:
        _ = connection.close(.refusalDelivered)
    }
}
