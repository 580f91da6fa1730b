import Foundation

/// Files of the source tree the tests compare the daemon with (`Config/unwrapd.conf`), located from this file's
/// path at compile time: `<root>/Tests/UnwrapdIntegrationTests/Support/ProjectFiles.swift`.
enum ProjectFiles {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `<root>/<relativePath>`.
    static func path(_ relativePath: String) -> String { root + "/" + relativePath }

    /// The contents of `<root>/<relativePath>`.
    static func read(_ relativePath: String) throws -> String {
        try String(contentsOfFile: path(relativePath), encoding: .utf8)
    }
}
