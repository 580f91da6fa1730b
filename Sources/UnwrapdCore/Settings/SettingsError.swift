/// A configuration mistake, reported in one line that names where it is and what was expected.
///
/// Rendered as `<where>: <message>`, where `<where>` is the option as written on the command line (`--backend`) or
/// `file:line` of the config file.
public struct SettingsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Where the offending value came from.
    public enum Location: Equatable, Sendable, CustomStringConvertible {
        case commandLine(option: String)
        case configFile(path: String, line: Int)
        /// A problem of the settings as a whole (e.g. two mutually exclusive options).
        case settings

        /// `--backend`, `unwrapd.conf:12`, or `the defaults`: for pointing at a second place in a message.
        public var description: String {
            switch self {
            case .commandLine(let option): option
            case .configFile(let path, let line): "\(path):\(line)"
            case .settings: "the defaults"
            }
        }
    }

    public var location: Location
    public var message: String

    public init(_ location: Location, _ message: String) {
        self.location = location
        self.message = message
    }

    /// An error about one setting. On the command line the option already names it (`--workers: ...`); in a config
    /// file the message is prefixed with the key (`unwrapd.conf:3: workers: ...`).
    init(_ location: Location, setting: String, _ message: String) {
        switch location {
        case .configFile: self.init(location, "\(setting): \(message)")
        case .commandLine, .settings: self.init(location, message)
        }
    }

    /// Runs a value parser; a `ValueError` becomes this error, at `location`, about `setting`.
    static func parsing<Value>(
        _ setting: String, at location: Location, _ value: @autoclosure () throws(ValueError) -> Value
    ) throws(SettingsError) -> Value {
        do throws(ValueError) {
            return try value()
        } catch {
            throw SettingsError(location, setting: setting, error.message)
        }
    }

    /// One line, whatever an option or path contained.
    public var description: String {
        let text =
            switch location {
            case .commandLine(let option): "\(option): \(message)"
            case .configFile(let path, let line): "\(path):\(line): \(message)"
            case .settings: message
            }
        return text.replacingNewlines
    }
}

extension SettingsError.Location {
    /// How a message refers to `setting` given here: `--write-ip` as written, or `write-ip (unwrapd.conf:3)`.
    func naming(_ setting: String) -> String {
        switch self {
        case .commandLine(let option): option
        case .configFile: "\(setting) (\(self))"
        case .settings: setting
        }
    }
}

extension String {
    /// Line breaks written as `\n`, so that a message stays on one line.
    fileprivate var replacingNewlines: String {
        String(flatMap { $0.isNewline ? Array("\\n") : [$0] })
    }

    /// The text in double quotes with quotes, backslashes and control characters escaped, so that a message stays on
    /// one line whatever was written.
    var quotedForMessage: String {
        var result = "\""
        for scalar in unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                result += "\\u{\(String(scalar.value, radix: 16))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
