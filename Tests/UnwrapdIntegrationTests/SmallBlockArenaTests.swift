import Glibc
import Testing

/// OpenSSL's small blocks come from an address range each daemon process reserves at start (`SmallBlockArena`, 4
/// GiB of addresses). Without an address-space limit the worker holds that range; under one (`ulimit -v`, systemd's
/// `LimitAS=`) it reserves nothing, so as not to spend the limit, takes small blocks from malloc, and serves all
/// the same.
@Suite struct SmallBlockArenaTests {
    @Test(arguments: [false, true])
    func theWorkerReservesTheRangeOnlyWithoutAnAddressSpaceLimit(limited: Bool) throws {
        let directory = try TestDirectory("arena")
        let pem = try TestCertificates(in: directory).server(["arena.example"]).pemFile
        let backend = try TestBackend(.echo)
        defer { backend.stop() }
        let port = try Ports.freeTCPPort()
        let arguments = ["-n", "1", "--frontend=[127.0.0.1]:\(port)", "--backend=\(backend.hitchAddress)", pem]
        let daemon = try DaemonProcess.start(arguments, in: directory, addressSpaceLimited: limited)
        defer { daemon.kill() }
        let worker = try #require(daemon.childPIDs().first)

        let client = try TLSTestClient(port: port, options: .init(serverName: "arena.example"))
        defer { client.close() }
        try client.handshake()
        let request = [UInt8](repeating: 0x61, count: 100)
        for _ in 0..<20 {
            try client.write(request)
            #expect(try client.read(exactly: request.count) == request)
        }

        let addressSpace = try #require(ProcessTable.addressSpaceBytes(worker))
        if limited {
            #expect(addressSpace < DaemonProcess.arenaReservation, "address space \(addressSpace) bytes")
        } else {
            #expect(addressSpace > DaemonProcess.arenaReservation, "address space \(addressSpace) bytes")
        }
    }
}
