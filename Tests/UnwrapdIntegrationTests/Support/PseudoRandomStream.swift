import COpenSSL
import Synchronization

/// A deterministic stream of pseudo-random bytes (the AES-128-CTR keystream of a key made from `seed`), so both
/// ends of a large transfer can produce or check it chunk by chunk without keeping it. Generated in C (fast even
/// in debug builds). `PseudoRandomStream.sha256(count:seed:)` is the digest a receiver of `count` bytes must see.
final class PseudoRandomStream: @unchecked Sendable {
    private let context: OpaquePointer
    private var zeros: [UInt8] = []

    init(seed: UInt64) {
        context = EVP_CIPHER_CTX_new()!
        var key = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: seed.littleEndian) { key.replaceSubrange(0..<8, with: $0) }
        let iv = [UInt8](repeating: 0, count: 16)
        EVP_EncryptInit_ex(context, EVP_aes_128_ctr(), nil, key, iv)
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// The next `count` bytes of the stream.
    func next(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { fill($0) }
        return bytes
    }

    /// Overwrites `buffer` with the next `buffer.count` bytes of the stream.
    func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard buffer.count > 0 else { return }
        if zeros.count < buffer.count { zeros = [UInt8](repeating: 0, count: buffer.count) }
        var written: Int32 = 0
        let output = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        EVP_EncryptUpdate(context, output, &written, zeros, Int32(buffer.count))
    }

    private static let digests = Mutex<[String: String]>([:])

    /// SHA-256 (hex) of the first `count` bytes of the stream for `seed`; computed once per process.
    static func sha256(count: Int, seed: UInt64) -> String {
        let key = "\(seed)/\(count)"
        if let known = digests.withLock({ $0[key] }) { return known }
        let digest = forEachChunk(count: count, seed: seed) { _ in }
        digests.withLock { $0[key] = digest }
        return digest
    }

    /// Hands the first `count` bytes of the stream for `seed` to `body` in order, in chunks of at most `chunkSize`
    /// (one buffer, reused: copy what you keep); returns the SHA-256 (hex) of them all. What every sender of a
    /// pseudo-random stream, and its checker, is built on.
    @discardableResult
    static func forEachChunk<Failure: Error>(
        count: Int, seed: UInt64, chunkSize: Int = 1 << 16, _ body: (UnsafeRawBufferPointer) throws(Failure) -> Void
    ) throws(Failure) -> String {
        let stream = PseudoRandomStream(seed: seed)
        let hasher = SHA256Hasher()
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: min(chunkSize, count), alignment: 1)
        defer { chunk.deallocate() }
        var remaining = count
        while remaining > 0 {
            let part = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<min(remaining, chunk.count)])
            stream.fill(part)
            hasher.update(UnsafeRawBufferPointer(part))
            try body(UnsafeRawBufferPointer(part))
            remaining -= part.count
        }
        return hasher.hexDigest
    }
}

/// A byte stream read to its end without being kept: how many bytes, their SHA-256, how it ended.
struct HashedStream: Sendable, Equatable {
    let byteCount: Int
    let sha256: String
    let end: StreamEnd

    /// What a reader sees of the first `count` bytes of `PseudoRandomStream(seed:)`, ended by `end`:
    /// `#expect(try client.readAndHashToEnd() == .pseudoRandom(count: size, seed: 7))`.
    static func pseudoRandom(count: Int, seed: UInt64, end: StreamEnd = .closeNotify) -> HashedStream {
        HashedStream(byteCount: count, sha256: PseudoRandomStream.sha256(count: count, seed: seed), end: end)
    }
}

/// How the peer ended a byte stream.
enum StreamEnd: Sendable, Equatable, CustomStringConvertible {
    /// TLS close_notify alert (for plain TCP: never).
    case closeNotify
    /// The connection closed (FIN) — for TLS, without close_notify.
    case eof
    /// The connection was reset (RST).
    case reset

    var description: String {
        switch self {
        case .closeNotify: "close_notify"
        case .eof: "EOF"
        case .reset: "connection reset"
        }
    }
}
