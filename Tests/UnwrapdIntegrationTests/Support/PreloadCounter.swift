import Foundation
import Glibc

/// An LD_PRELOAD counting library from `Fixtures/` (`malloc_counter.c`, `syscall_counter.c`): each process it is
/// loaded into counts into a shared file `<countsDirectory>/<pid>` of 8-byte counters, which a test reads while the
/// process runs. A forked worker gets a file of its own.
struct PreloadCounter {
    /// The compiled library.
    let library: String
    /// Where the processes' count files go.
    let countsDirectory: String

    /// Compiles `Fixtures/<fixture>` with the system C compiler into `directory`.
    init(_ fixture: String, in directory: TestDirectory) throws {
        library = try PreloadLibrary.compile(fixture, in: directory)
        countsDirectory = directory.file("counts")
        try FileManager.default.createDirectory(atPath: countsDirectory, withIntermediateDirectories: false)
        chmod(countsDirectory, 0o777)  // the worker writes its file after dropping privileges
    }

    /// The environment that loads the library into a process.
    var environment: [String: String] { ["LD_PRELOAD": library, "UNWRAPD_COUNT_DIR": countsDirectory] }

    /// Counter `index` of process `pid` so far.
    func count(_ index: Int, of pid: pid_t) throws -> Int64 {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(countsDirectory)/\(pid)"))
        let offset = index * 8
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

/// An LD_PRELOAD library built from `Fixtures/` for a test.
enum PreloadLibrary {
    /// Compiles `Fixtures/<fixture>` with the system C compiler into `directory`; returns the library's path.
    static func compile(_ fixture: String, in directory: TestDirectory) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/\(fixture)").path
        let library = directory.file("lib\(fixture).so")
        var failures: [String] = []
        for compiler in ["cc", "clang", "gcc"] {
            let output = try ProcessRunner.run(
                "/usr/bin/env", [compiler, "-shared", "-fPIC", "-O2", "-o", library, source, "-lpthread", "-ldl"],
                timeout: .seconds(60))
            if output.status == .exited(0) { return library }
            failures.append("\(compiler): \(output.stderrText)")
        }
        throw PreloadCounter.CounterError(message: "cannot compile \(fixture): \(failures.joined(separator: "; "))")
    }
}

/// unwrapd with one worker in front of an echo backend, started with a `PreloadCounter` loaded, and the counts of
/// its worker.
struct CountedDaemon {
    /// The certificate's name: 15 bytes, so that a Swift `String` of it needs no heap.
    static let serverName = "counted.example"
    /// The certificate's other name, longer than a `String` holds without the heap.
    static let longServerName = "a-name-longer-than-fifteen-bytes.counted.example"
    let port: UInt16
    /// Kept for the daemon's life: the directory goes when its last reference does.
    private let directory: TestDirectory
    private let counter: PreloadCounter
    private let backend: TestBackend
    private let daemon: DaemonProcess
    private let worker: pid_t

    /// Starts the daemon with `arguments` added to its command line.
    init(_ name: String, counting fixture: String, addressSpaceLimited: Bool = false, arguments: [String] = []) throws {
        directory = try TestDirectory(name)
        counter = try PreloadCounter(fixture, in: directory)
        let pem = try TestCertificates(in: directory).server([CountedDaemon.serverName, CountedDaemon.longServerName])
            .pemFile
        backend = try TestBackend(.echo)
        port = try Ports.freeTCPPort()
        let arguments =
            ["-n", "1", "--frontend=[127.0.0.1]:\(port)", "--backend=\(backend.hitchAddress)"] + arguments + [pem]
        do {
            daemon = try DaemonProcess.start(
                arguments, in: directory, addressSpaceLimited: addressSpaceLimited, environment: counter.environment)
        } catch {
            backend.stop()
            throw error
        }
        guard let worker = daemon.childPIDs().first else {
            daemon.kill()
            backend.stop()
            throw PreloadCounter.CounterError(message: "the daemon started no worker")
        }
        self.worker = worker
    }

    /// A client of the daemon, not yet connected, with `options` (by default: TLS 1.3 and the certificate's name).
    func client(_ options: TLSClientOptions = .init(serverName: CountedDaemon.serverName)) throws -> TLSTestClient {
        try TLSTestClient(port: port, options: options)
    }

    /// The worker's `counter` so far: a case of a test's enum of its fixture's counters, by index.
    func count<Counter: RawRepresentable>(_ counter: Counter) throws -> Int64 where Counter.RawValue == Int {
        try self.counter.count(counter.rawValue, of: worker)
    }

    /// The lines of the daemon's log (stderr) so far that contain `text`.
    func logLines(containing text: String) -> [String] { daemon.logLines(containing: text) }

    func stop() {
        daemon.kill()
        backend.stop()
    }
}
