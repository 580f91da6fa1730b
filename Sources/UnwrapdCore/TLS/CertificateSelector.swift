/// Picks a certificate by the client's SNI name, as hitch does: an exact name first, then a `*.parent` wildcard
/// (one label deep), case-insensitively. When several certificates claim a name, the one listed last wins.
struct CertificateSelector: Sendable {
    private var exact: [String: Int] = [:]
    /// Keyed by the parent domain: `*.example.com` is stored as `example.com`.
    private var wildcard: [String: Int] = [:]
    /// Names claimed by more than one certificate, for a start-up warning.
    private(set) var duplicateNames: [String] = []

    /// `names[i]` are the names of certificate `i`, in the order the certificates are listed.
    init(names: [[String]]) {
        for (index, certificateNames) in names.enumerated() {
            for name in certificateNames {
                let normalized = CertificateSelector.normalize(name)
                if normalized.hasPrefix("*.") {
                    let parent = String(normalized.dropFirst(2))
                    if wildcard.updateValue(index, forKey: parent) != nil { duplicateNames.append(normalized) }
                } else if exact.updateValue(index, forKey: normalized) != nil {
                    duplicateNames.append(normalized)
                }
            }
        }
    }

    /// The index of the certificate for `serverName`, or `nil` when none matches.
    func select(_ serverName: String) -> Int? {
        let name = CertificateSelector.normalize(serverName)
        if let index = exact[name] { return index }
        guard let dot = name.firstIndex(of: ".") else { return nil }
        let parent = name[name.index(after: dot)...]
        return parent.isEmpty ? nil : wildcard[String(parent)]
    }

    /// Lowercased, without a trailing dot (`WWW.Example.COM.` → `www.example.com`).
    static func normalize(_ name: String) -> String {
        let lowered = name.lowercased()
        return lowered.hasSuffix(".") ? String(lowered.dropLast()) : lowered
    }
}
