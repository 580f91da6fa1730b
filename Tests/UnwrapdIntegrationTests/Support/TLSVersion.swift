/// A TLS protocol version, with OpenSSL's wire value, name and `openssl s_client` flag. The case names follow
/// `UnwrapdCore.TLSVersion`'s.
enum TLSVersion: Int32, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    case tls10 = 0x0301
    case tls11 = 0x0302
    case tls12 = 0x0303
    case tls13 = 0x0304

    /// The name `SSL_get_version` and hitch's `--tls-protos` use: "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3".
    var description: String {
        switch self {
        case .tls10: "TLSv1"
        case .tls11: "TLSv1.1"
        case .tls12: "TLSv1.2"
        case .tls13: "TLSv1.3"
        }
    }

    /// The `openssl s_client`/`s_server` flag that pins this version: "-tls1", "-tls1_1", "-tls1_2", "-tls1_3".
    var opensslFlag: String {
        switch self {
        case .tls10: "-tls1"
        case .tls11: "-tls1_1"
        case .tls12: "-tls1_2"
        case .tls13: "-tls1_3"
        }
    }

    static func < (lhs: TLSVersion, rhs: TLSVersion) -> Bool { lhs.rawValue < rhs.rawValue }
}
