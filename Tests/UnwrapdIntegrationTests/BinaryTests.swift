import Glibc
import Testing

/// The daemon binary is there for the integration tests to start.
@Suite struct BinaryTests {
    @Test func binaryIsBuiltNextToTheTestRunner() {
        #expect(DaemonProcess.binaryPath.hasSuffix("/unwrapd"))
        #expect(access(DaemonProcess.binaryPath, X_OK) == 0, "no executable at \(DaemonProcess.binaryPath)")
    }

    @Test func binaryRunsToCompletionWithoutCrashing() throws {
        let output = try DaemonProcess.run(["--help"])
        #expect(!output.timedOut, "\(output)")
        guard case .exited = output.status else {
            Issue.record("the binary crashed: \(output)")
            return
        }
    }
}
