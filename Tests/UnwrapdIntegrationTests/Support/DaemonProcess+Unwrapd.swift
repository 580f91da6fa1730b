import Glibc

/// Starting the real unwrapd the way most TLS tests want it: listening on a fresh loopback port, relaying to a
/// `TestBackend`; the test adds the certificates and the flags it is about (or `--config=FILE`).
extension DaemonProcess {
    /// Starts unwrapd with `--frontend=[127.0.0.1]:PORT --backend=BACKEND` and `arguments`; returns it and PORT.
    static func startUnwrapd(
        _ arguments: [String], backend: TestBackend, in directory: TestDirectory
    ) throws -> (daemon: DaemonProcess, port: UInt16) {
        let port = try Ports.freeTCPPort()
        let daemon = try DaemonProcess.start(
            ["--frontend=[127.0.0.1]:\(port)", "--backend=\(backend.hitchAddress)"] + arguments, in: directory)
        return (daemon, port)
    }

    /// An address-space limit (`prlimit --as`) with room for the daemon and for its small-block arena alike
    /// (`SmallBlockArena`, 4 GiB of addresses): only the daemon's check of the limit keeps the range out.
    static let addressSpaceLimit = 8 << 30
    /// The addresses each daemon process reserves for OpenSSL's small blocks when it has no limit.
    static let arenaReservation = 4 << 30

    /// Starts the daemon with `arguments`, under `prlimit --as=addressSpaceLimit` when `addressSpaceLimited`.
    static func start(
        _ arguments: [String], in directory: TestDirectory, addressSpaceLimited: Bool,
        environment: [String: String] = [:]
    ) throws -> DaemonProcess {
        guard addressSpaceLimited else { return try start(arguments, in: directory, environment: environment) }
        return try start(
            ["--as=\(addressSpaceLimit)", binaryPath] + arguments, in: directory, executable: "/usr/bin/prlimit",
            environment: environment)
    }

    /// Writes `lines` as a hitch.conf file `name` in `directory` and returns the `--config=PATH` argument.
    static func configArgument(_ lines: [String], in directory: TestDirectory, name: String = "unwrapd.conf") throws
        -> String
    {
        "--config=" + (try directory.write(lines.joined(separator: "\n") + "\n", to: name))
    }

    /// Sends SIGHUP and waits until the reload finished, as systemd waits for it (`RELOADING=1`, then `READY=1`);
    /// returns its `STATUS=`.
    func reload() throws -> String {
        try sendSignal(SIGHUP)
        try waitForNotification("RELOADING=1") { $0["RELOADING"] == "1" }
        return try waitForNotification("READY=1 after the reload") { $0.isReady }["STATUS"] ?? ""
    }
}
