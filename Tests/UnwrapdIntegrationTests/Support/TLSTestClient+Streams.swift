/// Large transfers through a `TLSTestClient` without keeping the data: pseudo-random bytes out, hashes in.
extension TLSTestClient {
    /// Writes `count` bytes of `PseudoRandomStream(seed:)`; returns their SHA-256.
    @discardableResult
    func writePseudoRandom(count: Int, seed: UInt64 = 1, chunkSize: Int = 1 << 16) throws -> String {
        try PseudoRandomStream.forEachChunk(count: count, seed: seed, chunkSize: chunkSize) { try write(Array($0)) }
    }

    /// Reads until the peer ends the stream, hashing without keeping.
    func readAndHashToEnd(timeout: Duration? = nil) throws -> HashedStream {
        let hasher = SHA256Hasher()
        var count = 0
        let end = try consumeToEnd(timeout: timeout) { chunk in
            hasher.update(chunk)
            count += chunk.count
        }
        return HashedStream(byteCount: count, sha256: hasher.hexDigest, end: end)
    }

    /// Against an echoing peer: writes `count` pseudo-random bytes in chunks, reading each chunk's echo before
    /// writing the next (one thread cannot write and read at once). Returns the SHA-256 of what was sent and of
    /// what came back.
    func echoInLockstep(count: Int, seed: UInt64 = 1, chunkSize: Int = 1 << 14) throws
        -> (sent: String, received: String)
    {
        let received = SHA256Hasher()
        let sent = try PseudoRandomStream.forEachChunk(count: count, seed: seed, chunkSize: chunkSize) { chunk in
            try write(Array(chunk))
            received.update(try read(exactly: chunk.count))
        }
        return (sent, received.hexDigest)
    }
}
