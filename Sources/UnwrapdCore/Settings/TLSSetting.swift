/// One parsed TLS setting of those that may be given globally or in a frontend block. Parsing it once and applying it
/// to either `TLSOptions` or `TLSOverrides` keeps the two scopes from drifting apart.
enum TLSSetting: Equatable {
    case protocols(Set<TLSVersion>)
    /// `nil`: empty text, back to the default (globally) or to inheriting it (in a frontend).
    case ciphers(String?)
    case cipherSuites(String?)
    case preferServerCiphers(Bool)
    case sniNoMatchAbort(Bool)
    case clientVerify(ClientVerify)
    case clientVerifyCA(String?)
    /// `tls = off`, `ssl = off`: deprecated and without effect, as in hitch.
    case unchanged

    /// hitch's deprecated switches: `tls = on` selects TLSv1.0 to TLSv1.3, `ssl = on` adds SSLv3.
    static let tlsSwitchProtocols: Set<TLSVersion> = [.tls10, .tls11, .tls12, .tls13]
    static let sslSwitchProtocols: Set<TLSVersion> = tlsSwitchProtocols.union([.sslv3])

    /// The setting `key` = `text`; nil when `key` is not one of these TLS settings.
    static func parse(_ key: SettingKey, _ text: String) throws(ValueError) -> TLSSetting? {
        switch key {
        case .tlsProtocols: .protocols(try SettingValue.protocols(text))
        case .tls: try SettingValue.boolean(text) ? .protocols(tlsSwitchProtocols) : .unchanged
        case .ssl: try SettingValue.boolean(text) ? .protocols(sslSwitchProtocols) : .unchanged
        case .ciphers: .ciphers(SettingValue.optionalText(text))
        case .cipherSuites: .cipherSuites(SettingValue.optionalText(text))
        case .preferServerCiphers: .preferServerCiphers(try SettingValue.boolean(text))
        case .sniNoMatchAbort: .sniNoMatchAbort(try SettingValue.boolean(text))
        case .clientVerify: .clientVerify(try SettingValue.clientVerify(text))
        case .clientVerifyCA: .clientVerifyCA(SettingValue.optionalText(text))
        default: nil
        }
    }

    /// Whether this setting chooses the protocol versions (`tls-protos`, `tls = on`, `ssl = on`).
    var selectsProtocols: Bool {
        if case .protocols = self { return true }
        return false
    }
}

extension TLSOptions {
    mutating func apply(_ setting: TLSSetting) {
        switch setting {
        case .protocols(let value): protocols = value
        case .ciphers(let value): ciphers = value ?? TLSOptions().ciphers
        case .cipherSuites(let value): cipherSuites = value
        case .preferServerCiphers(let value): preferServerCiphers = value
        case .sniNoMatchAbort(let value): sniNoMatchAbort = value
        case .clientVerify(let value): clientVerify = value
        case .clientVerifyCA(let value): clientVerifyCA = value
        case .unchanged: break
        }
    }
}

extension TLSOverrides {
    mutating func apply(_ setting: TLSSetting) {
        switch setting {
        case .protocols(let value): protocols = value
        case .ciphers(let value): ciphers = value
        case .cipherSuites(let value): cipherSuites = value
        case .preferServerCiphers(let value): preferServerCiphers = value
        case .sniNoMatchAbort(let value): sniNoMatchAbort = value
        case .clientVerify(let value): clientVerify = value
        case .clientVerifyCA(let value): clientVerifyCA = value
        case .unchanged: break
        }
    }
}

/// hitch's rule for one scope of a config file: the protocols are chosen once, by `tls-protos`, `tls = on` or
/// `ssl = on`; a second choice is an error rather than a silent override.
struct ProtocolSelection {
    private var first: (key: SettingKey, location: SettingsError.Location)? = nil

    mutating func select(_ key: SettingKey, at location: SettingsError.Location) throws(SettingsError) {
        if let first {
            throw SettingsError(
                location, setting: key.rawValue,
                "the protocols were already chosen by \(first.location.naming(first.key.rawValue)); give them once, "
                    + "with tls-protos")
        }
        first = (key, location)
    }
}
