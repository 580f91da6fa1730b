import CUnwrapdShims
import Glibc

/// The daemon's entry point: parse the command line and config file, prepare everything that can fail, then
/// become the supervisor of the workers. Returns the process exit status.
public enum Unwrapd {
    public static let version = "0.1.0"

    public static func run(_ arguments: [String]) -> Int32 {
        // First of all: OpenSSL accepts an allocator only before its first allocation.
        OpenSSLAllocator.install()
        let invocation: Invocation
        do {
            invocation = try CommandLineParser.parse(arguments)
        } catch {
            return fail(error.description)
        }
        switch invocation {
        case .showHelp:
            printOut(Usage.helpText)
            return 0
        case .showVersion:
            printOut(Usage.versionText)
            return 0
        case .showDefaultConfiguration:
            printOut(DefaultConfiguration.text)
            return 0
        case .testConfiguration(let settings):
            do {
                let runtime = try prepare(settings, forTest: true)
                runtime.closeListeners()
                printOut("unwrapd: configuration OK (\(runtime.summary))\n")
                return 0
            } catch {
                return fail(error.description)
            }
        case .run(let settings):
            return serve(settings, arguments: arguments)
        }
    }

    /// Everything before the first fork; any failure is one line and exit status 1.
    private static func prepare(_ settings: Settings, forTest: Bool) throws(StartupError) -> Runtime {
        // OpenSSL writes alerts with write(2): a client that vanished must not kill the process.
        _ = unwrapd_sigaction_ignore(SIGPIPE)
        // A daemon has no stderr: without a log file its lines go to syslog.
        let useSyslog = settings.syslog || (settings.daemonize && settings.logFile == nil)
        do {
            try Log.configure(
                level: LogLevel(rawValue: settings.logLevel) ?? .error, quiet: settings.quiet,
                file: settings.logFile.map(AbsolutePath.of),
                syslogFacility: useSyslog ? settings.syslogFacilityCode : nil)
        } catch {
            throw .system(error)
        }
        return try Runtime.prepare(settings, forTest: forTest)
    }

    /// Runs the daemon; `arguments` are read again on a reload.
    private static func serve(_ settings: Settings, arguments: [String]) -> Int32 {
        let runtime: Runtime
        let shared: UnsafeMutablePointer<unwrapd_shared_counters>
        var pidFile: PidFile? = nil
        let startDirectory: Int32
        do {
            runtime = try prepare(settings, forTest: false)
            let pidFilePath = settings.pidFile.map(AbsolutePath.of)
            // Before --daemon moves to `/`: a reload reads the command line's relative paths from here.
            startDirectory = unwrapd_open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
            if settings.daemonize { try Daemonizer.detach() }
            if let path = pidFilePath {
                pidFile = PidFile(path: path)
                try pidFile?.write(pid: getpid())
            }
            shared = try SharedCounters.map()
        } catch {
            return fail(error.description)
        }
        Signals.blockHandled()
        var supervisor = Supervisor(
            runtime: runtime, arguments: arguments, startDirectory: startDirectory, shared: shared)
        let status = supervisor.run()
        pidFile?.remove()
        return status
    }

    /// Reports a start-up failure as one line on stderr (`unwrapd: <what and where>`) and returns status 1.
    private static func fail(_ message: String) -> Int32 {
        write("unwrapd: \(message)\n", to: STDERR_FILENO)
        return 1
    }

    private static func printOut(_ text: String) {
        write(text, to: STDOUT_FILENO)
    }

    private static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { _ = Glibc.write(descriptor, $0.baseAddress, $0.count) }
    }
}
