import Foundation
import Glibc
import Testing

/// The relay allocates nothing per I/O event (design §2, issue #3): on warm connections, 10 000 requests make no
/// heap allocation in the worker at all — not in unwrapd's code, and not in OpenSSL's, whose record buffers
/// (released on idle connections, `SSL_MODE_RELEASE_BUFFERS`) come from unwrapd's free lists
/// (`OpenSSLAllocator`). Counted in the real worker process by an LD_PRELOAD malloc counter
/// (`Fixtures/malloc_counter.c`). Also under an address-space limit, where the worker has no small-block arena:
/// OpenSSL's small blocks then come from malloc and are recycled through the same free lists (before 3864290 they
/// went back to malloc, and this case counted 4 allocations per request).
@Suite struct AllocationBudgetTests {
    @Test(arguments: [false, true])
    func tenThousandRequestsOnWarmConnectionsAllocateNothing(addressSpaceLimited: Bool) throws {
        // Under an address-space limit the worker reserves no small-block arena (`SmallBlockArena`).
        let daemon = try CountedDaemon("allocation", addressSpaceLimited: addressSpaceLimited)
        defer { daemon.stop() }

        let clients = try (0..<4).map { _ in
            try TLSTestClient(port: daemon.port, options: .init(serverName: CountedDaemon.serverName))
        }
        defer { for client in clients { client.close() } }
        for client in clients { try client.handshake() }
        let request = [UInt8](repeating: 0x61, count: 100)
        func requests(_ rounds: Int) throws {
            for _ in 0..<rounds {
                for client in clients { try client.write(request) }
                for client in clients { #expect(try client.read(exactly: request.count) == request) }
            }
        }
        try requests(50)  // warm-up: buffer pools, OpenSSL's free lists, malloc's caches
        let before = try daemon.count()
        try requests(10_000 / clients.count)
        let after = try daemon.count()

        #expect(before > 0, "the counter must see the worker's start-up allocations")
        #expect(after == before, "the worker allocated \(after - before) times during 10 000 requests")
    }

    /// Once warm, a connection's handshake and session take none of OpenSSL's in-between blocks (the `SSL` object,
    /// cipher and key-derivation contexts, the buffering BIO: 26 per full TLS 1.3 handshake) from malloc: they
    /// come from the free lists that the connections before filled (`MallocChunkClass`). The release build then
    /// makes one allocation per connection, its `Connection` (`Tests/Benchmarks/README.md`, "OpenSSL's in-between
    /// blocks"); this counts only the in-between sizes, since the debug build these tests run also allocates for
    /// some of Swift's literals (option sets built from array literals).
    @Test func connectionsOnceWarmTakeNoInBetweenBlockFromMalloc() throws {
        let daemon = try CountedDaemon("allocation-per-connection")
        defer { daemon.stop() }

        let request = [UInt8](repeating: 0x61, count: 100)
        /// One connection after the other, each ended before the next starts: the daemon frees a connection before
        /// its client sees the end (close_notify, then FIN), so each finds its predecessor's blocks on the lists.
        func connections(_ count: Int) throws {
            for _ in 0..<count {
                let client = try TLSTestClient(port: daemon.port, options: .init(serverName: CountedDaemon.serverName))
                defer { client.close() }
                try client.handshake()
                try client.write(request)
                #expect(try client.read(exactly: request.count) == request)
                try client.sendCloseNotify()
                #expect(try client.readToEnd(timeout: .seconds(10)).bytes.isEmpty)
            }
        }
        try connections(20)  // warm-up: the free lists, the buffer pool, malloc's caches
        let before = try daemon.count(.inBetween)
        try connections(100)
        let allocations = try daemon.count(.inBetween) - before
        #expect(before > 0, "the counter must see the in-between blocks of the first connections")
        #expect(allocations == 0, "the worker took \(allocations) in-between blocks from malloc for 100 connections")
    }
}

/// unwrapd with one worker in front of an echo backend, started with the allocation counter preloaded
/// (`Fixtures/malloc_counter.c`), and the counts of its worker.
private struct CountedDaemon {
    static let serverName = "alloc.example"
    let port: UInt16
    private let directory: TestDirectory
    private let counts: String
    private let backend: TestBackend
    private let daemon: DaemonProcess
    private let worker: pid_t

    init(_ name: String, addressSpaceLimited: Bool = false) throws {
        directory = try TestDirectory(name)
        let library = try MallocCounter.build(in: directory)
        counts = directory.file("counts")
        try FileManager.default.createDirectory(atPath: counts, withIntermediateDirectories: false)
        chmod(counts, 0o777)
        let pem = try TestCertificates(in: directory).server([CountedDaemon.serverName]).pemFile
        backend = try TestBackend(.echo)
        port = try Ports.freeTCPPort()
        let arguments = ["-n", "1", "--frontend=[127.0.0.1]:\(port)", "--backend=\(backend.hitchAddress)", pem]
        let environment = ["LD_PRELOAD": library, "UNWRAPD_MALLOC_COUNT_DIR": counts]
        do {
            daemon = try DaemonProcess.start(
                arguments, in: directory, addressSpaceLimited: addressSpaceLimited, environment: environment)
        } catch {
            backend.stop()
            throw error
        }
        guard let worker = daemon.childPIDs().first else {
            daemon.kill()
            backend.stop()
            throw MallocCounter.CounterError(message: "the daemon started no worker")
        }
        self.worker = worker
    }

    /// The worker's allocations of `kind` so far.
    func count(_ kind: MallocCounter.Kind = .all) throws -> Int64 {
        try MallocCounter.count(kind, of: worker, in: counts)
    }

    func stop() {
        daemon.kill()
        backend.stop()
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

    /// What the counter counts.
    enum Kind: Int {
        /// Every allocation.
        case all
        /// Allocations of 257 to 16 384 bytes by malloc, calloc or realloc: OpenSSL's in-between blocks
        /// (`MallocChunkClass`) that went to malloc.
        case inBetween
    }

    /// The number of allocations of `kind` process `pid` made so far.
    static func count(_ kind: Kind = .all, of pid: pid_t, in directory: String) throws -> Int64 {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(pid)"))
        let offset = kind.rawValue * 8
        guard data.count >= offset + 8 else {
            throw CounterError(message: "counter file of \(pid) is \(data.count) bytes")
        }
        return data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int64.self) }
    }

    struct CounterError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
