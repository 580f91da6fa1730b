import COpenSSL

/// The server's ALPN list in wire format (each protocol as a length byte and its bytes), and the OpenSSL select
/// callback that picks from it.
///
/// The list is allocated once at start-up and lives as long as the contexts pointing at it.
struct ALPNProtocols {
    /// What the select callback receives as its argument.
    struct WireList {
        var bytes: UnsafeMutablePointer<UInt8>
        var count: UInt32
    }

    let list: UnsafeMutablePointer<WireList>

    /// `nil` when `protocols` is empty (no ALPN). Throws when a protocol is empty or longer than 255 bytes.
    init?(_ protocols: [String]) throws(StartupError) {
        guard !protocols.isEmpty else { return nil }
        var encoded: [UInt8] = []
        for name in protocols {
            let bytes = Array(name.utf8)
            guard (1...255).contains(bytes.count) else {
                throw .invalid("alpn-protos: protocol name '\(name)' must be 1 to 255 bytes long")
            }
            encoded.append(UInt8(bytes.count))
            encoded.append(contentsOf: bytes)
        }
        let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: encoded.count)
        bytes.initialize(from: encoded, count: encoded.count)
        list = .allocate(capacity: 1)
        list.initialize(to: WireList(bytes: bytes, count: UInt32(encoded.count)))
    }

    /// Makes `context` select from this list; a client whose list does not overlap gets a fatal
    /// `no_application_protocol` alert. Clients that offer no ALPN are not affected.
    func install(in context: OpaquePointer) {
        SSL_CTX_set_alpn_select_cb(context, onALPNSelect, list)
    }
}

/// OpenSSL's ALPN select callback: the server's preference order wins (`SSL_select_next_proto`).
private func onALPNSelect(
    _ ssl: OpaquePointer?, _ selected: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ selectedLength: UnsafeMutablePointer<UInt8>?, _ offered: UnsafePointer<UInt8>?, _ offeredLength: UInt32,
    _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    guard let argument, let offered, let selected, let selectedLength else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    let server = argument.assumingMemoryBound(to: ALPNProtocols.WireList.self).pointee
    var choice: UnsafeMutablePointer<UInt8>? = nil
    let outcome = SSL_select_next_proto(&choice, selectedLength, server.bytes, server.count, offered, offeredLength)
    guard outcome == OPENSSL_NPN_NEGOTIATED, let choice else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    selected.pointee = UnsafePointer(choice)
    return SSL_TLSEXT_ERR_OK
}
