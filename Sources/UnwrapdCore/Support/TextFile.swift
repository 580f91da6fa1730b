import CUnwrapdShims
import Glibc

/// The contents of the file at `path` as text (invalid UTF-8 is replaced, not rejected), read with open/read/close.
func readTextFile(_ path: String) throws(SystemError) -> String {
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
    return String(decoding: bytes, as: UTF8.self)
}
