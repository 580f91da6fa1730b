import Glibc
import Testing

@testable import UnwrapdCore

@Suite struct LogLineTests {
    /// What `write` writes into a line of `capacity` bytes.
    private func written(capacity: Int = LogLine.capacity, _ write: (inout LogLine) -> Void) -> [UInt8] {
        withUnsafeTemporaryAllocation(byteCount: capacity, alignment: 1) { buffer in
            var line = LogLine(buffer)
            write(&line)
            return Array(buffer[..<line.count])
        }
    }

    @Test func integersInDecimal() {
        #expect(String { $0.append(0) } == "0")
        #expect(String { $0.append(-42) } == "-42")
        #expect(String { $0.append(Int.min) } == "-9223372036854775808")
        #expect(String { $0.appendDecimal(UInt64.max) } == "18446744073709551615")
        #expect(String { $0.appendDecimal(7, minimumDigits: 3) } == "007")
        #expect(String { $0.appendDecimal(12345, minimumDigits: 3) } == "12345")
    }

    @Test func timestampsAreUTCWithMilliseconds() {
        #expect(String { $0.appendTimestamp(timespec(tv_sec: 0, tv_nsec: 0)) } == "1970-01-01T00:00:00.000Z")
        #expect(
            String { $0.appendTimestamp(timespec(tv_sec: 1_795_428_420, tv_nsec: 123_999_999)) }
                == "2026-11-23T10:07:00.123Z")
        #expect(
            String { $0.appendTimestamp(timespec(tv_sec: 1_795_428_420 + 3599, tv_nsec: 5_000_000)) }
                == "2026-11-23T11:06:59.005Z")
    }

    /// A line that does not fit keeps what does, cut before a character that does not fit whole, and drops what
    /// comes after.
    @Test func whatDoesNotFitIsCutBeforeAWholeCharacter() {
        #expect(written(capacity: 8) { $0.append("abcdefghij") } == Array("abcdefgh".utf8))
        #expect(written(capacity: 8) { $0.append("abcdefg\u{e9}") } == Array("abcdefg".utf8))
        #expect(written(capacity: 8) { $0.append("abcdef\u{e9}") } == Array("abcdef\u{e9}".utf8))
        #expect(
            written(capacity: 8) { line in
                line.append("abcdef\u{20ac}")
                line.append("g")
            } == Array("abcdef".utf8))
        #expect(written(capacity: 8) { $0.append(123_456_789) } == [])
    }
}
