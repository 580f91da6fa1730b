import COpenSSL
import Glibc

/// A frontend's name and its TLS state, prepared by the parent.
struct PreparedFrontend {
    let name: String
    let tls: UnsafeMutablePointer<FrontendTLS>
}

/// Everything the parent prepares from `Settings` before forking: TLS contexts loaded with the certificates, the
/// backend's addresses, bound listening sockets, the workers' identity and connection limits. Every mistake in
/// the configuration surfaces while preparing it, as one line; `-t` prepares it and stops there.
struct Runtime {
    let settings: Settings
    let frontends: [PreparedFrontend]
    let listeners: [ListeningSocket]
    let backendAddresses: [SocketAddress]
    let workerCount: Int
    let identity: WorkerIdentity?
    /// Connections one worker may hold (its descriptor limit).
    let connectionsPerWorker: Int
    /// Connections open at once over all workers.
    let connectionLimit: Int
    /// The keys every worker encrypts session tickets with; `nil` with `session-tickets = off`.
    let ticketKeys: TicketKeys?
    /// The certificates whose OCSP responses the fetcher process keeps current, and their shared slots.
    let ocspFetch: OCSPFetchPlan

    /// `forTest`: for `-t`, which may run beside the daemon it checks: listening addresses that another program
    /// (that daemon) already serves are not refused, as they are when the daemon starts, and its sockets are bound
    /// but do not listen (`ListenerFactory.checksOnly`). Sockets systemd passed are taken only at start.
    ///
    /// `previous`: the running configuration, when a reload (SIGHUP) prepares its successor. Its listening sockets
    /// for addresses still configured are kept (so no connection waiting in their queues is lost, and the new
    /// workers accept from the sockets the old ones did), and so are its session-ticket keys (tickets issued
    /// before the reload still resume) and its session cache.
    static func prepare(_ settings: Settings, forTest: Bool, replacing previous: Runtime? = nil) throws(StartupError)
        -> Runtime
    {
        OPENSSL_init_ssl(0, nil)
        let workerCount = try workers(settings.workers)
        let identity = try WorkerIdentity.resolve(user: settings.user, group: settings.group)
        if let directory = settings.chroot { try requireDirectory(directory) }
        let backendAddresses = try resolveBackend(settings.backend)
        let ticketKeys = try sessionTicketKeys(settings, previous: previous)
        if previous == nil, settings.sessionCacheSize > 0 {
            SessionCacheCallbacks.cache = try SharedSessionCache.map(sessions: settings.sessionCacheSize)
        }
        let frontends = try prepareFrontends(settings, ticketKeys: ticketKeys)
        let ocspFetch: OCSPFetchPlan
        do {
            ocspFetch = try OCSPFetchPlan.make(
                frontends: frontends, options: settings.ocsp, previous: previous?.ocspFetch)
            if !forTest && !ocspFetch.subscriptions.isEmpty {
                OCSPCacheFile.prepareDirectory(settings.ocsp.directory, owner: identity)
            }
        } catch {
            for frontend in frontends { FrontendTLS.release(frontend.tls) }
            throw error
        }
        let factory = ListenerFactory(
            backlog: Int32(clamping: settings.backlog), keepaliveSeconds: settings.keepaliveSeconds,
            receiveBufferSize: settings.receiveBufferSize, sendBufferSize: settings.sendBufferSize,
            tcpFastOpen: settings.tcpFastOpen, checksOnly: forTest)
        var reusable = previous?.listeners ?? []
        var listeners: [ListeningSocket] = []
        do throws(StartupError) {
            // Socket activation: only at start; a reload keeps what the running configuration serves on.
            var passed = previous == nil && !forTest ? try SocketActivation.takePassedSockets() : []
            for (index, frontend) in settings.frontends.enumerated() {
                listeners += try factory.open(
                    frontend: frontend, index: index, workerSlots: workerCount,
                    reusing: &reusable, ofPrevious: previous?.settings.frontends ?? [], taking: &passed)
            }
            if let unused = passed.first {
                throw .invalid(
                    "socket activation: systemd passed a socket on \(unused.description) that no frontend listens on "
                        + "(add a frontend for it, or remove it from the .socket unit)")
            }
        } catch {
            for descriptor in listeners.descriptors.subtracting(previous?.listeners.descriptors ?? []) {
                close(descriptor)
            }
            for frontend in frontends { FrontendTLS.release(frontend.tls) }
            ocspFetch.release()
            throw error
        }
        let perWorker = ResourceLimits.connectionsPerWorker(openFiles: ResourceLimits.raiseOpenFilesLimit())
        let limit = settings.maxConnections > 0 ? settings.maxConnections : perWorker * workerCount
        return Runtime(
            settings: settings, frontends: frontends, listeners: listeners, backendAddresses: backendAddresses,
            workerCount: workerCount, identity: identity, connectionsPerWorker: perWorker, connectionLimit: limit,
            ticketKeys: ticketKeys, ocspFetch: ocspFetch)
    }

    /// The listening sockets this configuration has and `successor` does not keep.
    func listenersDropped(by successor: Runtime) -> [Int32] {
        Array(listeners.descriptors.subtracting(successor.listeners.descriptors))
    }

    /// Frees what the parent holds of this configuration once `successor` replaced it (or, on a failed reload, once
    /// it was abandoned for it): the listening sockets `successor` does not keep, the TLS contexts and the slots of
    /// fetched OCSP responses. Workers forked from it keep their own copies.
    func release(replacedBy successor: Runtime) {
        for descriptor in listenersDropped(by: successor) { close(descriptor) }
        for frontend in frontends { FrontendTLS.release(frontend.tls) }
        ocspFetch.release()
    }

    /// Closes the listening sockets (shutdown, or the end of `-t`).
    func closeListeners() {
        for descriptor in listeners.descriptors { close(descriptor) }
    }

    /// One line for the start-up log: where it listens, where it connects, how many workers as whom.
    var summary: String {
        let addresses = listeners.filter { $0.workerSlot == 0 }.map(\.address.description)
        let identityText = identity.map { " as \($0.name)" } ?? ""
        return "listening on \(addresses.joined(separator: ", ")), backend \(settings.backend.displayName), "
            + "\(workerCount) worker\(workerCount == 1 ? "" : "s")\(identityText), "
            + "at most \(connectionLimit) connections"
    }

    private static func workers(_ count: WorkerCount) throws(StartupError) -> Int {
        switch count {
        case .fixed(let number): return number
        case .perCPU: return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        }
    }

    /// The running configuration's keys on a reload (tickets issued before it still resume), else new ones; none
    /// with `session-tickets = off`.
    private static func sessionTicketKeys(_ settings: Settings, previous: Runtime?) throws(StartupError) -> TicketKeys?
    {
        guard settings.sessionTickets else { return nil }
        if let kept = previous?.ticketKeys { return kept }
        return try TicketKeys()
    }

    private static func requireDirectory(_ path: String) throws(StartupError) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw .system(SystemError("--chroot", path)) }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw .invalid("--chroot \(path): not a directory") }
    }

    private static func resolveBackend(_ backend: BackendAddress) throws(StartupError) -> [SocketAddress] {
        do {
            switch backend {
            case .inet(let host, let port):
                return try SocketAddress.resolve(host: host, port: port, passive: false)
            case .unix(let path):
                return [try SocketAddress.unix(path: path)]
            }
        } catch {
            throw .invalid("backend \(backend.displayName): \(error)")
        }
    }

    private static func prepareFrontends(_ settings: Settings, ticketKeys: TicketKeys?) throws(StartupError)
        -> [PreparedFrontend]
    {
        var global = settings.certificates
        if let directory = settings.pemDirectory {
            global = try PEMDirectory.certificates(in: directory, matching: settings.pemDirectoryGlob) + global
        }
        let alpn = try ALPNProtocols(settings.alpnProtocols)
        var prepared: [PreparedFrontend] = []
        do throws(StartupError) {
            for frontend in settings.frontends {
                let options = settings.tls.overridden(by: frontend.tls)
                let matchGlobal = frontend.matchGlobalCertificates ?? frontend.certificates.isEmpty
                let certificates = (matchGlobal ? global : []) + frontend.certificates
                guard !certificates.isEmpty else {
                    throw .invalid(
                        "frontend \(frontend.displayName): no certificate (give a PEM file on the command line, "
                            + "pem-file or pem-dir)")
                }
                let builder = ServerContextBuilder(
                    options: options, alpn: alpn, ticketKeys: ticketKeys, verifiesStaples: settings.ocsp.verifyStaple)
                let tls: UnsafeMutablePointer<FrontendTLS>
                do {
                    tls = try FrontendTLS.allocate(
                        certificates: certificates, builder: builder, sniNoMatchAbort: options.sniNoMatchAbort)
                } catch {
                    throw .invalid("frontend \(frontend.displayName): \(error)")
                }
                for name in tls.pointee.selector.duplicateNames {
                    Log.error(
                        "frontend \(frontend.displayName): several certificates claim '\(name)'; the last one listed wins"
                    )
                }
                prepared.append(PreparedFrontend(name: frontend.displayName, tls: tls))
            }
        } catch {
            for frontend in prepared { FrontendTLS.release(frontend.tls) }
            throw error
        }
        return prepared
    }
}
