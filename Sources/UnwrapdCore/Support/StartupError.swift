/// Why the daemon cannot start (or why `-t` fails): one line an operator can act on, printed before exiting 1.
public enum StartupError: Error, Equatable, Sendable, CustomStringConvertible {
    case settings(SettingsError)
    case system(SystemError)
    case openSSL(OpenSSLError)
    case address(AddressError)
    /// A problem found while preparing the runtime that is neither a syscall nor an OpenSSL failure,
    /// e.g. "pem-file /etc/site.pem: the private key does not match the certificate".
    case invalid(String)

    public var description: String {
        switch self {
        case .settings(let error): error.description
        case .system(let error): error.description
        case .openSSL(let error): error.description
        case .address(let error): error.description
        case .invalid(let message): message
        }
    }
}
