import Glibc

extension ControlChannel {
    /// How a wait for the same answer from several workers ended.
    enum Answers: Equatable {
        /// Every channel answered.
        case complete
        /// The channel at this position closed (its worker exited) before it answered.
        case closed(position: Int)
        /// Time ran out; the channels at these positions had not answered.
        case timedOut(waiting: [Int])
        /// poll(2) failed (`errno` says why).
        case pollFailed
    }

    /// Waits at most `timeout` seconds until each of `channels` has sent `message`: the new workers' `ready`, the
    /// replaced workers' `retired`. A channel that closes counts as answered when `closeAnswers` (a worker that
    /// exited accepts no more), and otherwise ends the wait.
    static func awaitAnswers(
        _ message: Message, on channels: [Int32], within timeout: Double, closeAnswers: Bool
    ) -> Answers {
        var waiting = Array(channels.indices)
        let deadline = MonotonicClock.now() + timeout
        while !waiting.isEmpty {
            let remaining = deadline - MonotonicClock.now()
            guard remaining > 0 else { return .timedOut(waiting: waiting) }
            var descriptors = waiting.map { pollfd(fd: channels[$0], events: Int16(POLLIN), revents: 0) }
            if poll(&descriptors, nfds_t(descriptors.count), Int32(remaining * 1000) + 1) < 0 && errno != EINTR {
                return .pollFailed
            }
            for (entry, position) in zip(descriptors.indices, waiting).reversed() where descriptors[entry].revents != 0
            {
                switch receive(on: channels[position]) {
                case .message(let answer, _) where answer == message: waiting.remove(at: entry)
                case .closed where closeAnswers: waiting.remove(at: entry)
                case .closed: return .closed(position: position)
                case .message, .nothing: break
                }
            }
        }
        return .complete
    }
}
