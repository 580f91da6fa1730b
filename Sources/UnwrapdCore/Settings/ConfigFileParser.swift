/// Reads hitch.conf's grammar (see `hitch.conf(5)`): top-level settings, `frontend = { }` blocks with per-frontend
/// TLS settings and certificates, and `pem-file = { }` blocks. Values mean the same as the command line's (both go
/// through `SettingsBuilder`). Errors name `file:line` and the key.
public enum ConfigFileParser {
    /// The settings `text` describes, on top of the defaults, checked as a whole. `path` names the file in errors.
    /// Certificates are not required here: they may come from the command line.
    public static func parse(_ text: String, path: String) throws(SettingsError) -> Settings {
        var builder = SettingsBuilder()
        try parse(text, path: path, into: &builder)
        return try builder.validated()
    }

    /// Applies the settings of `text` to `builder` (the command line then applies its options on top).
    static func parse(_ text: String, path: String, into builder: inout SettingsBuilder) throws(SettingsError) {
        let tokens = try ConfigFileLexer.tokens(in: text, path: path)
        let interpreter = ConfigFileInterpreter(path: path)
        for assignment in try ConfigFileSyntax.assignments(in: tokens, path: path) {
            try interpreter.apply(assignment, to: &builder)
        }
    }
}

/// Gives the assignments of one file their meaning: which keys are allowed where, and what the blocks build.
private struct ConfigFileInterpreter {
    let path: String

    func apply(_ assignment: ConfigAssignment, to builder: inout SettingsBuilder) throws(SettingsError) {
        let location = location(assignment)
        let key = try self.key(assignment, in: .topLevel)
        switch (key, assignment.value) {
        case (.frontend, .block(let block)):
            try builder.addFrontend(try frontend(block, at: location, builder: &builder), at: location)
        case (.pemFile, .block(let block)):
            builder.addCertificate(try certificate(block, at: location, builder: &builder), at: location)
        case (_, .block):
            throw blockNotAllowed(key, at: location)
        case (_, .text(let words)):
            try builder.set(key, to: try text(of: key, words, at: location), at: location)
        }
    }

    /// A `frontend = { }` block: `host`, `port` (required), certificates and TLS settings of its own.
    private func frontend(
        _ block: [ConfigAssignment], at blockLocation: SettingsError.Location, builder: inout SettingsBuilder
    ) throws(SettingsError) -> Frontend {
        var frontend = Frontend(host: nil, port: "")
        var hasPort = false
        var protocolSelection = ProtocolSelection()
        for assignment in block {
            let location = location(assignment)
            let key = try self.key(assignment, in: .frontendBlock)
            if key == .pemFile, case .block(let certificateBlock) = assignment.value {
                frontend.certificates.append(try certificate(certificateBlock, at: location, builder: &builder))
                continue
            }
            guard case .text(let words) = assignment.value else { throw blockNotAllowed(key, at: location) }
            let text = try self.text(of: key, words, at: location)
            switch key {
            case .host:
                frontend.host = text.isEmpty || text == "*" ? nil : text
            case .port:
                frontend.port = try SettingsError.parsing(
                    key.rawValue, at: location, try Endpoint.port(text, allowsZero: true))
                hasPort = true
            case .pemFile:
                if !text.isEmpty { frontend.certificates.append(CertificateSource(path: text)) }
            case .matchGlobalCertificates:
                frontend.matchGlobalCertificates = try SettingsError.parsing(
                    key.rawValue, at: location, try SettingValue.boolean(text))
            default:
                let setting = try SettingsError.parsing(key.rawValue, at: location, try TLSSetting.parse(key, text)!)
                if setting.selectsProtocols { try protocolSelection.select(key, at: location) }
                frontend.tls.apply(setting)
            }
        }
        guard hasPort else {
            throw SettingsError(blockLocation, setting: "frontend", "expected port = \"PORT\" in the block, found none")
        }
        if frontend.matchGlobalCertificates == false, frontend.certificates.isEmpty {
            throw SettingsError(
                blockLocation, setting: "frontend",
                "match-global-certs = off but the block has no pem-file: \(frontend.displayName) would have no "
                    + "certificate")
        }
        return frontend
    }

    /// A `pem-file = { }` block: `cert` (required), `private-key`, `ocsp-resp-file`, `ocsp-verify-staple`,
    /// `client-verify`.
    private func certificate(
        _ block: [ConfigAssignment], at blockLocation: SettingsError.Location, builder: inout SettingsBuilder
    ) throws(SettingsError) -> CertificateSource {
        var certificate = CertificateSource(path: "")
        for assignment in block {
            let location = location(assignment)
            let key = try self.key(assignment, in: .pemFileBlock)
            guard case .text(let words) = assignment.value else { throw blockNotAllowed(key, at: location) }
            let text = try self.text(of: key, words, at: location)
            switch key {
            case .cert:
                certificate.path = text
            case .privateKey:
                certificate.privateKeyPath = SettingValue.optionalText(text)
            case .ocspResponseFile:
                certificate.ocspResponsePath = SettingValue.optionalText(text)
            case .ocspVerifyStaple:
                certificate.ocspVerifyStaple = try SettingsError.parsing(
                    key.rawValue, at: location, try SettingValue.boolean(text))
            default:
                certificate.clientVerify = try SettingsError.parsing(
                    key.rawValue, at: location, try SettingValue.clientVerify(text))
            }
        }
        guard !certificate.path.isEmpty else {
            throw SettingsError(blockLocation, setting: "pem-file", "expected cert = \"PATH\" in the block, found none")
        }
        return certificate
    }

    /// The key of `assignment`, if unwrapd knows it and it may appear in `scope`.
    private func key(_ assignment: ConfigAssignment, in scope: SettingKey.Scope) throws(SettingsError) -> SettingKey {
        let location = location(assignment)
        guard let key = SettingKey(rawValue: assignment.key) else {
            throw SettingsError(
                location,
                "expected a setting name (unwrapd --default-config lists them), found "
                    + assignment.key.quotedForMessage)
        }
        guard key.scopes.contains(scope) else {
            let allowed =
                key.scopes.isEmpty
                ? "only available on the command line (--\(key.rawValue))"
                : "only allowed " + key.scopes.map(\.phrase).joined(separator: " or ")
            throw SettingsError(location, setting: key.rawValue, "not allowed \(scope.phrase): \(allowed)")
        }
        return key
    }

    /// The text of a value: one word or string; lists (`tls-protos`, `alpn-protos`) may be several words.
    private func text(of key: SettingKey, _ words: [String], at location: SettingsError.Location) throws(SettingsError)
        -> String
    {
        if words.count == 1 || key == .tlsProtocols || key == .alpnProtocols { return words.joined(separator: " ") }
        throw SettingsError(
            location, setting: key.rawValue,
            "expected one value (quote text that contains spaces), found "
                + words.joined(separator: " ").quotedForMessage
        )
    }

    private func blockNotAllowed(_ key: SettingKey, at location: SettingsError.Location) -> SettingsError {
        SettingsError(
            location, setting: key.rawValue, "expected a value, found a { } block (only frontend and pem-file take one)"
        )
    }

    private func location(_ assignment: ConfigAssignment) -> SettingsError.Location {
        .configFile(path: path, line: assignment.line)
    }
}
