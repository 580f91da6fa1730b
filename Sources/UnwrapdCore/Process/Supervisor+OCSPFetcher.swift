import Glibc

/// The OCSP fetcher process (`OCSPFetcherProcess`) as the parent keeps it: started once the workers serve, when the
/// configuration has certificates to fetch for; restarted like a worker when it dies; replaced by a reload (the new
/// configuration's fetcher fills the new slots); stopped with the daemon.
extension Supervisor {
    mutating func spawnFetcher() {
        guard !runtime.ocspFetch.subscriptions.isEmpty else { return }
        let runtime = runtime
        do {
            let child = try forkWithChannel { parent, channel in
                OCSPFetcherProcess.run(runtime: runtime, parent: parent, channel: channel)
            }
            fetcher.pid = child.pid
            fetcher.channel = child.channel
            fetcher.startedAt = MonotonicClock.now()
            fetcher.restartAt = nil
        } catch {
            retryFetcherLater(after: "\(error)")
        }
    }

    /// `pid`, which ended with `status`, was a fetcher: the running one is restarted (backing off when it keeps
    /// exiting right after start), one a reload replaced is forgotten. False when it was not a fetcher.
    mutating func reapFetcher(_ pid: pid_t, status: Int32) -> Bool {
        if let position = replacedFetchers.firstIndex(of: pid) {
            replacedFetchers.remove(at: position)
            return true
        }
        guard pid == fetcher.pid else { return false }
        let when = RespawnPolicy.restartText(delay: fetcher.ended(policy: policy))
        Log.error("OCSP fetcher (pid \(pid)) \(Signals.describeExit(status)); \(when)")
        return true
    }

    /// Starts the fetcher again once its restart is due.
    mutating func restartFetcherWhenDue() {
        guard fetcher.pid == nil, let due = fetcher.restartAt, due <= MonotonicClock.now() else { return }
        spawnFetcher()
    }

    /// After a reload: the replaced configuration's fetcher stops, and one for the new configuration starts.
    mutating func replaceFetcher() {
        if let pid = fetcher.pid {
            kill(pid, SIGTERM)
            replacedFetchers.append(pid)
        }
        if let channel = fetcher.channel { close(channel) }
        fetcher = Slot()
        spawnFetcher()
    }

    private mutating func retryFetcherLater(after failure: String) {
        Log.error("OCSP fetcher: \(failure); retrying")
        fetcher.quickExits += 1
        fetcher.restartAt = MonotonicClock.now() + policy.delay(afterQuickExits: fetcher.quickExits)
    }
}
