import COpenSSL
import CUnwrapdShims

extension UnsafeMutablePointer where Pointee == Connection {
    /// Drives the server handshake one step. When it completes (for a required client certificate: only once the
    /// certificate is verified, which in TLS 1.3 happens after our Finished), the backend connection starts.
    func continueHandshake() -> StepOutcome {
        let ssl = pointee.ssl!
        switch DataPath.tlsHandshake(ssl) {
        case .moved:
            return handshakeCompleted(ssl)
        case .needsRead:
            setInterest(pointer(to: \.clientWatcher)!, IOEvents.read)
            return .open
        case .needsWrite:
            setInterest(pointer(to: \.clientWatcher)!, IOEvents.write)
            return .open
        case let outcome where outcome.isEndOfStream && BIO_number_read(SSL_get_rbio(ssl)) == 0:
            return close(.clientLeftBeforeHandshake)
        case let outcome:
            _ = unwrapd_atomic_add(pointee.worker.pointee.shared.pointer(to: \.handshakes_failed)!, 1)
            return close(.handshakeFailed(outcome))
        }
    }

    private func handshakeCompleted(_ ssl: OpaquePointer) -> StepOutcome {
        let shared = pointee.worker.pointee.shared
        _ = unwrapd_atomic_add(shared.pointer(to: \.handshakes_completed)!, 1)
        let resumed = unwrapd_SSL_session_reused(ssl) != 0
        if resumed { _ = unwrapd_atomic_add(shared.pointer(to: \.sessions_resumed)!, 1) }
        Log.debug("\(pointee.clientAddress) on \(pointee.frontend.pointee.name): \(TLSSessionSummary.describe(ssl))")
        setInterest(pointer(to: \.clientWatcher)!, 0)
        pointee.phase = .connectingBackend
        armTimer(pointee.worker.pointee.connectTimeout)
        return connectBackend()
    }
}
