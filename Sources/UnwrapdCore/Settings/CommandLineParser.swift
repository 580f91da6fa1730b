// PROVISIONAL: minimal parser used until the settings branch is merged.
public enum CommandLineParser {
    public static func parse(_ arguments: [String]) throws(SettingsError) -> Invocation {
        var settings = Settings()
        var test = false
        var iterator = arguments.dropFirst().makeIterator()
        var explicitFrontends: [Frontend] = []
        func endpoint(_ text: String) -> (String?, String) {
            let inner = text.dropFirst()
            let close = inner.lastIndex(of: "]")!
            let host = String(inner[..<close])
            return (host == "*" ? nil : host, String(inner[inner.index(close, offsetBy: 2)...]))
        }
        while let argument = iterator.next() {
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            let name = parts[0]
            func value() -> String { parts.count > 1 ? parts[1] : (iterator.next() ?? "") }
            switch name {
            case "-f", "--frontend":
                let (host, port) = endpoint(value())
                explicitFrontends.append(Frontend(host: host, port: port))
            case "-b", "--backend":
                let text = value()
                if text.hasPrefix("/") { settings.backend = .unix(path: text) } else {
                    let (host, port) = endpoint(text)
                    settings.backend = .inet(host: host ?? "127.0.0.1", port: port)
                }
            case "-n", "--workers": settings.workers = .fixed(Int(value()) ?? 1)
            case "-L", "--log-level": settings.logLevel = Int(value()) ?? 1
            case "--write-proxy-v1": settings.backendHeader = .proxyV1
            case "--write-proxy-v2", "--write-proxy": settings.backendHeader = .proxyV2
            case "--write-ip": settings.backendHeader = .clientIP
            case "--proxy-proxy": settings.backendHeader = .passThrough
            case "--alpn-protos": settings.alpnProtocols = value().split(separator: ",").map(String.init)
            case "--ssl-handshake-timeout": settings.handshakeTimeout = Double(value()) ?? 30
            case "--backend-connect-timeout": settings.backendConnectTimeout = Double(value()) ?? 30
            case "-u", "--user": settings.user = value()
            case "-t", "--test": test = true
            case "-h", "--help": return .showHelp
            case "-V", "--version": return .showVersion
            default:
                if name.hasPrefix("-") { throw SettingsError(.commandLine(option: name), "unknown option") }
                settings.certificates.append(CertificateSource(path: argument))
            }
        }
        if !explicitFrontends.isEmpty { settings.frontends = explicitFrontends }
        return test ? .testConfiguration(settings) : .run(settings)
    }
}
