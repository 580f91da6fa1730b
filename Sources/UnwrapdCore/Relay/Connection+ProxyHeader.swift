import Glibc

extension UnsafeMutablePointer where Pointee == Connection {
    /// `--proxy-proxy`: reads the PROXY header (v1 or v2) that a load balancer sends in clear text before the
    /// client's TLS ClientHello, into `toBackend`, where it waits to be passed on verbatim; then starts the handshake.
    ///
    /// Not one byte after the header is consumed (the TLS bytes stay in the socket for OpenSSL): bytes are peeked,
    /// and only those the parser says belong to the header are read. An incomplete header is consumed as far as it
    /// goes, so a readable socket never means "the same partial header again". Covered by the handshake timeout.
    func readProxyHeader() -> StepOutcome {
        guard pointee.worker.pointee.pool.provide(&pointee.toBackend) else { return close(.outOfMemory) }
        let descriptor = pointee.clientDescriptor
        let received = pointee.toBackend.count
        let room = ProxyHeaderParser.maximumLength - received
        let peeked = recv(descriptor, pointee.toBackend.tail, room, Int32(MSG_PEEK))
        if peeked < 0 {
            if errno == EAGAIN || errno == EINTR {
                setInterest(clientWatcher, IOEvents.read)
                return .open
            }
            return close(.clientFailed(.failed(errno: errno)))
        }
        if peeked == 0 {
            return close(received == 0 ? .clientLeftBeforeHandshake : .proxyHeaderIncomplete)
        }
        let candidate = UnsafeRawBufferPointer(start: pointee.toBackend.pending, count: received + peeked)
        switch ProxyHeaderParser.parse(candidate) {
        case .invalid(let error):
            return close(.proxyHeaderInvalid(error))
        case .needMoreBytes:
            consumeHeaderBytes(peeked)
            setInterest(clientWatcher, IOEvents.read)
            return .open
        case .complete(let length, _):
            consumeHeaderBytes(length - received)
            pointee.phase = .handshaking
            return continueHandshake()
        }
    }

    /// Reads `count` bytes already seen by a peek into `toBackend`.
    private func consumeHeaderBytes(_ count: Int) {
        let read = recv(pointee.clientDescriptor, pointee.toBackend.tail, count, 0)
        if read > 0 { pointee.toBackend.didAppend(read) }
    }

    /// Queues what the backend receives before the client's bytes: our PROXY v1 or v2 header, or the client's
    /// address (`--write-ip`). With `--proxy-proxy` the client's own header is already queued. False when no
    /// buffer is available or the header does not fit in one (a client certificate too large for `proxy-client-cert`).
    func queueBackendPreamble() -> Bool {
        let options = pointee.worker.pointee.header
        if options.mode == .none || options.mode == .passThrough { return true }
        guard pointee.worker.pointee.pool.provide(&pointee.toBackend) else { return false }
        let space = UnsafeMutableRawBufferPointer(start: pointee.toBackend.tail, count: pointee.toBackend.freeSpace)
        let client = pointee.clientAddress
        let written: Int?
        switch options.mode {
        case .clientIP:
            written = ProxyHeader.writeClientIP(client, into: space)
        case .proxyV1:
            let local = SocketAddress.local(of: pointee.clientDescriptor) ?? SocketAddress()
            written = ProxyHeader.writeV1(source: client, destination: local, into: space)
        case .proxyV2:
            let local = SocketAddress.local(of: pointee.clientDescriptor) ?? SocketAddress()
            written = TLSProxyDetails.withConnection(
                ssl: pointee.ssl!, source: client, destination: local,
                includeAuthority: options.includeAuthority, includeCertificatePEM: options.includeClientCertificate
            ) { ProxyHeader.writeV2($0, includingSSL: options.includeSSL, into: space) }
        case .none, .passThrough:
            written = 0
        }
        guard let written else {
            Log.write(.error) { line in
                line.appendClient(client, on: pointee.frontend)
                line.append("the PROXY header does not fit in a buffer")
            }
            return false
        }
        pointee.toBackend.didAppend(written)
        return true
    }
}
