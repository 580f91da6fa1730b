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
            setInterest(clientWatcher, IOEvents.read)
            return .open
        case .needsWrite:
            setInterest(clientWatcher, IOEvents.write)
            return .open
        case let outcome where outcome.isEndOfStream && BIO_number_read(SSL_get_rbio(ssl)) == 0:
            return close(.clientLeftBeforeHandshake)
        case let outcome:
            pointee.worker.pointee.shared.add(1, to: pointee.worker.pointee.shared.handshakesFailed)
            return close(.handshakeFailed(outcome))
        }
    }

    private func handshakeCompleted(_ ssl: OpaquePointer) -> StepOutcome {
        let shared = pointee.worker.pointee.shared
        shared.add(1, to: shared.handshakesCompleted)
        let resumed = unwrapd_SSL_session_reused(ssl) != 0
        if resumed { shared.add(1, to: shared.sessionsResumed) }
        Log.debug("\(pointee.clientAddress) on \(pointee.frontend.pointee.name): \(TLSSessionSummary.describe(ssl))")
        setInterest(clientWatcher, 0)
        pointee.phase = .connectingBackend
        armTimer(pointee.worker.pointee.connectTimeout)
        return connectBackend()
    }
}
