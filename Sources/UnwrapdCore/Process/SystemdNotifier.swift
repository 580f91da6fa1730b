import Glibc

/// systemd's readiness protocol (`Type=notify`): datagrams such as `READY=1` to the socket named by
/// `NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace). Silent when the variable is not set.
enum SystemdNotifier {
    /// Sends `fields` (e.g. `["READY=1", "MAINPID=42"]`) as one datagram; failures are ignored, as sd_notify's are.
    static func notify(_ fields: [String]) {
        guard let variable = getenv("NOTIFY_SOCKET") else { return }
        var path = Array(String(cString: variable).utf8)
        guard !path.isEmpty else { return }
        if path[0] == UInt8(ascii: "@") { path[0] = 0 }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count)
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var message = fields.joined(separator: "\n") + "\n"
        message.withUTF8 { bytes in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    _ = sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, length)
                }
            }
        }
    }
}
