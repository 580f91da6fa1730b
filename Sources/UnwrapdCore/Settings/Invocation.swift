/// What the command line asks for: run the daemon, check the configuration, or print something and exit.
public enum Invocation: Equatable, Sendable {
    /// Start the daemon with these settings.
    case run(Settings)
    /// `-t/--test`: validate everything the parent validates before forking (certificates, keys, bind), then exit.
    case testConfiguration(Settings)
    /// `-h/--help`.
    case showHelp
    /// `-V/--version`.
    case showVersion
    /// `--default-config`: print a complete, commented configuration file that `--config` reads back.
    case showDefaultConfiguration
}
