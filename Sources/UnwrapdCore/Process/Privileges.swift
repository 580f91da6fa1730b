import Glibc

/// Who workers run as, looked up by the parent before forking so that a wrong name fails at start-up.
///
/// Workers never run as root: when unwrapd starts as root without `--user`, workers run as `nobody`.
struct WorkerIdentity: Equatable {
    let userID: uid_t
    let groupID: gid_t
    /// `user:group` for logs.
    let name: String

    /// The identity for `user`/`group`, or `nil` when no change is needed (not root, nothing asked).
    static func resolve(user: String?, group: String?) throws(StartupError) -> WorkerIdentity? {
        let isRoot = geteuid() == 0
        guard isRoot else {
            if user != nil || group != nil {
                throw .invalid(
                    "--user/--group: unwrapd must be started as root to change user (running as uid \(geteuid()))")
            }
            return nil
        }
        let userName = user ?? "nobody"
        guard let account = getpwnam(userName) else {
            throw .invalid("--user: no such user '\(userName)'")
        }
        var groupID = account.pointee.pw_gid
        var groupName = group
        if let group {
            guard let entry = getgrnam(group) else { throw .invalid("--group: no such group '\(group)'") }
            groupID = entry.pointee.gr_gid
        } else if let entry = getgrgid(groupID) {
            groupName = String(cString: entry.pointee.gr_name)
        }
        guard account.pointee.pw_uid != 0 else {
            throw .invalid("--user: '\(userName)' is root; workers must not run as root")
        }
        return WorkerIdentity(
            userID: account.pointee.pw_uid, groupID: groupID, name: "\(userName):\(groupName ?? String(groupID))")
    }
}

/// Applies `--chroot` and the worker identity in a freshly forked worker, in the only safe order:
/// chroot (needs root), then supplementary groups, group, user; then checks root cannot be regained.
enum PrivilegeDrop {
    static func apply(identity: WorkerIdentity?, chroot directory: String?) throws(StartupError) {
        if let directory {
            guard chroot(directory) == 0 else { throw .system(SystemError("chroot", directory)) }
            guard chdir("/") == 0 else { throw .system(SystemError("chdir", "/ in the chroot \(directory)")) }
        }
        guard let identity else { return }
        guard setgroups(0, nil) == 0 else { throw .system(SystemError("setgroups")) }
        guard setgid(identity.groupID) == 0 else { throw .system(SystemError("setgid", identity.name)) }
        guard setuid(identity.userID) == 0 else { throw .system(SystemError("setuid", identity.name)) }
        guard setuid(0) != 0 else { throw .invalid("privileges could still be regained after dropping them") }
    }
}
