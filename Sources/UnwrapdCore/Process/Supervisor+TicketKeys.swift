/// The parent gives the session-ticket keys a new one every `--ticket-key-rotation` seconds (`TicketKeys`): the
/// workers read the keys from memory they share with it, so they need no message.
extension Supervisor {
    /// Sets when the next key is due (at start, and after a reload): one interval from now, or sooner if an
    /// earlier schedule said so, so that reloads more frequent than the interval do not put rotation off for ever.
    mutating func scheduleKeyRotation() {
        let interval = Double(runtime.settings.ticketKeyRotationSeconds)
        guard runtime.ticketKeys != nil, interval > 0 else {
            nextKeyRotation = nil
            return
        }
        let due = MonotonicClock.now() + interval
        nextKeyRotation = min(nextKeyRotation ?? due, due)
    }

    /// A new key, if one is due; the next one an interval later.
    mutating func rotateTicketKeysWhenDue() {
        guard let due = nextKeyRotation, due <= MonotonicClock.now(), let keys = runtime.ticketKeys else { return }
        do {
            try keys.rotate()
            Log.info("session-ticket keys rotated: generation \(keys.generation)")
        } catch {
            Log.error("session-ticket keys not rotated: \(error); the current key stays in use")
        }
        nextKeyRotation = nil
        scheduleKeyRotation()
    }
}
