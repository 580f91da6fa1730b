extension Settings {
    /// The settings that differ between `self` (running) and `successor` but that a reload (SIGHUP) cannot apply,
    /// by their config-file names: the parent applied them once at start (it detached, wrote the PID file, opened
    /// the log and mapped the session cache before the first fork), or they are options of the listening sockets,
    /// which a reload keeps (and accepted sockets inherit them). Everything else takes effect with the new workers.
    public func changesNeedingRestart(in successor: Settings) -> [String] {
        var names: [String] = []
        if backlog != successor.backlog { names.append(SettingKey.backlog.rawValue) }
        if keepaliveSeconds != successor.keepaliveSeconds { names.append(SettingKey.keepalive.rawValue) }
        if receiveBufferSize != successor.receiveBufferSize { names.append(SettingKey.receiveBufferSize.rawValue) }
        if sendBufferSize != successor.sendBufferSize { names.append(SettingKey.sendBufferSize.rawValue) }
        if tcpFastOpen != successor.tcpFastOpen { names.append(SettingKey.tcpFastOpen.rawValue) }
        if daemonize != successor.daemonize { names.append(SettingKey.daemon.rawValue) }
        if pidFile != successor.pidFile { names.append(SettingKey.pidFile.rawValue) }
        if logFile != successor.logFile { names.append(SettingKey.logFile.rawValue) }
        if syslog != successor.syslog { names.append(SettingKey.syslog.rawValue) }
        if syslogFacility != successor.syslogFacility { names.append(SettingKey.syslogFacility.rawValue) }
        if sessionCacheSize != successor.sessionCacheSize { names.append(SettingKey.sessionCache.rawValue) }
        return names
    }
}
