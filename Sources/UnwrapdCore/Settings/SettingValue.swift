import Glibc

/// A value that does not parse: what was expected and what was found. The parsers turn it into a `SettingsError`
/// that adds where the value came from (the option as written, or `file:line` and the key).
struct ValueError: Error, Equatable {
    var expected: String
    var found: String

    /// `expected a number of at least 1 or auto, found "0"`
    var message: String { "expected \(expected), found \(found.quotedForMessage)" }
}

/// Parsers for the textual values of settings, shared by the command line and the config file so that a value means
/// the same in both places. Each takes the text as written (quotes already removed) and throws `ValueError`.
enum SettingValue {
    /// hitch's booleans, case-insensitive: yes/y/on/true/t and no/n/off/false/f.
    static func boolean(_ text: String) throws(ValueError) -> Bool {
        switch text.lowercased() {
        case "on", "yes", "y", "true", "t": return true
        case "off", "no", "n", "false", "f": return false
        default: throw ValueError(expected: "on or off", found: text)
        }
    }

    /// A decimal integer (optional leading `-`) within `range`; `expected` describes the range for the message.
    static func integer(_ text: String, in range: ClosedRange<Int>, expected: String) throws(ValueError) -> Int {
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let value = Int(text), range.contains(value) else {
            throw ValueError(expected: expected, found: text)
        }
        return value
    }

    /// A number of seconds greater than zero; fractions allowed (`2.5`).
    static func seconds(_ text: String) throws(ValueError) -> Double {
        let expected = "a number of seconds greater than 0"
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
            let value = Double(text), value > 0, value.isFinite
        else { throw ValueError(expected: expected, found: text) }
        return value
    }

    /// `-n/--workers`: a count of at least 1, or `auto` (one per CPU, hitch 1.8).
    static func workers(_ text: String) throws(ValueError) -> WorkerCount {
        if text.lowercased() == "auto" { return .perCPU }
        return .fixed(try integer(text, in: 1...Int(Int32.max), expected: "a number of at least 1 or auto"))
    }

    /// `-L/--log-level`: 0 silent, 1 errors, 2 info, 3 debug (unwrapd's addition).
    static func logLevel(_ text: String) throws(ValueError) -> Int {
        try integer(text, in: 0...3, expected: "a log level from 0 to 3")
    }

    /// `tls-protos`: protocol names separated by spaces (or commas), e.g. `TLSv1.2 TLSv1.3`.
    static func protocols(_ text: String) throws(ValueError) -> Set<TLSVersion> {
        let expected = "TLS versions from SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3"
        let names = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," })
        guard !names.isEmpty else { throw ValueError(expected: expected, found: text) }
        var versions = Set<TLSVersion>()
        for name in names {
            guard let version = TLSVersion.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() })
            else { throw ValueError(expected: expected, found: String(name)) }
            versions.insert(version)
        }
        return versions
    }

    /// `client-verify`: none, optional, required (or `require`, as hitch's manual spells it).
    static func clientVerify(_ text: String) throws(ValueError) -> ClientVerify {
        switch text.lowercased() {
        case "none": return .none
        case "optional": return .optional
        case "required", "require": return .required
        default: throw ValueError(expected: "none, optional or required", found: text)
        }
    }

    /// `alpn-protos`: comma-separated protocol names; spaces are ignored and a trailing comma is tolerated, as hitch
    /// does. Empty text: no ALPN.
    static func alpnProtocols(_ text: String) throws(ValueError) -> [String] {
        let compact = text.filter { $0 != " " && $0 != "\t" }
        if compact.isEmpty { return [] }
        var names = compact.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if names.last == "" { names.removeLast() }
        guard !names.contains(""), names.allSatisfy({ $0.utf8.count <= 255 }) else {
            throw ValueError(
                expected: "comma-separated protocol names of 1 to 255 bytes, e.g. \"h2,http/1.1\"", found: text)
        }
        return names
    }

    /// `syslog-facility`: the names hitch accepts.
    static func syslogFacility(_ text: String) throws(ValueError) -> String {
        guard syslogFacilities.contains(where: { $0.name == text }) else {
            let names = syslogFacilities.map(\.name).joined(separator: ", ")
            throw ValueError(expected: "a syslog facility (\(names))", found: text)
        }
        return text
    }

    /// Optional text: empty means "not set", as in hitch where `user = ""` leaves the user unset.
    static func optionalText(_ text: String) -> String? { text.isEmpty ? nil : text }

    /// A number of seconds as written back into a config file: `30`, `2.5`.
    static func text(seconds: Double) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int(seconds)) : String(seconds)
    }

    /// `-n/--workers` as written: `4` or `auto`.
    static func text(workers: WorkerCount) -> String {
        switch workers {
        case .fixed(let count): String(count)
        case .perCPU: "auto"
        }
    }

    /// The syslog facilities hitch knows, with their syslog(3) codes.
    static let syslogFacilities: [(name: String, code: Int32)] = [
        ("auth", LOG_AUTH), ("authpriv", LOG_AUTHPRIV), ("cron", LOG_CRON), ("daemon", LOG_DAEMON), ("ftp", LOG_FTP),
        ("lpr", LOG_LPR), ("mail", LOG_MAIL), ("news", LOG_NEWS), ("user", LOG_USER), ("uucp", LOG_UUCP),
        ("local0", LOG_LOCAL0), ("local1", LOG_LOCAL1), ("local2", LOG_LOCAL2), ("local3", LOG_LOCAL3),
        ("local4", LOG_LOCAL4), ("local5", LOG_LOCAL5), ("local6", LOG_LOCAL6), ("local7", LOG_LOCAL7),
    ]
}

extension Settings {
    /// The syslog(3) facility code for `syslogFacility` (validated when parsed; `LOG_DAEMON` otherwise).
    public var syslogFacilityCode: Int32 {
        SettingValue.syslogFacilities.first(where: { $0.name == syslogFacility })?.code ?? LOG_DAEMON
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
