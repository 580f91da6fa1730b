/// When the fetcher asks each certificate's responder next (seconds since the epoch): at once for a response not
/// fetched yet; after a fetch at the earlier of `ocsp-refresh-interval` and ten minutes before the response's
/// nextUpdate (as hitch), but not sooner than a minute (or the interval, if shorter); after a failure, again in a
/// minute, then after each further failure in a row twice as long, up to the interval: a responder that is down
/// is not asked every minute by every server, and the log gets a line per attempt, not one a minute.
struct OCSPRefreshSchedule {
    let refreshInterval: Double
    private(set) var due: [Int]
    /// Failed fetches in a row, per certificate.
    private var failures: [Int]

    /// `fetchedAt` and `nextUpdates` from the slots (0: none): a fetcher started again after one that exited
    /// resumes its predecessor's schedule.
    init(refreshInterval: Double, count: Int, fetchedAt: [Int], nextUpdates: [Int], now: Int) {
        self.refreshInterval = refreshInterval
        due = Array(repeating: now, count: count)
        failures = Array(repeating: 0, count: count)
        for index in 0..<count where fetchedAt[index] > 0 {
            due[index] = fetchedAt[index] + delay(nextUpdate: nextUpdates[index], from: fetchedAt[index])
        }
    }

    /// The certificate to fetch next and when (there is at least one: the fetcher runs only for a plan with some).
    func next() -> (index: Int, due: Int) {
        let index = due.indices.min { due[$0] < due[$1] }!
        return (index, due[index])
    }

    /// Records how a fetch of certificate `index` at `now` went.
    mutating func record(_ index: Int, _ outcome: OCSPFetchOutcome, now: Int) {
        switch outcome {
        case .fetched(let nextUpdate):
            failures[index] = 0
            due[index] = now + delay(nextUpdate: nextUpdate ?? 0, from: now)
        case .failed:
            failures[index] += 1
            let backOff = shortest << min(failures[index] - 1, 20)
            due[index] = now + max(shortest, min(backOff, Int(refreshInterval)))
        }
    }

    /// The least time between two requests for one certificate, in whole seconds.
    private var shortest: Int { max(1, Int(min(60, refreshInterval))) }

    private func delay(nextUpdate: Int, from now: Int) -> Int {
        var seconds = max(1, Int(refreshInterval))
        if nextUpdate > 0 { seconds = min(seconds, nextUpdate - now - 600) }
        return max(shortest, seconds)
    }
}

/// How one fetch of a certificate's OCSP response went.
enum OCSPFetchOutcome: Equatable {
    /// A response was stapled; its nextUpdate, if it has one (seconds since the epoch).
    case fetched(nextUpdate: Int?)
    /// It failed (logged); the fetcher tries again soon.
    case failed
}
