import Glibc

/// `--syslog-facility` names (as syslog.conf spells them) and their codes.
enum SyslogFacility {
    static let codes: [String: Int32] = [
        "auth": LOG_AUTH, "authpriv": LOG_AUTHPRIV, "cron": LOG_CRON, "daemon": LOG_DAEMON, "ftp": LOG_FTP,
        "kern": LOG_KERN, "lpr": LOG_LPR, "mail": LOG_MAIL, "news": LOG_NEWS, "syslog": LOG_SYSLOG, "user": LOG_USER,
        "uucp": LOG_UUCP, "local0": LOG_LOCAL0, "local1": LOG_LOCAL1, "local2": LOG_LOCAL2, "local3": LOG_LOCAL3,
        "local4": LOG_LOCAL4, "local5": LOG_LOCAL5, "local6": LOG_LOCAL6, "local7": LOG_LOCAL7,
    ]

    /// The code for `name`, `LOG_DAEMON` for an unknown one (the settings parser rejects those).
    static func code(_ name: String) -> Int32 {
        codes[name.lowercased()] ?? LOG_DAEMON
    }
}
