import Foundation
import Glibc

/// A fresh temporary directory for one test: certificates, logs, UNIX sockets and config files go here.
///
/// It is traversable by everyone (0755), so workers that dropped privileges to `nobody` can reach UNIX sockets
/// inside it. Removed on `remove()` or deinit, unless `UNWRAPD_KEEP_TEST_DIRECTORIES=1` is set (for debugging;
/// the path is then printed).
final class TestDirectory: @unchecked Sendable {
    let path: String
    private var removed = false

    /// Creates `/tmp/unwrapd-<label>-XXXXXX`; keep `label` short: UNIX socket paths are limited to 107 bytes.
    init(_ label: String = "test") throws(SystemCallError) {
        let safeLabel = String(label.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }.prefix(24))
        var template = Array("/tmp/unwrapd-\(safeLabel)-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SystemCallError("mkdtemp(/tmp/unwrapd-\(safeLabel)-XXXXXX)")
        }
        path = String(cString: created)
        chmod(path, 0o755)
    }

    deinit { remove() }

    /// The path of `name` inside the directory.
    func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Writes `contents` to `name` (mode 0644) and returns its path.
    @discardableResult
    func write(_ contents: String, to name: String) throws -> String {
        try write(Array(contents.utf8), to: name)
    }

    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let target = file(name)
        guard
            FileManager.default.createFile(
                atPath: target, contents: Data(bytes), attributes: [.posixPermissions: 0o644])
        else { throw SystemCallError("create \(target)", errno: errno == 0 ? EIO : errno) }
        return target
    }

    /// The contents of `name` as text ("" if missing).
    func read(_ name: String) -> String {
        (try? String(contentsOfFile: file(name), encoding: .utf8)) ?? ""
    }

    /// Deletes the directory and everything in it (once).
    func remove() {
        guard !removed else { return }
        removed = true
        if ProcessInfo.processInfo.environment["UNWRAPD_KEEP_TEST_DIRECTORIES"] == "1" {
            print("kept test directory \(path)")
            return
        }
        try? FileManager.default.removeItem(atPath: path)
    }
}
