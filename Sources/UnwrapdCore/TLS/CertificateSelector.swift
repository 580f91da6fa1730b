/// Picks a certificate by the client's SNI name, as hitch does: an exact name first, then a `*.parent` wildcard
/// (one label deep), case-insensitively. When several certificates claim a name, the one listed last wins.
struct CertificateSelector: Sendable {
    private let exact: HostNameTable
    /// Keyed by the parent domain: `*.example.com` is stored as `example.com`.
    private let wildcard: HostNameTable
    /// Names claimed by more than one certificate, for a start-up warning.
    let duplicateNames: [String]

    /// `names[i]` are the names of certificate `i`, in the order the certificates are listed.
    init(names: [[String]]) {
        var exact: [[UInt8]: Int] = [:]
        var wildcard: [[UInt8]: Int] = [:]
        var duplicates: [String] = []
        for (index, certificateNames) in names.enumerated() {
            for name in certificateNames {
                let normalized = CertificateSelector.normalize(name)
                let isDuplicate =
                    normalized.starts(with: "*.".utf8)
                    ? wildcard.updateValue(index, forKey: Array(normalized.dropFirst(2))) != nil
                    : exact.updateValue(index, forKey: normalized) != nil
                if isDuplicate { duplicates.append(String(decoding: normalized, as: UTF8.self)) }
            }
        }
        self.exact = HostNameTable(exact)
        self.wildcard = HostNameTable(wildcard)
        duplicateNames = duplicates
    }

    /// The index of the certificate for `serverName` (the bytes of the client's SNI name), or `nil` when none
    /// matches. Allocates nothing, in debug builds too: it runs in every handshake, so it walks the bytes by offset
    /// rather than through the generic collection methods, which an unoptimised build calls unspecialised (and
    /// `last` then allocates).
    func select(_ serverName: UnsafeRawBufferPointer) -> Int? {
        guard let start = serverName.baseAddress else { return exact.index(of: serverName) }
        let dot = UInt8(ascii: ".")
        var length = serverName.count
        if length > 0, serverName[length - 1] == dot { length -= 1 }
        let name = UnsafeRawBufferPointer(start: start, count: length)
        if let index = exact.index(of: name) { return index }
        var firstDot = 0
        while firstDot < length, name[firstDot] != dot { firstDot += 1 }
        // No dot, or nothing after it: no parent domain for a wildcard.
        guard firstDot + 1 < length else { return nil }
        return wildcard.index(of: UnsafeRawBufferPointer(start: start + firstDot + 1, count: length - firstDot - 1))
    }

    /// A certificate's name as the tables hold it: ASCII letters lowercased, without a trailing dot
    /// (`WWW.Example.COM.` → `www.example.com`).
    static func normalize(_ name: String) -> [UInt8] {
        let lowered = name.utf8.map(HostNameTable.lowercased)
        return lowered.last == UInt8(ascii: ".") ? Array(lowered.dropLast()) : lowered
    }
}
