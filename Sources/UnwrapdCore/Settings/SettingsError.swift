/// A configuration mistake, reported in one line that names where it is and what was expected.
///
/// Rendered as `<where>: <message>`, where `<where>` is the option as written on the command line (`--backend`) or
/// `file:line` of the config file.
public struct SettingsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Where the offending value came from.
    public enum Location: Equatable, Sendable {
        case commandLine(option: String)
        case configFile(path: String, line: Int)
        /// A problem of the settings as a whole (e.g. two mutually exclusive options).
        case settings
    }

    public var location: Location
    public var message: String

    public init(_ location: Location, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String {
        switch location {
        case .commandLine(let option): "\(option): \(message)"
        case .configFile(let path, let line): "\(path):\(line): \(message)"
        case .settings: message
        }
    }
}
