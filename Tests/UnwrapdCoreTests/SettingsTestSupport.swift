import Foundation
import Testing

@testable import UnwrapdCore

/// The settings `arguments` (after the program name) run the daemon with; fails the test for any other outcome.
func runSettings(_ arguments: String...) throws -> Settings {
    let invocation = try CommandLineParser.parse(["unwrapd"] + arguments)
    guard case .run(let settings) = invocation else {
        Issue.record("expected .run, got \(invocation)")
        return Settings()
    }
    return settings
}

/// The one-line message `arguments` are refused with; nil (and a recorded issue) when they are accepted.
func commandLineError(_ arguments: String...) -> String? {
    do {
        let invocation = try CommandLineParser.parse(["unwrapd"] + arguments)
        Issue.record("expected an error, got \(invocation)")
        return nil
    } catch {
        return error.description
    }
}

/// The settings of a config file with `text`, named `test.conf` in messages.
func configSettings(_ text: String) throws -> Settings {
    try ConfigFileParser.parse(text, path: "test.conf")
}

/// The one-line message a config file with `text` is refused with.
func configError(_ text: String) -> String? {
    do {
        let settings = try ConfigFileParser.parse(text, path: "test.conf")
        Issue.record("expected an error, got \(settings)")
        return nil
    } catch {
        return error.description
    }
}

/// Writes `text` to a new file with a unique name in the temporary directory, runs `body` with its path, removes it.
func withConfigFile<Result>(_ text: String, _ body: (String) throws -> Result) throws -> Result {
    let path = NSTemporaryDirectory() + "unwrapd-test-\(UUID().uuidString).conf"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}
