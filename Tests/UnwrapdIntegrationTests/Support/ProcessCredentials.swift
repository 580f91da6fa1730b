import Foundation
import Glibc

/// Who a process runs as, from /proc/<pid>/status: its user and group IDs (real, effective, saved, filesystem)
/// and supplementary groups. For "workers run as nobody while the parent stays root".
struct ProcessCredentials: Sendable, Equatable, CustomStringConvertible {
    /// Real, effective, saved set and filesystem user IDs.
    let userIDs: [uid_t]
    /// Real, effective, saved set and filesystem group IDs.
    let groupIDs: [gid_t]
    /// Supplementary groups.
    let groups: [gid_t]

    /// The credentials of `pid`, nil if it does not exist (or /proc/<pid>/status has no Uid/Gid lines).
    init?(of pid: pid_t) {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func numbers(_ field: String) -> [UInt32]? {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else {
                return nil
            }
            return line.dropFirst(field.count + 1).split(whereSeparator: { $0 == "\t" || $0 == " " })
                .compactMap { UInt32($0) }
        }
        guard let users = numbers("Uid"), users.count == 4, let groupIDs = numbers("Gid"), groupIDs.count == 4
        else { return nil }
        userIDs = users
        self.groupIDs = groupIDs
        groups = numbers("Groups") ?? []
    }

    /// True when every user ID (real, effective, saved, filesystem) is `user` and every group ID is `group`.
    func isEntirely(user: uid_t, group: gid_t) -> Bool {
        userIDs.allSatisfy { $0 == user } && groupIDs.allSatisfy { $0 == group }
    }

    var description: String {
        "Uid \(userIDs.map(String.init).joined(separator: ",")) Gid \(groupIDs.map(String.init).joined(separator: ","))"
            + " Groups [\(groups.map(String.init).joined(separator: ","))]"
    }

    /// The user ID and primary group ID of account `name`, nil if there is none.
    static func account(_ name: String) -> (user: uid_t, group: gid_t)? {
        guard let entry = getpwnam(name) else { return nil }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// The group ID of group `name`, nil if there is none.
    static func group(_ name: String) -> gid_t? {
        getgrnam(name)?.pointee.gr_gid
    }
}
