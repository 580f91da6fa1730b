import Glibc

extension LogLine {
    /// Appends `time` in UTC with milliseconds, `2026-11-23T10:07:00.123Z`, digit by digit.
    mutating func appendTimestamp(_ time: timespec) {
        var seconds = time.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        appendDecimal(UInt64(clamping: parts.tm_year + 1900), minimumDigits: 4)
        append("-")
        appendDecimal(UInt64(clamping: parts.tm_mon + 1), minimumDigits: 2)
        append("-")
        appendDecimal(UInt64(clamping: parts.tm_mday), minimumDigits: 2)
        append("T")
        appendDecimal(UInt64(clamping: parts.tm_hour), minimumDigits: 2)
        append(":")
        appendDecimal(UInt64(clamping: parts.tm_min), minimumDigits: 2)
        append(":")
        appendDecimal(UInt64(clamping: parts.tm_sec), minimumDigits: 2)
        append(".")
        appendDecimal(UInt64(clamping: time.tv_nsec / 1_000_000), minimumDigits: 3)
        append("Z")
    }
}

/// `2026-12-07T03:42:49.000Z` for seconds since the epoch, as log lines write times: a certificate's validity, an
/// OCSP response's nextUpdate.
func utcText(_ seconds: Int) -> String {
    String { $0.appendTimestamp(timespec(tv_sec: seconds, tv_nsec: 0)) }
}
