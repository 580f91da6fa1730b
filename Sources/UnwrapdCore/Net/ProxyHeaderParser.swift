// PROVISIONAL stand-in until the proxyheader branch is merged.
/// Why a client's PROXY header was refused.
enum ProxyHeaderRejection: CustomStringConvertible {
    case malformed
    var description: String { "malformed" }
}
