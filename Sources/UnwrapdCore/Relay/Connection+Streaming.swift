import COpenSSL
import CUnwrapdShims
import Glibc

extension UnsafeMutablePointer where Pointee == Connection {
    /// Moves bytes both ways until nothing can move without waiting, then waits for exactly what would let the
    /// stalled steps go on.
    ///
    /// Each direction has a source and a sink: client (`SSL_read`) → `toBackend` → backend (`send`), and backend
    /// (`recv`) → `toClient` → client (`SSL_write`). A full buffer stops its source (back-pressure: memory per
    /// connection is bounded by the two chunks); an empty one is returned to the pool. Readiness flags are set by
    /// events and cleared by "would block" or by a short read (fewer bytes than there was room for: the socket is
    /// drained, and the level-triggered watcher reports it again if more arrives, which saves the read(2) that
    /// would only say EAGAIN). Data OpenSSL already buffered (`SSL_has_pending`) is never left behind. The
    /// connection ends once each side's end of stream has been passed on to the other.
    ///
    /// A sink that more bytes will follow at once holds back a partly filled segment, so that a stream's records
    /// share TCP segments (`Connection+Corking.swift`); the call ends by sending what is held, and also a session
    /// ticket that waited in the client socket for this call's response.
    ///
    /// At most `pumpRounds` rounds per event, so that one busy connection cannot hold up the others. What is left
    /// is picked up at the next loop iteration: the connection feeds its client watcher an event, since bytes
    /// OpenSSL already holds would not wake a socket watcher. What one short backend read brought may wait for the
    /// end of the loop iteration (`DeferredWrites.swift`).
    func pump() -> StepOutcome {
        var progressed = true
        var rounds = 0
        var clientWritten = false
        while progressed && rounds < Connection.pumpRounds {
            progressed = false
            rounds += 1
            if canReadClient {
                switch readClient() {
                case .moved: progressed = true
                case .closed: return .closed
                case .blocked: break
                }
            }
            if !pointee.toBackend.isEmpty && pointee.flags.contains(.backendWritable) {
                switch writeBackend() {
                case .moved: progressed = true
                case .closed: return .closed
                case .blocked: break
                }
            }
            if pointee.flags.contains(.clientInputDone) && pointee.toBackend.isEmpty
                && !pointee.flags.contains(.backendOutputShut)
            {
                // With the other direction finished, close(2) follows in this call and sends the same FIN.
                if !pointee.flags.isSuperset(of: [.backendInputDone, .clientOutputShut]) {
                    shutdown(pointee.backendDescriptor, Int32(SHUT_WR))
                }
                pointee.flags.insert(.backendOutputShut)
            }
            if !pointee.flags.contains(.backendInputDone) && pointee.flags.contains(.backendReadable) {
                let wasEmpty = pointee.toClient.isEmpty
                switch readBackend() {
                case .moved:
                    progressed = true
                    if wasEmpty { deferClientWriteAfterShortRead() }
                case .closed: return .closed
                case .blocked: break
                }
            }
            if canWriteClient {
                clientWritten = true
                switch pointee.toClient.isEmpty ? sendCloseNotify() : writeClient() {
                case .moved: progressed = true
                case .closed: return .closed
                case .blocked: break
                }
            }
        }
        // close(2) sends what the sockets hold.
        if pointee.flags.isSuperset(of: .bothDirectionsFinished) {
            return close(.finished)
        }
        releaseHeldOutput(clientWritten: clientWritten)
        releaseEmptyChunks()
        waitForProgress()
        if progressed { ev_feed_event(loop, clientWatcher, IOEvents.resume) }
        return .open
    }

    /// The result of one step of `pump`.
    private enum Step {
        case moved
        case blocked
        case closed
    }

    /// The client may have bytes for the backend, and there is room for them.
    private var canReadClient: Bool {
        let flags = pointee.flags
        // Room once the buffer is compacted: fewer pending bytes than a chunk holds.
        guard !flags.contains(.clientInputDone), pointee.toBackend.count < BufferPool.chunkSize else { return false }
        let ready =
            flags.contains(.tlsReadNeedsWrite) ? flags.contains(.clientWritable) : flags.contains(.clientReadable)
        return ready || SSL_has_pending(pointee.ssl) == 1
    }

    /// There is something to send the client now: bytes, or the close_notify that follows the backend's EOF, and
    /// no deferral holds them back.
    private var hasOutputForClient: Bool {
        let flags = pointee.flags
        guard !flags.contains(.clientWriteDeferred) else { return false }
        return !pointee.toClient.isEmpty || (flags.contains(.backendInputDone) && !flags.contains(.clientOutputShut))
    }

    /// There is output for the client and the socket may take it.
    private var canWriteClient: Bool {
        let flags = pointee.flags
        guard hasOutputForClient else { return false }
        return flags.contains(.tlsWriteNeedsRead) ? flags.contains(.clientReadable) : flags.contains(.clientWritable)
    }

    private func readClient() -> Step {
        pointee.toBackend.compactIfFull()
        guard pointee.worker.pointee.pool.provide(&pointee.toBackend) else { return closeStep(.outOfMemory) }
        let room = pointee.toBackend.freeSpace
        let outcome = DataPath.tlsRead(pointee.ssl!, into: pointee.toBackend.tail, count: room)
        pointee.flags.remove(.tlsReadNeedsWrite)
        switch outcome {
        case .moved(let count):
            pointee.toBackend.didAppend(count)
            if count < room && SSL_has_pending(pointee.ssl) == 0 { pointee.flags.remove(.clientReadable) }
            return .moved
        case .needsRead:
            pointee.flags.remove(.clientReadable)
            return .blocked
        case .needsWrite:
            pointee.flags.remove(.clientWritable)
            pointee.flags.insert(.tlsReadNeedsWrite)
            return .blocked
        case .ended:
            pointee.flags.insert(.clientInputDone)
            return .moved
        case .failed, .tlsError:
            return closeStep(.clientFailed(outcome))
        }
    }

    private func writeBackend() -> Step {
        corkBackendIfMoreFollows()
        switch DataPath.socketWrite(
            pointee.backendDescriptor, from: pointee.toBackend.pending, count: pointee.toBackend.count)
        {
        case .moved(let count):
            pointee.toBackend.didConsume(count)
            return .moved
        case .needsWrite:
            pointee.flags.remove(.backendWritable)
            return .blocked
        case .failed(let code):
            return closeStep(.backendFailed(operation: "send", errno: code))
        case .needsRead, .ended, .tlsError:
            return .blocked
        }
    }

    private func readBackend() -> Step {
        pointee.toClient.compactIfFull()
        guard pointee.toClient.freeSpace > 0 else { return .blocked }
        guard pointee.worker.pointee.pool.provide(&pointee.toClient) else { return closeStep(.outOfMemory) }
        let room = pointee.toClient.freeSpace
        switch DataPath.socketRead(pointee.backendDescriptor, into: pointee.toClient.tail, count: room) {
        case .moved(let count):
            pointee.toClient.didAppend(count)
            if count < room { pointee.flags.remove(.backendReadable) }
            return .moved
        case .needsRead:
            pointee.flags.remove(.backendReadable)
            return .blocked
        case .ended:
            pointee.flags.insert(.backendInputDone)
            return .moved
        case .failed(let code):
            return closeStep(.backendFailed(operation: "recv", errno: code))
        case .needsWrite, .tlsError:
            return .blocked
        }
    }

    private func writeClient() -> Step {
        holdClientOutputIfMoreFollows()
        let outcome = DataPath.tlsWrite(pointee.ssl!, from: pointee.toClient.pending, count: pointee.toClient.count)
        return afterClientWrite(outcome) { count in pointee.toClient.didConsume(count) }
    }

    /// Sends close_notify once everything the backend sent has been delivered (in the segment of the last bytes
    /// when they left in this call: `Connection+Corking.swift`).
    private func sendCloseNotify() -> Step {
        holdNoClientOutput()
        let outcome = DataPath.tlsSendCloseNotify(pointee.ssl!)
        return afterClientWrite(outcome) { _ in pointee.flags.insert(.clientOutputShut) }
    }

    @inline(__always)
    private func afterClientWrite(_ outcome: Transfer, moved: (Int) -> Void) -> Step {
        pointee.flags.remove(.tlsWriteNeedsRead)
        switch outcome {
        case .moved(let count):
            moved(count)
            return .moved
        case .needsWrite:
            pointee.flags.remove(.clientWritable)
            return .blocked
        case .needsRead:
            pointee.flags.remove(.clientReadable)
            pointee.flags.insert(.tlsWriteNeedsRead)
            return .blocked
        case .ended, .failed, .tlsError:
            return closeStep(.clientFailed(outcome))
        }
    }

    private func closeStep(_ reason: CloseReason) -> Step {
        _ = close(reason)
        return .closed
    }

    /// Registers for the events the stalled steps wait for. After `pump`'s loop, every step that still has work
    /// is blocked on exactly one readiness of one socket.
    private func waitForProgress() {
        let flags = pointee.flags
        var client: Int32 = 0
        var backend: Int32 = 0
        if !flags.contains(.clientInputDone) && pointee.toBackend.count < BufferPool.chunkSize {
            client |= flags.contains(.tlsReadNeedsWrite) ? IOEvents.write : IOEvents.read
        }
        if hasOutputForClient {
            client |= flags.contains(.tlsWriteNeedsRead) ? IOEvents.read : IOEvents.write
        }
        if !pointee.toBackend.isEmpty { backend |= IOEvents.write }
        if !flags.contains(.backendInputDone) && pointee.toClient.count < BufferPool.chunkSize {
            backend |= IOEvents.read
        }
        setInterest(clientWatcher, client)
        setInterest(backendWatcher, backend)
    }
}
