import CUnwrapdShims

extension UnsafeMutablePointer where Pointee == WorkerContext {
    /// Starts re-resolving `host`/`port` every `seconds` (hitch's `--backend-refresh`).
    func startBackendRefresh(host: String, port: String, every seconds: Double) {
        let context = UnsafeMutablePointer<BackendRefresh>.allocate(capacity: 1)
        context.initialize(to: BackendRefresh(worker: self, host: host, port: port))
        let timer = pointer(to: \.backendRefreshTimer)!
        unwrapd_ev_timer_init(timer, onBackendRefresh, seconds, seconds)
        timer.pointee.data = UnsafeMutableRawPointer(context)
        ev_timer_start(pointee.loop, timer)
    }
}

/// What a backend refresh needs: the worker and the name to resolve.
struct BackendRefresh {
    let worker: UnsafeMutablePointer<WorkerContext>
    let host: String
    let port: String

    /// Resolves the name again and, when it succeeds, makes new connections use the new addresses. A failed
    /// lookup keeps the previous addresses. The lookup blocks this worker for its duration, as in hitch.
    func refresh() {
        let addresses: [SocketAddress]
        do {
            addresses = try SocketAddress.resolve(host: host, port: port, passive: false)
        } catch {
            Log.error("backend-refresh: \(error); keeping the previous addresses")
            return
        }
        let current = worker.pointee.backend
        let replacement = UnsafeMutableBufferPointer<SocketAddress>.allocate(capacity: addresses.count)
        _ = replacement.initialize(from: addresses)
        worker.pointee.backend = BackendTarget(addresses: replacement, name: current.name, isTCP: current.isTCP)
        current.addresses.deallocate()
        Log.debug("backend-refresh: \(current.name) is \(addresses.map(\.description).joined(separator: ", "))")
    }
}

/// The backend refresh timer fired.
private func onBackendRefresh(_ loop: OpaquePointer?, _ timer: UnsafeMutablePointer<ev_timer>?, _ events: Int32) {
    timer!.pointee.data.assumingMemoryBound(to: BackendRefresh.self).pointee.refresh()
}
