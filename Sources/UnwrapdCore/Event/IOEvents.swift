import CUnwrapdShims

/// libev's event bits as `Int32`, the type watchers and callbacks use (libev's enum imports as `Int`).
enum IOEvents {
    static let read = Int32(EV_READ)
    static let write = Int32(EV_WRITE)
    static let both = read | write
    /// Fed by the relay to itself (`ev_feed_event`) to continue work left over by its per-event budget.
    static let resume = Int32(EV_CUSTOM)
}
