/// A TLS alert, by its RFC 8446 / IANA code; `name` is the spec's spelling ("unknown_ca"), so tests can say
/// `#expect(error.receivedAlert == .unknownCA)` and messages read like the RFC.
struct TLSAlert: Sendable, Hashable, CustomStringConvertible {
    let code: UInt8

    init(code: UInt8) { self.code = code }

    static let closeNotify = TLSAlert(code: 0)
    static let unexpectedMessage = TLSAlert(code: 10)
    static let badRecordMAC = TLSAlert(code: 20)
    static let recordOverflow = TLSAlert(code: 22)
    static let handshakeFailure = TLSAlert(code: 40)
    static let badCertificate = TLSAlert(code: 42)
    static let unsupportedCertificate = TLSAlert(code: 43)
    static let certificateRevoked = TLSAlert(code: 44)
    static let certificateExpired = TLSAlert(code: 45)
    static let certificateUnknown = TLSAlert(code: 46)
    static let illegalParameter = TLSAlert(code: 47)
    static let unknownCA = TLSAlert(code: 48)
    static let accessDenied = TLSAlert(code: 49)
    static let decodeError = TLSAlert(code: 50)
    static let decryptError = TLSAlert(code: 51)
    static let protocolVersion = TLSAlert(code: 70)
    static let insufficientSecurity = TLSAlert(code: 71)
    static let internalError = TLSAlert(code: 80)
    static let inappropriateFallback = TLSAlert(code: 86)
    static let userCanceled = TLSAlert(code: 90)
    static let noRenegotiation = TLSAlert(code: 100)
    static let missingExtension = TLSAlert(code: 109)
    static let unsupportedExtension = TLSAlert(code: 110)
    static let unrecognizedName = TLSAlert(code: 112)
    static let badCertificateStatusResponse = TLSAlert(code: 113)
    static let unknownPSKIdentity = TLSAlert(code: 115)
    static let certificateRequired = TLSAlert(code: 116)
    static let noApplicationProtocol = TLSAlert(code: 120)

    private static let names: [UInt8: String] = [
        0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
        22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate",
        42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked", 45: "certificate_expired",
        46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied",
        50: "decode_error", 51: "decrypt_error", 60: "export_restriction", 70: "protocol_version",
        71: "insufficient_security", 80: "internal_error", 86: "inappropriate_fallback", 90: "user_canceled",
        100: "no_renegotiation", 109: "missing_extension", 110: "unsupported_extension",
        111: "certificate_unobtainable", 112: "unrecognized_name", 113: "bad_certificate_status_response",
        114: "bad_certificate_hash_value", 115: "unknown_psk_identity", 116: "certificate_required",
        120: "no_application_protocol",
    ]

    /// The RFC name ("unknown_ca"), or "alert_<code>" for codes without one.
    var name: String { TLSAlert.names[code] ?? "alert_\(code)" }

    var description: String { "\(name) (\(code))" }
}
