import Foundation
import Testing

@Suite struct BinaryTests {
    @Test func binaryIsBuiltNextToTheTestRunner() throws {
        let directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        #expect(FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("unwrapd").path))
    }
}
