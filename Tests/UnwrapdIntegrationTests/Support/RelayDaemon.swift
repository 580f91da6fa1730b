/// Starts the daemon for relay tests: a certificate for `a.example`, one frontend on 127.0.0.1 (unless
/// `frontends` gives the `--frontend` arguments), the backend, any extra arguments.
enum RelayDaemon {
    static func start(
        backend: TestBackend, in directory: TestDirectory, frontends: [String]? = nil, extraArguments: [String] = []
    ) throws -> (daemon: DaemonProcess, port: UInt16) {
        let certificates = try TestCertificates(in: directory)
        let pem = try certificates.server(["a.example"]).pemFile
        var port: UInt16 = 0
        var frontendArguments = frontends ?? []
        if frontends == nil {
            port = try Ports.freeTCPPort()
            frontendArguments = ["--frontend=[127.0.0.1]:\(port)"]
        }
        let daemon = try DaemonProcess.start(
            frontendArguments + ["--backend=\(backend.hitchAddress)"] + extraArguments + [pem], in: directory)
        return (daemon, port)
    }
}
