import Foundation
import Glibc

/// Read-only views of /proc: a process's children, whether a process is alive, who is in a process group.
enum ProcessTable {
    /// What /proc/<pid>/stat says about a process.
    struct Entry: Sendable, Equatable {
        let pid: pid_t
        let command: String
        /// R, S, D, Z (zombie), T, ...
        let state: Character
        let parent: pid_t
        let processGroup: pid_t
    }

    /// The entry for `pid`, nil if no such process.
    static func entry(_ pid: pid_t) -> Entry? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
        else { return nil }
        // The command may contain spaces and parentheses: it is everything between the first "(" and last ")".
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count >= 4, let state = fields[0].first, let parent = pid_t(fields[1]),
            let group = pid_t(fields[2])
        else { return nil }
        let command = String(stat[stat.index(after: open)..<close])
        return Entry(pid: pid, command: command, state: state, parent: parent, processGroup: group)
    }

    /// True when `pid` exists and is not a zombie (a zombie has exited and only waits to be reaped).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let entry = entry(pid) else { return false }
        return entry.state != "Z" && entry.state != "X"
    }

    /// The resident set size of `pid` in bytes (`VmRSS` of /proc/<pid>/status), nil if no such process.
    static func residentBytes(_ pid: pid_t) -> Int? { memoryBytes(pid, "VmRSS") }

    /// The size of `pid`'s address space in bytes (`VmSize`: all it has mapped or reserved), nil if no such process.
    static func addressSpaceBytes(_ pid: pid_t) -> Int? { memoryBytes(pid, "VmSize") }

    /// A `Vm…` field of /proc/<pid>/status in bytes.
    private static func memoryBytes(_ pid: pid_t, _ field: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") })
        else { return nil }
        // "VmRSS:\t    5120 kB"
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 3, fields[2] == "kB", let kilobytes = Int(fields[1]) else { return nil }
        return kilobytes * 1024
    }

    /// The children of `pid`, from /proc/<pid>/task/<tid>/children of each of its threads; sorted.
    static func children(of pid: pid_t) -> [pid_t] {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else {
            return []
        }
        var children: Set<pid_t> = []
        for thread in threads {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/children", encoding: .utf8)
            else { continue }
            children.formUnion(
                text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        }
        return children.sorted()
    }

    /// Live (non-zombie) members of process group `group`, sorted.
    static func members(ofProcessGroup group: pid_t) -> [pid_t] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { pid_t($0) }.filter { pid in
            guard let entry = entry(pid) else { return false }
            return entry.processGroup == group && entry.state != "Z" && entry.state != "X"
        }.sorted()
    }
}
