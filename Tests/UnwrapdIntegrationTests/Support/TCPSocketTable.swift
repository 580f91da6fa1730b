import Glibc

/// Read-only view of /proc/net/tcp: what the kernel holds for a TCP/IPv4 loopback socket of any process in this
/// network namespace — the daemon's included.
enum TCPSocketTable {
    /// Bytes received but not yet read by the application (`rx_queue`) on the 127.0.0.1 socket whose local port is
    /// `localPort` and whose peer is 127.0.0.1:`remotePort`; nil when no such socket exists.
    ///
    /// For "the daemon has read what the client sent so far" (it is 0 then): the daemon's side of a client
    /// connection has the frontend port as local port and the client's port as remote port.
    ///
    /// The table lists every socket of the machine's namespace (tens of thousands of lines on a busy test host),
    /// so it is read with `read(2)` and searched with `strstr(3)`, not split into lines.
    static func receiveQueue(localPort: UInt16, remotePort: UInt16) -> Int? {
        guard var table = readTable() else { return nil }
        // A line: "  12: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 ..." (ports in hex, upper case).
        let needle = " 0100007F:\(hex(localPort)) 0100007F:\(hex(remotePort)) "
        table.append(0)
        return table.withUnsafeBufferPointer { buffer -> Int? in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { text -> Int? in
                guard let found = strstr(text, needle) else { return nil }
                // Then the state ("01 "), then "tx_queue:rx_queue".
                let queues = found + needle.utf8.count + 3
                var end = queues
                while end.pointee != 0 && end.pointee != 0x20 { end += 1 }
                let field = String(decoding: UnsafeRawBufferPointer(start: queues, count: end - queues), as: UTF8.self)
                let parts = field.split(separator: ":")
                guard parts.count == 2 else { return nil }
                return Int(parts[1], radix: 16)
            }
        }
    }

    /// The inode numbers of the sockets listening on 127.0.0.1:`localPort` (one per worker slot: the daemon's sockets
    /// set `SO_REUSEPORT`), sorted; for "the same sockets are still listening".
    static func listeningInodes(localPort: UInt16) -> [UInt64] {
        guard var table = readTable() else { return [] }
        // A listening socket's line: "  3: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000
        // 65534 0 123456 ..." (state 0A, then tx:rx, tr:when, retransmits, uid, timeout, inode).
        let needle = " 0100007F:\(hex(localPort)) 00000000:0000 0A "
        table.append(0)
        return table.withUnsafeBufferPointer { buffer -> [UInt64] in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { text -> [UInt64] in
                var inodes: [UInt64] = []
                var cursor = text
                while let found = strstr(cursor, needle) {
                    var end = found
                    while end.pointee != 0 && end.pointee != 0x0A { end += 1 }
                    let line = String(decoding: UnsafeRawBufferPointer(start: found, count: end - found), as: UTF8.self)
                    let fields = line.split(separator: " ")
                    // local, remote, state, tx:rx, tr:when, retransmits, uid, timeout, inode
                    if fields.count > 8, let inode = UInt64(fields[8]) { inodes.append(inode) }
                    cursor = UnsafePointer(end)
                }
                return inodes.sorted()
            }
        }
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
