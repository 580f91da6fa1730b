/// Checks of the settings as a whole, once the config files and the command line have been applied: what no single
/// value can reveal. (Value ranges are checked as each value is parsed, and the mutually exclusive backend headers
/// as each is turned on, where the flag or line is at hand.)
extension SettingsBuilder {
    /// The settings, if they make sense together.
    func validated() throws(SettingsError) -> Settings {
        try rejectUnsupportedFeatures()
        try requireClientVerificationCAs()
        return settings
    }

    /// hitch: "No x509 certificate PEM file specified". Every frontend needs a certificate of its own or a global
    /// one; checked only when the daemon is to run or test its configuration.
    func requireCertificates() throws(SettingsError) {
        guard settings.certificates.isEmpty, settings.pemDirectory == nil else { return }
        for (index, frontend) in settings.frontends.enumerated() where frontend.certificates.isEmpty {
            throw SettingsError(
                frontendOrigin(index), setting: SettingKey.frontend.rawValue,
                "No x509 certificate PEM file specified for frontend \(frontend.displayName): give one as an "
                    + "argument, with pem-file in the config file, or as +CERT after the frontend's port")
        }
    }

    /// A feature unwrapd accepts for compatibility but does not implement yet is an error when it is given a value
    /// other than its default, at the flag or line that gave it.
    private func rejectUnsupportedFeatures() throws(SettingsError) {
        guard let key = settings.unsupportedFeatures.first else { return }
        throw SettingsError(origins[key] ?? .settings, setting: key.rawValue, "not supported yet by unwrapd")
    }

    /// hitch: "Setting 'client-verify-ca' is required when configuring client-verify", for every frontend with the
    /// global settings it inherits, and for every certificate that asks for client verification.
    private func requireClientVerificationCAs() throws(SettingsError) {
        let explanation = "needs client-verify-ca, the CA certificates that client certificates must chain to"
        for (index, frontend) in settings.frontends.enumerated() {
            let tls = settings.tls.overridden(by: frontend.tls)
            guard tls.clientVerifyCA == nil else { continue }
            if tls.clientVerify != .none {
                if frontend.tls.clientVerify != nil {
                    throw SettingsError(
                        frontendOrigin(index), setting: SettingKey.frontend.rawValue,
                        "client-verify = \(tls.clientVerify.rawValue) of \(frontend.displayName) \(explanation)")
                }
                throw SettingsError(
                    origins[.clientVerify] ?? .settings, setting: SettingKey.clientVerify.rawValue,
                    "\(tls.clientVerify.rawValue) \(explanation)")
            }
            if let certificate = frontend.certificates.first(where: \.asksForClientCertificate) {
                throw SettingsError(
                    frontendOrigin(index), setting: SettingKey.frontend.rawValue,
                    "client-verify of certificate \(certificate.path.quotedForMessage) \(explanation)")
            }
        }
        guard settings.tls.clientVerifyCA == nil else { return }
        for (index, certificate) in settings.certificates.enumerated() where certificate.asksForClientCertificate {
            throw SettingsError(
                certificateOrigins[index], setting: SettingKey.pemFile.rawValue,
                "client-verify of certificate \(certificate.path.quotedForMessage) \(explanation)")
        }
    }

    /// Where frontend `index` was defined; the defaults for hitch's default frontend.
    private func frontendOrigin(_ index: Int) -> SettingsError.Location {
        frontendOrigins.indices.contains(index) ? frontendOrigins[index] : .settings
    }
}

extension CertificateSource {
    /// `client-verify = optional|required` in this certificate's `pem-file` block.
    var asksForClientCertificate: Bool { clientVerify != nil && clientVerify != ClientVerify.none }
}

extension Settings {
    /// The features given a non-default value that unwrapd accepts for hitch compatibility but does not implement
    /// yet, in a fixed order. A value equal to the default (`ssl-engine = ""`) is not a use of the feature.
    var unsupportedFeatures: [SettingKey] {
        let used: [(SettingKey, Bool)] = [
            (.client, clientMode),
            (.sslEngine, sslEngine != nil),
            (.sharedCacheListen, sharedCacheListen != nil),
            (.sharedCachePeer, !sharedCachePeers.isEmpty),
            (.sharedCacheInterface, sharedCacheInterface != nil),
        ]
        return used.filter(\.1).map(\.0)
    }
}
