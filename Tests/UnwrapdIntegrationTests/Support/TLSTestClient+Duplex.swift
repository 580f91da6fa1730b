import COpenSSL
import CUnwrapdShims
import Glibc

/// What `TLSTestClient.transferDuplex` moved: the bytes sent (count and SHA-256) and the stream received.
struct DuplexTransfer: Sendable, Equatable {
    let sentCount: Int
    let sentSHA256: String
    /// Everything the peer sent, up to the end of its stream, and how it ended it.
    let received: HashedStream
}

extension TLSTestClient {
    /// Sends `count` bytes of `PseudoRandomStream(seed:)` and, at the same time, reads (hashing, not keeping)
    /// everything the peer sends, until the peer ends its stream. After the last byte it sends close_notify when
    /// `thenCloseNotify` (the peer's end may come before or after that).
    ///
    /// One `SSL*` must not be used from two threads, so this runs on the calling thread: the socket is made
    /// nonblocking for the call, `SSL_write` and `SSL_read` alternate, and when neither can move, one `poll(2)`
    /// waits for what the blocked calls asked for (`SSL_ERROR_WANT_READ`/`WANT_WRITE`: either call may want
    /// either readiness). A write that wants to be retried is retried with the same bytes, as OpenSSL requires.
    /// The whole transfer is bounded by `timeout`; throws `TLSClientError` when a call fails, `TimeoutError` at
    /// the timeout.
    func transferDuplex(
        sending count: Int, seed: UInt64, thenCloseNotify: Bool = true, timeout: Duration = .seconds(30)
    ) throws -> DuplexTransfer {
        let ssl = opaqueSSL
        let flags = unwrapd_fcntl_get_flags(fd)
        _ = unwrapd_fcntl_set_flags(fd, flags | O_NONBLOCK)
        defer { _ = unwrapd_fcntl_set_flags(fd, flags) }

        let chunkSize = 1 << 16
        let outgoing = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        let incoming = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer {
            outgoing.deallocate()
            incoming.deallocate()
        }
        let stream = PseudoRandomStream(seed: seed)
        let sentHasher = SHA256Hasher()
        let receivedHasher = SHA256Hasher()
        let deadline = Deadline.after(timeout)

        var produced = 0  // bytes taken from the stream into `outgoing`
        var chunkStart = 0  // `outgoing[chunkStart..<chunkEnd]` is not sent yet
        var chunkEnd = 0
        var closeNotifySent = !thenCloseNotify
        var receivedCount = 0
        var end: StreamEnd?
        var writeWaitsFor: Int16 = 0  // poll events the blocked write (or shutdown) waits for; 0: not blocked
        var readWaitsFor: Int16 = 0

        while true {
            var progressed = false

            if writeWaitsFor == 0 {
                if chunkStart == chunkEnd && produced < count {
                    let size = min(chunkSize, count - produced)
                    let part = UnsafeMutableRawBufferPointer(rebasing: outgoing[0..<size])
                    stream.fill(part)
                    sentHasher.update(UnsafeRawBufferPointer(part))
                    chunkStart = 0
                    chunkEnd = size
                    produced += size
                }
                if chunkStart < chunkEnd {
                    OpenSSLErrorQueue.clear()
                    let result = SSL_write(ssl, outgoing.baseAddress! + chunkStart, Int32(chunkEnd - chunkStart))
                    if result > 0 {
                        chunkStart += Int(result)
                        progressed = true
                    } else if let wait = Self.pollEvents(for: SSL_get_error(ssl, result)) {
                        writeWaitsFor = wait
                    } else {
                        throw failure("write (duplex, \(produced - (chunkEnd - chunkStart)) of \(count) sent)", result)
                    }
                } else if !closeNotifySent {
                    OpenSSLErrorQueue.clear()
                    let result = SSL_shutdown(ssl)
                    if result >= 0 {
                        closeNotifySent = true
                        progressed = true
                    } else if let wait = Self.pollEvents(for: SSL_get_error(ssl, result)) {
                        writeWaitsFor = wait
                    } else {
                        throw failure("shutdown (duplex)", result)
                    }
                }
            }

            if end == nil && readWaitsFor == 0 {
                OpenSSLErrorQueue.clear()
                let result = SSL_read(ssl, incoming.baseAddress, Int32(incoming.count))
                if result > 0 {
                    receivedHasher.update(UnsafeRawBufferPointer(rebasing: incoming[0..<Int(result)]))
                    receivedCount += Int(result)
                    progressed = true
                } else {
                    let code = SSL_get_error(ssl, result)
                    if let wait = Self.pollEvents(for: code) {
                        readWaitsFor = wait
                    } else if code == SSL_ERROR_ZERO_RETURN {
                        end = .closeNotify
                        progressed = true
                    } else {
                        let error = failure("read (duplex, \(receivedCount) bytes received)", result)
                        switch error.reason {
                        case .connectionClosed where error.receivedAlert == nil: end = .eof
                        case .connectionReset: end = .reset
                        default: throw error
                        }
                        progressed = true
                    }
                }
            }

            let sendingDone = produced == count && chunkStart == chunkEnd && closeNotifySent
            if sendingDone && end != nil { break }
            if progressed { continue }

            var events: Int16 = 0
            if !sendingDone { events |= writeWaitsFor }
            if end == nil { events |= readWaitsFor }
            guard try Sockets.waitFor(fd, events: events, deadline: deadline) else {
                throw TimeoutError(
                    waitingFor: "a duplex transfer with \(endpoint) to finish", timeout: timeout,
                    details: "sent \(produced - (chunkEnd - chunkStart)) of \(count) bytes"
                        + (closeNotifySent ? " and close_notify" : "")
                        + ", received \(receivedCount) bytes" + (end.map { " and \($0)" } ?? ""))
            }
            // Either readiness may unblock either call: retry both.
            writeWaitsFor = 0
            readWaitsFor = 0
        }
        return DuplexTransfer(
            sentCount: count, sentSHA256: sentHasher.hexDigest,
            received: HashedStream(byteCount: receivedCount, sha256: receivedHasher.hexDigest, end: end!))
    }

    /// The `poll(2)` events an `SSL_ERROR_WANT_*` code asks for; nil for any other code.
    private static func pollEvents(for code: Int32) -> Int16? {
        switch code {
        case SSL_ERROR_WANT_READ: Int16(POLLIN)
        case SSL_ERROR_WANT_WRITE: Int16(POLLOUT)
        default: nil
        }
    }
}
