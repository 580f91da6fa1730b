import Glibc

/// Paths the daemon keeps using after `--daemon` changed its directory to `/` (pidfile, log file for SIGUSR1),
/// made absolute against the directory unwrapd was started in.
enum AbsolutePath {
    static func of(_ path: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let directory = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return directory.hasSuffix("/") ? directory + path : directory + "/" + path
    }
}
