import Foundation
import Glibc
import Testing

/// The relay's hot path allocates nothing per event (design §2): on an established connection, unwrapd's own
/// code makes no heap allocation at all; only OpenSSL does (with `SSL_MODE_RELEASE_BUFFERS` it allocates its
/// record buffers when a record comes or goes on an otherwise idle connection, and frees them after). Counted in
/// the real worker process by an LD_PRELOAD malloc counter that attributes each allocation to its caller
/// (`Fixtures/malloc_counter.c`).
@Suite struct AllocationBudgetTests {
    @Test func roundTripsOnAnEstablishedConnectionAllocateNothingOutsideOpenSSL() throws {
        let directory = try TestDirectory("allocation")
        let library = try MallocCounter.build(in: directory)
        let counts = directory.file("counts")
        try FileManager.default.createDirectory(atPath: counts, withIntermediateDirectories: false)
        chmod(counts, 0o777)
        let pem = try TestCertificates(in: directory).server(["alloc.example"]).pemFile
        let backend = try TestBackend(.echo)
        defer { backend.stop() }
        let port = try Ports.freeTCPPort()
        let daemon = try DaemonProcess.start(
            ["-n", "1", "--frontend=[127.0.0.1]:\(port)", "--backend=\(backend.hitchAddress)", pem],
            in: directory, environment: ["LD_PRELOAD": library, "UNWRAPD_MALLOC_COUNT_DIR": counts])
        defer { daemon.kill() }
        let worker = try #require(daemon.childPIDs().first)

        let client = try TLSTestClient(port: port, options: .init(serverName: "alloc.example"))
        defer { client.close() }
        try client.handshake()
        let message = [UInt8](repeating: 0x61, count: 100)
        func roundTrips(_ count: Int) throws {
            for _ in 0..<count {
                try client.write(message)
                #expect(try client.read(exactly: message.count) == message)
            }
        }
        try roundTrips(50)  // warm-up: buffer pool, OpenSSL's and malloc's caches
        let before = try MallocCounter.counts(of: worker, in: counts)
        let measured = 500
        try roundTrips(measured)
        let after = try MallocCounter.counts(of: worker, in: counts)

        #expect(after.all - before.all > 0, "the counter must see OpenSSL's allocations in these round trips")
        let own = after.outsideOpenSSL - before.outsideOpenSSL
        #expect(own == 0, "unwrapd allocated \(own) times in \(measured) round trips (all: \(after.all - before.all))")
    }
}

/// Builds and reads the LD_PRELOAD allocation counter.
enum MallocCounter {
    /// Compiles `Fixtures/malloc_counter.c` into a shared library in `directory`; returns its path.
    static func build(in directory: TestDirectory) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/malloc_counter.c").path
        let library = directory.file("libmalloc_counter.so")
        var failures: [String] = []
        for compiler in ["cc", "clang", "gcc"] {
            let output = try ProcessRunner.run(
                "/usr/bin/env", [compiler, "-shared", "-fPIC", "-O2", "-o", library, source, "-lpthread"],
                timeout: .seconds(60))
            if output.status == .exited(0) { return library }
            failures.append("\(compiler): \(output.stderrText)")
        }
        throw CounterError(message: "cannot compile the malloc counter: \(failures.joined(separator: "; "))")
    }

    /// The allocations process `pid` made so far: all of them, and those whose caller is outside OpenSSL.
    static func counts(of pid: pid_t, in directory: String) throws -> (all: Int64, outsideOpenSSL: Int64) {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(pid)"))
        guard data.count >= 16 else { throw CounterError(message: "counter file of \(pid) is \(data.count) bytes") }
        return data.withUnsafeBytes {
            ($0.loadUnaligned(as: Int64.self), $0.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        }
    }

    struct CounterError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
