// PROVISIONAL until the proxyheader branch is merged.
extension UnsafeMutablePointer where Pointee == Connection {
    func readProxyHeader() -> StepOutcome {
        continueHandshake()
    }

    func queueBackendPreamble() -> Bool {
        true
    }
}
