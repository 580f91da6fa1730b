/// hitch's command line: getopt_long options (see `CommandLineOption.all`) and PEM files as operands.
///
/// Two passes, as hitch: every `--config` file is read first, in order; then every other option applies on top, in
/// order, so the command line overrides the files. `--frontend` adds to the files' frontends (the first frontend from
/// anywhere replaces the default `[*]:8443`) and the PEM operands come after the files' `pem-file`s.
public enum CommandLineParser {
    /// What `arguments` (with the program name first) ask for. `-h`, `-V` and `--default-config` win over everything
    /// else and read no file; with no arguments at all, as hitch, the answer is the help text.
    public static func parse(_ arguments: [String]) throws(SettingsError) -> Invocation {
        guard arguments.count > 1 else { return .showHelp }
        let (options, operands) = try GetoptScanner.scan(arguments.dropFirst(), options: CommandLineOption.all)
        for scanned in options {
            switch scanned.option.action {
            case .help: return .showHelp
            case .version: return .showVersion
            case .defaultConfiguration: return .showDefaultConfiguration
            case .config, .test, .setting: continue
            }
        }

        var builder = SettingsBuilder()
        for scanned in options where scanned.option.action == .config {
            let path = scanned.value ?? ""
            let text: String
            do throws(SystemError) {
                text = try readTextFile(path)
            } catch {
                throw SettingsError(
                    .commandLine(option: scanned.spelling),
                    "cannot read \(path.quotedForMessage): \(SystemError.reason(error.code))")
            }
            try ConfigFileParser.parse(text, path: path, into: &builder)
        }

        var testsConfiguration = false
        for scanned in options {
            switch scanned.option.action {
            case .setting(let key):
                try builder.set(key, to: scanned.value ?? "on", at: .commandLine(option: scanned.spelling))
            case .test:
                testsConfiguration = true
            case .config, .help, .version, .defaultConfiguration:
                continue
            }
        }
        for path in operands where !path.isEmpty {
            builder.addCertificate(CertificateSource(path: path), at: .commandLine(option: path))
        }

        let settings = try builder.validated()
        try builder.requireCertificates()
        return testsConfiguration ? .testConfiguration(settings) : .run(settings)
    }
}
