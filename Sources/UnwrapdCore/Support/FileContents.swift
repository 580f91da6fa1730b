import CUnwrapdShims
import Glibc

/// The contents of the file at `path`, read with open/read/close.
func readFile(_ path: String) throws(SystemError) -> [UInt8] {
    let descriptor = unwrapd_open(path, O_RDONLY | O_CLOEXEC, 0)
    guard descriptor >= 0 else { throw SystemError("open", path) }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16 * 1024)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count == 0 { break }
        if count < 0 {
            if errno == EINTR { continue }
            throw SystemError("read", path)
        }
        bytes.append(contentsOf: chunk[..<count])
    }
    return bytes
}

/// Writes all of `bytes` to `descriptor`, again after a short write or EINTR; false when a write fails (`errno`
/// says why).
@discardableResult
func writeFully(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        if written < 0 && errno == EINTR { continue }
        if written <= 0 { return false }
        offset += written
    }
    return true
}

/// The contents of the file at `path` as text (invalid UTF-8 is replaced, not rejected).
func readTextFile(_ path: String) throws(SystemError) -> String {
    String(decoding: try readFile(path), as: UTF8.self)
}
