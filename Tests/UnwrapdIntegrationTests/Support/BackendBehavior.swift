/// What a `TestBackend` does with each connection it accepts. Whatever the behavior, every connection counts
/// and hashes (SHA-256) all bytes it receives, and keeps the first `TestBackend.keepLimit` of them.
enum BackendBehavior: Sendable {
    /// Sends every byte back as it arrives. When the peer half-closes, half-closes too (everything echoed),
    /// then closes.
    case echo
    /// Receives and sends nothing; closes when the peer closes.
    case record
    /// Sends `bytes` once `when` happens (on a thread of its own, so receiving goes on), then does `then`.
    case respond([UInt8], when: Trigger = .onConnect, then: AfterResponse = .halfClose)
    /// Like `respond`, in several writes with `pause` between them (nginx writes headers and body apart).
    case respondInParts([[UInt8]], pause: Duration, when: Trigger = .onConnect, then: AfterResponse = .keepOpen)
    /// Sends `count` bytes of `PseudoRandomStream(seed:)` once `when` happens (receiving goes on meanwhile),
    /// then half-closes; closes when the peer closes. For large transfers: nothing is kept in memory, and the
    /// receiver checks `PseudoRandomStream.sha256(count:seed:)`.
    case sendPseudoRandom(count: Int, seed: UInt64 = 1, when: Trigger = .onConnect)
    /// Accepts and then neither reads nor writes until the backend stops (back-pressure, timeouts).
    case silent

    /// When a backend starts to respond.
    enum Trigger: Sendable, Equatable {
        case onConnect
        /// Once this many bytes have been received (a PROXY header and a request, say).
        case afterReceiving(Int)
        /// Once the received bytes contain this sequence (`"\r\n\r\n"` for an HTTP request head).
        case afterReceivingSequence([UInt8])
        /// Once the peer has half-closed (EOF).
        case afterEOF
    }

    /// What a responding backend does after its response.
    enum AfterResponse: Sendable, Equatable {
        /// Closes the connection at once (the kernel sends RST instead of FIN if received data is unread).
        case close
        /// Shuts down its sending side (FIN), reads on until the peer closes, then closes.
        case halfClose
        /// Like `halfClose`, with the FIN in the segment of the response's last bytes (`TCP_CORK` from the first
        /// write on): the peer's kernel gets the response and its end at once, as from a backend that answers and
        /// closes in one go.
        case halfCloseInTheSameSegment
        /// Reads on until the peer closes, then closes.
        case keepOpen
    }
}

extension BackendBehavior.Trigger {
    /// `"\r\n\r\n"`: the end of an HTTP request head.
    static let endOfHTTPHead = BackendBehavior.Trigger.afterReceivingSequence(Array("\r\n\r\n".utf8))
}
