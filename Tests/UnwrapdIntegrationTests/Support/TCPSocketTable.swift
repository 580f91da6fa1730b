import Glibc

/// Read-only view of /proc/net/tcp: what the kernel holds for a TCP/IPv4 loopback socket of any process in this
/// network namespace — the daemon's included.
enum TCPSocketTable {
    /// Bytes received but not yet read by the application (`rx_queue`) on the 127.0.0.1 socket whose local port is
    /// `localPort` and whose peer is 127.0.0.1:`remotePort`; nil when no such socket exists.
    ///
    /// For "the daemon has read what the client sent so far" (it is 0 then): the daemon's side of a client
    /// connection has the frontend port as local port and the client's port as remote port.
    static func receiveQueue(localPort: UInt16, remotePort: UInt16) -> Int? {
        // "tx_queue:rx_queue", in hex.
        guard let queues = fields(localPort: localPort, remotePort: remotePort)?[1].split(separator: ":"),
            queues.count == 2
        else { return nil }
        return Int(queues[1], radix: 16)
    }

    /// Whether a process still has that socket open: false once it is closed, whether the kernel has forgotten it
    /// or keeps it, orphaned (inode 0), until the peer's FIN or a timeout.
    static func isOpenInAProcess(localPort: UInt16, remotePort: UInt16) -> Bool {
        guard let inode = fields(localPort: localPort, remotePort: remotePort)?[6] else { return false }
        return inode != "0"
    }

    /// The fields after the addresses on the socket's line: state, "tx_queue:rx_queue", "tr:tm->when",
    /// retransmits, uid, timeout, inode, ...; nil when no such socket exists.
    ///
    /// The table lists every socket of the machine's namespace (tens of thousands of lines on a busy test host),
    /// so it is read with `read(2)` and searched with `strstr(3)`, not split into lines.
    private static func fields(localPort: UInt16, remotePort: UInt16) -> [Substring]? {
        guard var table = readTable() else { return nil }
        // A line: "  12: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 ..." (ports in hex, upper case).
        let needle = " 0100007F:\(hex(localPort)) 0100007F:\(hex(remotePort)) "
        table.append(0)
        let line = table.withUnsafeBufferPointer { buffer -> String? in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { text -> String? in
                guard let found = strstr(text, needle) else { return nil }
                let start = found + needle.utf8.count
                var end = start
                while end.pointee != 0 && end.pointee != 0x0A { end += 1 }
                return String(decoding: UnsafeRawBufferPointer(start: start, count: end - start), as: UTF8.self)
            }
        }
        let fields = line?.split(separator: " ")
        return fields.flatMap { $0.count > 6 ? $0 : nil }
    }

    private static func hex(_ port: UInt16) -> String {
        let digits = String(port, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    private static func readTable() -> [UInt8]? {
        let fd = open("/proc/net/tcp", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes += chunk[0..<count]
            } else if count == 0 {
                return bytes
            } else if errno != EINTR {
                return nil
            }
        }
    }
}
