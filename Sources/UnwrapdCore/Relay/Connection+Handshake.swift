import COpenSSL
import CUnwrapdShims
import Glibc

extension UnsafeMutablePointer where Pointee == Connection {
    /// Drives the server handshake one step. When it completes (for a required client certificate: only once the
    /// certificate is verified, which in TLS 1.3 happens after our Finished), the backend connection starts.
    func continueHandshake() -> StepOutcome {
        let ssl = pointee.ssl!
        let outcome = DataPath.tlsHandshake(ssl)
        holdNoClientOutput()  // later writes are not held back; a ticket this step wrote stays held (`TicketHold`)
        switch outcome {
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
        case .tlsError:
            return refuse(.handshakeFailed(.tlsError))
        case let outcome:
            return close(.handshakeFailed(outcome))
        }
    }

    /// Ends a refused handshake without resetting the connection: OpenSSL has sent the alert; log the reason,
    /// shut our side down, and read and drop what the client still sends (in TLS 1.3 its Finished and maybe its
    /// request arrive after the refusal) until it closes or `Connection.lingerSeconds` pass. Closing a socket with
    /// unread bytes would make the kernel send a reset, and the client could lose the alert that says why.
    private func refuse(_ reason: CloseReason) -> StepOutcome {
        log(reason)
        SSL_free(pointee.ssl)
        pointee.ssl = nil
        shutdown(pointee.clientDescriptor, Int32(SHUT_WR))
        pointee.phase = .lingering
        armTimer(Connection.lingerSeconds)
        return drainRefusedClient()
    }

    /// Reads and drops what a refused client sends; closes at its end of stream or on an error.
    func drainRefusedClient() -> StepOutcome {
        let drained = withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 16) { scratch in
            while true {
                switch DataPath.socketRead(pointee.clientDescriptor, into: scratch.baseAddress!, count: scratch.count) {
                case .moved: continue
                case .needsRead: return false
                default: return true
                }
            }
        }
        if drained { return close(.refusalDelivered) }
        setInterest(clientWatcher, IOEvents.read)
        return .open
    }

    private func handshakeCompleted(_ ssl: OpaquePointer) -> StepOutcome {
        Log.debug("\(pointee.clientAddress) on \(pointee.frontend.pointee.name): \(TLSSessionSummary.describe(ssl))")
        setInterest(clientWatcher, 0)
        pointee.phase = .connectingBackend
        armTimer(pointee.worker.pointee.connectTimeout)
        return connectBackend()
    }
}
