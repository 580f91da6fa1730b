import Glibc

extension TLSTestClient {
    /// Waits, without reading, until the peer has closed its end of the TCP connection, and tells how: `.reset` when
    /// it reset the connection (RST: the kernel of a peer that closes with unread bytes sends one, and a reset makes
    /// the client's next write fail), else `.eof` (FIN). Bytes the peer sent before stay readable either way.
    /// Throws `TimeoutError` when the peer keeps the connection open.
    func waitForPeerToClose(timeout: Duration = .seconds(5)) throws -> StreamEnd {
        let readHangUp = Int16(0x2000)  // POLLRDHUP: the peer shut down its writing side (FIN)
        var descriptor = pollfd(fd: fd, events: readHangUp, revents: 0)
        let deadline = Deadline.after(timeout)
        while true {
            let result = poll(&descriptor, 1, deadline.pollMilliseconds)
            if result > 0 { break }
            if result == 0 { throw TimeoutError(waitingFor: "\(endpoint) to close the connection", timeout: timeout) }
            if errno != EINTR { throw SystemCallError("poll") }
        }
        if descriptor.revents & Int16(POLLERR) != 0 { return .reset }
        var pending: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &pending, &length)
        return pending == ECONNRESET ? .reset : .eof
    }
}
