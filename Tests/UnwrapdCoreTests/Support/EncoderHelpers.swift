import Testing

/// Runs an encoder over a zeroed buffer of `capacity` bytes; returns the bytes it reports as written, or `nil`.
func encoded(capacity: Int = 70_000, _ encode: (UnsafeMutableRawBufferPointer) -> Int?) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: capacity)
    guard let count = buffer.withUnsafeMutableBytes(encode) else { return nil }
    return Array(buffer[..<count])
}

/// Expects `encode` to refuse every buffer shorter than `length` bytes with `nil`, and to write nothing past the end
/// of the buffer it was given (checked against sentinel bytes that follow it in memory).
func expectRefusesShortBuffers(
    needing length: Int, sourceLocation: SourceLocation = #_sourceLocation,
    _ encode: (UnsafeMutableRawBufferPointer) -> Int?
) {
    let sentinel: UInt8 = 0xA5
    for capacity in 0..<length {
        var memory = [UInt8](repeating: sentinel, count: length + 16)
        let result = memory.withUnsafeMutableBytes { encode(UnsafeMutableRawBufferPointer(rebasing: $0[..<capacity])) }
        #expect(result == nil, "encoded into \(capacity) bytes", sourceLocation: sourceLocation)
        #expect(
            memory[capacity...].allSatisfy { $0 == sentinel }, "wrote past \(capacity) bytes",
            sourceLocation: sourceLocation)
    }
}

/// The bytes of an ASCII string.
func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A view of a string literal's bytes, valid for the whole test run.
func view(_ text: StaticString) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
}
