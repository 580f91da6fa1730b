/// An option found on the command line, with its value and its spelling for messages (`-b`, `--backend`).
struct ScannedOption {
    var option: CommandLineOption
    /// The argument; nil for flags and for optional arguments not given (`--daemon`).
    var value: String?
    var spelling: String
}

/// getopt_long's scanning rules, as hitch gets them from glibc:
/// - `-b ARG` and `-bARG`; short flags cluster (`-qs`, `-qsb ARG`);
/// - `--name=ARG` and `--name ARG` for required arguments; optional ones only as `--name=ARG`;
/// - a long name may be shortened to any unambiguous prefix (`--work=2`);
/// - options and operands may be mixed; `--` ends the options; a lone `-` is an operand.
enum GetoptScanner {
    /// The options in the order given, and the operands (PEM files) in theirs.
    static func scan(
        _ arguments: ArraySlice<String>, options: [CommandLineOption]
    ) throws(SettingsError) -> (options: [ScannedOption], operands: [String]) {
        var scanned: [ScannedOption] = []
        var operands: [String] = []
        var remaining = arguments
        while let argument = remaining.popFirst() {
            if argument == "--" {
                operands += remaining
                break
            } else if argument.hasPrefix("--") {
                scanned.append(try longOption(argument.dropFirst(2), options: options, remaining: &remaining))
            } else if argument.hasPrefix("-"), argument.count > 1 {
                scanned += try shortOptions(argument.dropFirst(), options: options, remaining: &remaining)
            } else {
                operands.append(argument)
            }
        }
        return (scanned, operands)
    }

    /// `--name`, `--name=value` or `--name value` (the latter for required arguments only).
    private static func longOption(
        _ text: Substring, options: [CommandLineOption], remaining: inout ArraySlice<String>
    ) throws(SettingsError) -> ScannedOption {
        let name = text.prefix { $0 != "=" }
        let attached = name.count < text.count ? String(text.dropFirst(name.count + 1)) : nil
        let (option, fullName) = try match(name, options: options)
        let spelling = "--" + fullName
        switch option.argument {
        case .none:
            if let attached {
                throw SettingsError(
                    .commandLine(option: spelling), ValueError(expected: "no value", found: attached).message)
            }
            return ScannedOption(option: option, value: nil, spelling: spelling)
        case .optionalBoolean:
            return ScannedOption(option: option, value: attached, spelling: spelling)
        case .required:
            guard let value = attached ?? remaining.popFirst() else { throw missingValue(spelling) }
            return ScannedOption(option: option, value: value, spelling: spelling)
        }
    }

    /// A cluster such as `-qs` or `-qsbVALUE`: flags up to the first option that takes an argument, which takes the
    /// rest of the cluster or else the next argument.
    private static func shortOptions(
        _ cluster: Substring, options: [CommandLineOption], remaining: inout ArraySlice<String>
    ) throws(SettingsError) -> [ScannedOption] {
        var result: [ScannedOption] = []
        var rest = cluster
        while let letter = rest.popFirst() {
            let spelling = "-\(letter)"
            guard let option = options.first(where: { $0.short == letter }) else {
                throw SettingsError(.commandLine(option: spelling), "unknown option (unwrapd --help lists them)")
            }
            guard option.argument == .required else {
                result.append(ScannedOption(option: option, value: nil, spelling: spelling))
                continue
            }
            guard let value = rest.isEmpty ? remaining.popFirst() : String(rest) else { throw missingValue(spelling) }
            result.append(ScannedOption(option: option, value: value, spelling: spelling))
            break
        }
        return result
    }

    /// The option a long name means: an exact name, else the only option with a name starting so.
    private static func match(
        _ name: Substring, options: [CommandLineOption]
    ) throws(SettingsError) -> (CommandLineOption, String) {
        for option in options {
            if let exact = option.names.first(where: { $0 == name }) { return (option, exact) }
        }
        let candidates = options.compactMap { option in
            option.names.first(where: { $0.hasPrefix(name) }).map { (option, $0) }
        }
        guard !name.isEmpty, let first = candidates.first else {
            throw SettingsError(.commandLine(option: "--\(name)"), "unknown option (unwrapd --help lists them)")
        }
        guard candidates.count == 1 else {
            let names = candidates.map { "--\($0.1)" }.joined(separator: ", ")
            throw SettingsError(.commandLine(option: "--\(name)"), "ambiguous option: could be \(names)")
        }
        return first
    }

    private static func missingValue(_ spelling: String) -> SettingsError {
        SettingsError(.commandLine(option: spelling), "expected a value after the option, found none")
    }
}
