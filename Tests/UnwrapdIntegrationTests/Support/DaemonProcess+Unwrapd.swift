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

    /// Writes `lines` as a hitch.conf file `name` in `directory` and returns the `--config=PATH` argument.
    static func configArgument(_ lines: [String], in directory: TestDirectory, name: String = "unwrapd.conf") throws
        -> String
    {
        "--config=" + (try directory.write(lines.joined(separator: "\n") + "\n", to: name))
    }
}
