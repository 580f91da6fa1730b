/// Host names and the certificate each one selects, looked up by the bytes of a client's SNI name as they lie in
/// its ClientHello: the names are kept lowercased and sorted, and a lookup is a binary search that folds the
/// client's letters to lowercase as it compares them. So a lookup copies nothing and allocates nothing, whatever
/// the name's length (a Swift `String` of more than 15 bytes lives on the heap: a lookup through `String`s cost
/// two allocations per connection for such a name).
struct HostNameTable: Sendable {
    /// The names, lowercased, each with the index of its certificate, sorted bytewise by name.
    private let entries: [(name: [UInt8], index: Int)]

    /// A table of `indexes`, which maps each lowercased name to its certificate's index.
    init(_ indexes: [[UInt8]: Int]) {
        entries = indexes.map { (name: $0.key, index: $0.value) }
            .sorted { $0.name.lexicographicallyPrecedes($1.name) }
    }

    /// The certificate index of `name`, its ASCII letters compared as lowercase; `nil` when no name matches.
    func index(of name: UnsafeRawBufferPointer) -> Int? {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            let order = HostNameTable.compare(name, entries[middle].name)
            if order == 0 { return entries[middle].index }
            if order < 0 { high = middle } else { low = middle + 1 }
        }
        return nil
    }

    /// `byte` with an ASCII capital letter folded to lowercase; any other byte as it is. SNI names are ASCII (RFC
    /// 6066, section 3): an internationalised name travels as its A-label (`xn--...`).
    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }

    /// Below, at or above zero as `name`, its letters folded, sorts before, with or after `stored`.
    private static func compare(_ name: UnsafeRawBufferPointer, _ stored: [UInt8]) -> Int {
        stored.withUnsafeBufferPointer { stored in
            for offset in 0..<min(name.count, stored.count) {
                let folded = lowercased(name[offset])
                if folded != stored[offset] { return Int(folded) - Int(stored[offset]) }
            }
            return name.count - stored.count
        }
    }
}
