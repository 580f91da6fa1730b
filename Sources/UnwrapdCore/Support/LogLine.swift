import Glibc

/// The text of a log line, written straight into a fixed byte buffer: no `String`, no allocation.
///
/// The logger writes each line of a process into that process's one buffer (`Log.write`); descriptions that end up in
/// `String`s (a `SocketAddress` or an error in a setup message) are written by the same code into a temporary buffer
/// (`String.init(_:)` below), so each piece of text has one formatter. What does not fit is cut off, before a
/// character that does not fit whole; everything appended after that is dropped.
struct LogLine {
    /// The most a line holds, its newline included: `PIPE_BUF`, what one write(2) to a pipe writes without
    /// interleaving with other writers (the workers share the parent's stderr).
    static let capacity = 4096

    private var writer: ByteWriter

    /// A line written into `buffer`.
    init(_ buffer: UnsafeMutableRawBufferPointer) {
        writer = ByteWriter(buffer)
    }

    /// The number of bytes written.
    var count: Int { writer.count }

    mutating func append(_ text: StaticString) {
        append(utf8: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func append(_ text: String) {
        var text = text  // `withUTF8` is mutating; a native string is read in place
        text.withUTF8 { append(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// Appends UTF-8 text from memory (a UNIX socket's path).
    mutating func append(utf8 text: UnsafeRawBufferPointer) {
        writer.appendTruncating(text)
    }

    /// Appends a NUL-terminated C string (OpenSSL's error strings, strerror(3)).
    mutating func append(cString text: UnsafePointer<CChar>) {
        append(utf8: UnsafeRawBufferPointer(start: text, count: strlen(text)))
    }

    /// Appends `value` in decimal, `-` first when negative.
    mutating func append(_ value: Int) {
        if value < 0 { append("-") }
        writer.appendDecimal(UInt64(value.magnitude))
    }

    /// Appends `value` in decimal, with leading zeros up to `minimumDigits` digits.
    mutating func appendDecimal(_ value: UInt64, minimumDigits: Int = 1) {
        writer.appendDecimal(value, minimumDigits: minimumDigits)
    }

    /// Appends `value` as Swift's `description` writes it (`30.0`, `0.5`); that `String` needs no heap for up to 15
    /// characters, as every timeout a configuration sets in whole or decimal seconds.
    mutating func append(_ value: Double) {
        append(value.description)
    }

    /// Appends the text form of an `AF_INET` or `AF_INET6` address (`in_addr`/`in6_addr` bytes), as inet_ntop(3)
    /// writes it.
    mutating func appendNumericHost(family: Int32, address: UnsafeRawBufferPointer) {
        writer.appendNumericHost(family: family, address: address)
    }
}

extension String {
    /// The text `write` writes into a `LogLine` (of up to `LogLine.capacity` bytes, on the stack): descriptions share
    /// the log's formatters. Invalid UTF-8 is repaired as `String(decoding:as:)` does.
    init(_ write: (inout LogLine) -> Void) {
        self = withUnsafeTemporaryAllocation(byteCount: LogLine.capacity, alignment: 1) { buffer in
            var line = LogLine(buffer)
            write(&line)
            return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[..<line.count]), as: UTF8.self)
        }
    }
}
