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

    /// `forTest`: for `-t`, which may run beside the daemon it checks: listening addresses that another program
    /// (that daemon) already serves are not refused, as they are when the daemon starts.
    static func prepare(_ settings: Settings, forTest: Bool) throws(StartupError) -> Runtime {
        OPENSSL_init_ssl(0, nil)
        let workerCount = try workers(settings.workers)
        let identity = try WorkerIdentity.resolve(user: settings.user, group: settings.group)
        if let directory = settings.chroot { try requireDirectory(directory) }
        let backendAddresses = try resolveBackend(settings.backend)
        let frontends = try prepareFrontends(settings)
        let factory = ListenerFactory(
            backlog: Int32(clamping: settings.backlog), keepaliveSeconds: settings.keepaliveSeconds,
            receiveBufferSize: settings.receiveBufferSize, sendBufferSize: settings.sendBufferSize,
            tcpFastOpen: settings.tcpFastOpen, refusesOtherListeners: !forTest)
        var listeners: [ListeningSocket] = []
        do throws(StartupError) {
            for (index, frontend) in settings.frontends.enumerated() {
                listeners += try factory.open(frontend: frontend, index: index, workerSlots: workerCount)
            }
        } catch {
            for listener in listeners { close(listener.descriptor) }
            throw error
        }
        let perWorker = ResourceLimits.connectionsPerWorker(openFiles: ResourceLimits.raiseOpenFilesLimit())
        let limit = settings.maxConnections > 0 ? settings.maxConnections : perWorker * workerCount
        return Runtime(
            settings: settings, frontends: frontends, listeners: listeners, backendAddresses: backendAddresses,
            workerCount: workerCount, identity: identity, connectionsPerWorker: perWorker, connectionLimit: limit)
    }

    /// Closes the listening sockets (shutdown, or the end of `-t`).
    func closeListeners() {
        for listener in listeners { close(listener.descriptor) }
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

    private static func prepareFrontends(_ settings: Settings) throws(StartupError) -> [PreparedFrontend] {
        var global = settings.certificates
        if let directory = settings.pemDirectory {
            global = try PEMDirectory.certificates(in: directory, matching: settings.pemDirectoryGlob) + global
        }
        let ticketKeys = settings.sessionTickets ? try TicketKeys() : nil
        if settings.sessionCacheSize > 0 {
            SessionCacheCallbacks.cache = try SharedSessionCache.map(sessions: settings.sessionCacheSize)
        }
        let alpn = try ALPNProtocols(settings.alpnProtocols)
        var prepared: [PreparedFrontend] = []
        for frontend in settings.frontends {
            let options = settings.tls.overridden(by: frontend.tls)
            let matchGlobal = frontend.matchGlobalCertificates ?? frontend.certificates.isEmpty
            let certificates = (matchGlobal ? global : []) + frontend.certificates
            guard !certificates.isEmpty else {
                throw .invalid(
                    "frontend \(frontend.displayName): no certificate (give a PEM file on the command line, "
                        + "pem-file or pem-dir)")
            }
            let builder = ServerContextBuilder(options: options, alpn: alpn, ticketKeys: ticketKeys)
            let tls: UnsafeMutablePointer<FrontendTLS>
            do {
                tls = try FrontendTLS.allocate(
                    certificates: certificates, builder: builder, sniNoMatchAbort: options.sniNoMatchAbort)
            } catch {
                throw .invalid("frontend \(frontend.displayName): \(error)")
            }
            for name in tls.pointee.selector.duplicateNames {
                Log.error(
                    "frontend \(frontend.displayName): several certificates claim '\(name)'; the last one listed wins")
            }
            prepared.append(PreparedFrontend(name: frontend.displayName, tls: tls))
        }
        return prepared
    }
}
