import CUnwrapdShims
import Glibc

/// SIGHUP: the parent reads the command line and its config file again and prepares all of it (certificates, keys,
/// backend, listening sockets) as at start. On any error it logs the reason and keeps the running configuration.
/// Otherwise it starts a new set of workers with the new configuration and, once every one of them serves, retires
/// the old ones: they accept no more, finish their connections and exit (or are ended after `--drain-timeout`). No
/// connection is dropped and no client is refused meanwhile: the listening sockets of addresses still configured
/// are the same, and old and new workers accept from them until the new ones serve.
extension Supervisor {
    mutating func reload() {
        SystemdNotifier.notify(["RELOADING=1", "MONOTONIC_USEC=\(MonotonicClock.nanoseconds() / 1000)"])
        Log.info("SIGHUP received: reloading the configuration")
        let status = replaceConfiguration()
        SystemdNotifier.notify(["READY=1", "STATUS=\(status)"])
    }

    /// Prepares and starts the new configuration; returns the status line for systemd.
    private mutating func replaceConfiguration() -> String {
        let next: Runtime
        do {
            next = try prepareSuccessor()
        } catch {
            Log.error("reload failed: \(error); still serving the previous configuration")
            return "reload failed: \(error)"
        }
        let previous = runtime
        let previousSlots = slots
        runtime = next
        slots = Array(repeating: Slot(), count: next.workerCount)
        Supervisor.applyLogLevels(of: next.settings)  // before the fork: the new workers log at the new levels
        let inherited = previousSlots.compactMap(\.channel) + previous.listenersDropped(by: next)
        for index in slots.indices { spawn(index, alsoClosing: inherited) }
        guard awaitWorkersReady() else {
            Supervisor.terminate(slots.compactMap(\.pid))
            for channel in slots.compactMap(\.channel) { close(channel) }
            next.release(replacedBy: previous)
            runtime = previous
            slots = previousSlots
            Supervisor.applyLogLevels(of: previous.settings)
            reapWorkers()
            Log.error("reload failed: the new workers did not start; still serving the previous configuration")
            return "reload failed: the new workers did not start"
        }
        retire(previousSlots)
        replaceFetcher()
        previous.release(replacedBy: next)
        scheduleKeyRotation()
        Log.info("reloaded: \(next.summary)")
        return next.summary
    }

    /// The new configuration, prepared beside the running one, with relative paths read from the directory the
    /// daemon started in.
    private func prepareSuccessor() throws(StartupError) -> Runtime {
        let current = unwrapd_open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        if startDirectory >= 0 { _ = fchdir(startDirectory) }
        defer {
            if current >= 0 {
                _ = fchdir(current)
                close(current)
            }
        }
        let invocation: Invocation
        do {
            invocation = try CommandLineParser.parse(arguments)
        } catch {
            throw .settings(error)
        }
        guard case .run(let settings) = invocation else {
            throw .invalid("the command line no longer starts the daemon")
        }
        let next = try Runtime.prepare(settings, forTest: false, replacing: runtime)
        let fixed = runtime.settings.changesNeedingRestart(in: settings)
        if !fixed.isEmpty {
            Log.error("reload: \(fixed.joined(separator: ", ")) changed; that takes effect at the next restart")
        }
        return next
    }

    /// `-L` and `-q` of `settings`, for this process and the workers it forks from now on.
    private static func applyLogLevels(of settings: Settings) {
        Log.setLevels(LogLevel(rawValue: settings.logLevel) ?? .error, quiet: settings.quiet)
    }

    /// Tells the workers of `previousSlots` that a reload replaced them, waits (at most `retireTimeout`) until each
    /// says it accepts no more, and watches them finish. So once the reload is reported done, every new connection
    /// meets the new configuration (a client that checks the renewed certificate right after `systemctl reload`
    /// gets it).
    private mutating func retire(_ previousSlots: [Slot]) {
        let drainTimeout = Double(runtime.settings.drainTimeoutSeconds)
        var unconfirmed: [RetiredWorker] = []
        for slot in previousSlots {
            // A slot without a process (waiting for its restart) has no channel either.
            guard let pid = slot.pid, let channel = slot.channel else { continue }
            ControlChannel.send(.retire, on: channel)
            let worker = RetiredWorker(
                pid: pid, channel: channel, deadline: drainTimeout > 0 ? MonotonicClock.now() + drainTimeout : nil)
            retired.append(worker)
            unconfirmed.append(worker)
        }
        let answers = ControlChannel.awaitAnswers(
            .retired, on: unconfirmed.map(\.channel), within: Supervisor.retireTimeout, closeAnswers: true)
        if case .timedOut(let waiting) = answers {
            Log.error(
                "reload: the replaced workers \(waiting.map { unconfirmed[$0].pid }) did not confirm within "
                    + "\(Supervisor.retireTimeout) s that they stopped accepting; they may still take new clients")
        }
    }
}
