import COpenSSL
import CUnwrapdShims
import Glibc

/// The process that fetches OCSP responses while the daemon runs (hitch's automatic stapling), so that no worker
/// ever waits on a responder: for each certificate of the plan it asks the responder at once, then again before the
/// response's nextUpdate (and at least every `ocsp-refresh-interval`), checks each answer as an `ocsp-resp-file` is
/// checked, puts it into the certificate's shared slot, where the workers staple it from, and saves it in
/// `ocsp-dir` for the next start. It runs as the workers' user, outside any `--chroot` (it needs the resolver and
/// `ocsp-dir`), with a control channel to the parent like a worker's (for the reopened log file).
enum OCSPFetcherProcess {
    /// Runs in the child after `fork`; never returns.
    static func run(runtime: Runtime, parent: pid_t, channel: Int32) -> Never {
        Log.setTag("ocsp: ")
        for descriptor in runtime.listeners.descriptors { close(descriptor) }
        do {
            try PrivilegeDrop.apply(identity: runtime.identity, chroot: nil)
        } catch {
            Log.error("cannot start: \(error)")
            _exit(WorkerProcess.startFailureStatus)
        }
        _ = unwrapd_set_parent_death_signal(SIGTERM)
        if getppid() != parent { _exit(0) }
        _ = unwrapd_sigaction_ignore(SIGHUP)
        _ = unwrapd_sigaction_ignore(SIGUSR1)
        Signals.unblockAll()

        let plan = runtime.ocspFetch
        let options = runtime.settings.ocsp
        var schedule = OCSPRefreshSchedule(
            refreshInterval: options.refreshInterval, count: plan.subscriptions.count,
            fetchedAt: plan.subscriptions.map { Int(unwrapd_ocsp_slot_fetched_at($0.slot)) },
            nextUpdates: plan.subscriptions.map { Int(unwrapd_ocsp_slot_next_update($0.slot)) },
            now: time(nil))
        let client = OCSPResponderClient(
            connectTimeout: options.connectTimeout, responseTimeout: options.responseTimeout)
        while true {
            let (index, due) = schedule.next()
            guard waitForParent(on: channel, until: due) else { _exit(0) }
            guard time(nil) >= due else { continue }
            let subscription = plan.subscriptions[index]
            schedule.record(index, fetch(subscription, with: client), now: time(nil))
        }
    }

    /// Waits until `due` (seconds since the epoch) while handling the parent's messages; false once the parent is
    /// gone (its end of the channel closed).
    private static func waitForParent(on channel: Int32, until due: Int) -> Bool {
        let seconds = max(0, due - time(nil))
        var entry = pollfd(fd: channel, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, Int32(min(seconds, 3600) * 1000)) > 0 else { return true }
        switch ControlChannel.receive(on: channel) {
        case .message(.logFile, let descriptor) where descriptor >= 0: Log.adopt(descriptor)
        case .closed: return false
        case .message, .nothing: break
        }
        return true
    }

    /// Asks the responder for `subscription`'s response and, when it checks out, staples and saves it; a failure
    /// is logged.
    private static func fetch(_ subscription: OCSPSubscription, with client: OCSPResponderClient) -> OCSPFetchOutcome {
        let origin = subscription.origin
        let response: [UInt8]
        let status: OCSPCertificateStatus
        do throws(OCSPFetchError) {
            response = try client.exchange(try OCSPRequest.der(for: subscription.context), with: subscription.url)
            do {
                status = try OCSPStaple.check(
                    response, for: subscription.context, certificatePath: subscription.certificatePath,
                    origin: origin, verify: subscription.verify)
            } catch {
                throw .rejected(error.description)
            }
        } catch {
            Log.error("\(error.description.hasPrefix(origin) ? "" : "\(origin): ")\(error); trying again later")
            return .failed
        }
        let now = time(nil)
        if let nextUpdate = status.nextUpdate, nextUpdate <= now {
            Log.error("\(origin): the response's nextUpdate \(utcText(nextUpdate)) has passed; trying again later")
            return .failed
        }
        subscription.publish(response, nextUpdate: status.nextUpdate, fetchedAt: now)
        let until = status.nextUpdate.map { ", next update \(utcText($0))" } ?? ""
        if status.code == V_OCSP_CERTSTATUS_GOOD {
            Log.info("\(origin): fetched the response (good\(until)); stapled")
        } else {
            Log.error("\(origin): the response calls the certificate \(status.text)\(until); it is stapled as it is")
        }
        do {
            try OCSPCacheFile.save(response, to: subscription.cacheFile)
        } catch {
            Log.error("\(origin): cannot save the response for the next start: \(error)")
        }
        return .fetched(nextUpdate: status.nextUpdate)
    }
}
