import Glibc

/// One OCSP request over HTTP to a responder, blocking, bounded by hitch's two timeouts: `ocsp-connect-tmo` for the
/// TCP connection (per address the name resolves to) and `ocsp-resp-tmo` for the whole answer after it. Runs only
/// in the fetcher process, never in a worker.
struct OCSPResponderClient {
    let connectTimeout: Double
    let responseTimeout: Double

    /// The body of the responder's answer to the DER-encoded `request`.
    func exchange(_ request: [UInt8], with url: OCSPResponderURL) throws(OCSPFetchError) -> [UInt8] {
        let addresses: [SocketAddress]
        do {
            addresses = try SocketAddress.resolve(host: url.host, port: url.port, passive: false)
        } catch {
            throw .unresolvable(error.description)
        }
        let descriptor = try connect(to: addresses)
        defer { close(descriptor) }
        let deadline = MonotonicClock.now() + responseTimeout
        try send(OCSPHTTPExchange.request(to: url, body: request), on: descriptor, before: deadline)
        return try receive(on: descriptor, before: deadline)
    }

    /// A connected nonblocking socket to the first of `addresses` that accepts in time.
    private func connect(to addresses: [SocketAddress]) throws(OCSPFetchError) -> Int32 {
        var failure = OCSPFetchError.unresolvable("no address")
        for address in addresses {
            let descriptor = socket(
                address.family,
                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                    | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { throw .system(SystemError("socket", address.description)) }
            if address.withSockAddr({ Glibc.connect(descriptor, $0, $1) }) == 0 { return descriptor }
            var code = errno
            if code == EINPROGRESS {
                switch wait(for: Int16(POLLOUT), on: descriptor, before: MonotonicClock.now() + connectTimeout) {
                case .ready:
                    code = SocketOptions.pendingError(descriptor)
                    if code == 0 { return descriptor }
                case .timedOut:
                    close(descriptor)
                    failure = .connectTimedOut(address: address.description, seconds: connectTimeout)
                    continue
                case .failed(let error): code = error
                }
            }
            close(descriptor)
            failure = .system(SystemError("connect", address.description, code: code))
        }
        throw failure
    }

    private func send(_ bytes: [UInt8], on descriptor: Int32, before deadline: Double) throws(OCSPFetchError) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
            }
            if count > 0 {
                sent += count
                continue
            }
            guard errno == EAGAIN || errno == EINTR else { throw .system(SystemError("send", "the OCSP request")) }
            try awaitAnswer(Int16(POLLOUT), on: descriptor, before: deadline, for: "the OCSP request")
        }
    }

    private func receive(on descriptor: Int32, before deadline: Double) throws(OCSPFetchError) -> [UInt8] {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count >= 0 {
                received += chunk[..<count]
                if case .body(let body) = try OCSPHTTPExchange.read(received, ended: count == 0) { return body }
                continue
            }
            guard errno == EAGAIN || errno == EINTR else { throw .system(SystemError("recv", "the OCSP response")) }
            try awaitAnswer(Int16(POLLIN), on: descriptor, before: deadline, for: "the OCSP response")
        }
    }

    /// Waits for `events` within `ocsp-resp-tmo`: its end, or a failed poll(2), is an error naming `what`.
    private func awaitAnswer(
        _ events: Int16, on descriptor: Int32, before deadline: Double, for what: String
    ) throws(OCSPFetchError) {
        switch wait(for: events, on: descriptor, before: deadline) {
        case .ready: return
        case .timedOut: throw .responseTimedOut(seconds: responseTimeout)
        case .failed(let code): throw .system(SystemError("poll", what, code: code))
        }
    }

    /// How waiting for a socket ended.
    private enum Wait {
        case ready
        case timedOut
        case failed(Int32)
    }

    private func wait(for events: Int16, on descriptor: Int32, before deadline: Double) -> Wait {
        while true {
            let remaining = deadline - MonotonicClock.now()
            guard remaining > 0 else { return .timedOut }
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let result = poll(&entry, 1, Int32(min(remaining * 1000, 3_600_000)) + 1)
            if result > 0 { return .ready }
            if result < 0 && errno != EINTR { return .failed(errno) }
        }
    }
}
