import Glibc

/// Appends bytes to caller-provided memory and never writes past its end.
///
/// A write that does not fit is dropped (`appendTruncating` keeps the part that fits) and marks the writer as
/// overflowed; every later write is dropped too, and `finish()` reports `nil`. Encoders therefore write straight
/// through and check once, at the end; log lines (`LogLine`) keep what was written before.
///
/// No allocation: a stack value holding the caller's pointer and two counters; text comes from `StaticString`s,
/// numbers are formatted digit by digit, and addresses by inet_ntop(3) straight into the buffer. No generic
/// `Collection` algorithms either: unoptimised, they allocate per element. An LD_PRELOAD malloc counter saw no
/// allocation in the encoders, in debug or release builds.
struct ByteWriter {
    private let buffer: UnsafeMutableRawBufferPointer
    private(set) var count = 0
    private var overflowed = false

    init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.buffer = buffer
    }

    private var remaining: Int { buffer.count - count }

    /// The number of bytes written, or `nil` when something did not fit.
    func finish() -> Int? {
        overflowed ? nil : count
    }

    mutating func append(_ byte: UInt8) {
        guard !overflowed, remaining >= 1 else { return overflow() }
        buffer[count] = byte
        count += 1
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !overflowed, remaining >= bytes.count else { return overflow() }
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (buffer.baseAddress! + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends the bytes of `value` as they lie in memory: for addresses and ports already in network order.
    mutating func appendMemory<Value>(of value: Value) {
        withUnsafeBytes(of: value) { append($0) }
    }

    mutating func appendBigEndian(_ value: UInt32) {
        appendMemory(of: value.bigEndian)
    }

    /// Appends `value` in decimal, with leading zeros up to `minimumDigits` digits
    /// (`appendDecimal(7, minimumDigits: 3)`: `007`).
    mutating func appendDecimal(_ value: UInt64, minimumDigits: Int = 1) {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        digits = max(digits, minimumDigits)
        guard !overflowed, remaining >= digits else { return overflow() }
        rest = value
        var index = count + digits
        while index > count {
            index -= 1
            buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
        count += digits
    }

    /// Appends as much of the UTF-8 `text` as fits, cut before a character that does not fit whole, and overflows
    /// when that is not all of it: for log lines, which keep what fits.
    mutating func appendTruncating(_ text: UnsafeRawBufferPointer) {
        if text.count <= remaining { return append(text) }
        var fitting = remaining
        while fitting > 0 && text[fitting] & 0xC0 == 0x80 { fitting -= 1 }  // a continuation byte: not a cut point
        append(UnsafeRawBufferPointer(start: text.baseAddress, count: fitting))
        overflow()
    }

    /// Appends the text form of an `AF_INET` or `AF_INET6` address (`in_addr`/`in6_addr` bytes), as inet_ntop(3)
    /// writes it: `192.0.2.1`, `2001:db8::1`.
    ///
    /// inet_ntop also writes a NUL after the text; it lands inside the buffer, past `count`, where the next append
    /// overwrites it.
    mutating func appendNumericHost(family: Int32, address: UnsafeRawBufferPointer) {
        guard !overflowed, remaining > 0 else { return overflow() }
        let text = (buffer.baseAddress! + count).assumingMemoryBound(to: CChar.self)
        guard inet_ntop(family, address.baseAddress, text, socklen_t(remaining)) != nil else { return overflow() }
        count += strlen(text)
    }

    /// Reserves a 16-bit big-endian length field, to be filled by `endLength(startedAt:)` once the bytes it counts
    /// are written. Returns the field's offset.
    mutating func beginLength() -> Int {
        let offset = count
        append(0)
        append(0)
        return offset
    }

    /// Fills the length field at `offset` with the number of bytes written after it; overflows when that exceeds
    /// 65535.
    mutating func endLength(startedAt offset: Int) {
        guard !overflowed else { return }
        let length = count - offset - 2
        guard length <= Int(UInt16.max) else { return overflow() }
        buffer[offset] = UInt8(truncatingIfNeeded: length >> 8)
        buffer[offset + 1] = UInt8(truncatingIfNeeded: length)
    }

    private mutating func overflow() {
        overflowed = true
    }
}
