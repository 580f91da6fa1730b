import COpenSSL
import CUnwrapdShims
import Glibc

/// The session-ticket keys that every context of every worker encrypts and decrypts tickets with, so that a ticket
/// one worker issued resumes on any other, and their rotation (`--ticket-key-rotation`).
///
/// They live in one anonymous shared mapping the parent makes before the first fork and keeps across reloads: the
/// key of generation `g` (name 16 bytes, HMAC key 32, AES key 32) in slot `g % slotCount`, and the current
/// generation, which the parent advances only once the new key is written (a release store; workers read it with
/// an acquire load). New tickets are encrypted with the current key. A ticket decrypts with it or with one of the
/// `decryptWindow - 1` keys before it, and then brings its client a new ticket. The slot the parent writes next
/// holds a key no ticket may use any more, so no worker reads what is being written.
struct TicketKeys {
    static let slotCount = 4
    /// Generations a ticket decrypts in: the current one and the two before.
    static let decryptWindow = 3
    static let nameLength = 16
    /// Name, HMAC key, AES key.
    static let keyLength = 80
    private static let slotsOffset = 64

    /// The keys the contexts of this process use (set when they are installed, in the parent before fork).
    @exclusivity(unchecked) nonisolated(unsafe) fileprivate static var active: TicketKeys?

    /// The shared page: the generation, then the slots.
    private let region: UnsafeMutableRawPointer
    /// AES-256-CBC, fetched once rather than for every ticket.
    fileprivate let cipher: OpaquePointer

    /// A shared page holding fresh random keys, generation 0.
    init() throws(StartupError) {
        guard let cipher = EVP_CIPHER_fetch(nil, "AES-256-CBC", nil) else {
            throw .openSSL(OpenSSLError("fetch AES-256-CBC for session tickets"))
        }
        let size = Int(getpagesize())
        guard let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
            mapped != MAP_FAILED
        else {
            EVP_CIPHER_free(cipher)
            throw .system(SystemError("mmap session ticket keys"))
        }
        region = mapped
        self.cipher = cipher
        try writeKey(ofGeneration: 0)
        unwrapd_atomic_store_release(generationPointer, 0)
    }

    /// The generation new tickets are encrypted with.
    var generation: Int { unwrapd_atomic_load_acquire(generationPointer) }

    /// Makes a new key the current one (the parent, every `--ticket-key-rotation` seconds). Tickets of the keys
    /// before it decrypt for `decryptWindow - 1` more rotations.
    func rotate() throws(StartupError) {
        let next = generation + 1
        try writeKey(ofGeneration: next)
        unwrapd_atomic_store_release(generationPointer, next)
    }

    /// The generation of the key named `name` (the first `nameLength` bytes of a ticket), if a ticket may still
    /// decrypt with it.
    func generation(ofKeyNamed name: UnsafeRawPointer) -> Int? {
        let current = generation
        for age in 0..<Self.decryptWindow where current - age >= 0 {
            if memcmp(key(ofGeneration: current - age), name, Self.nameLength) == 0 { return current - age }
        }
        return nil
    }

    /// Makes `context` encrypt and decrypt its tickets with these keys.
    func install(in context: OpaquePointer) throws(StartupError) {
        TicketKeys.active = self
        guard unwrapd_SSL_CTX_set_tlsext_ticket_key_evp_cb(context, onTicketKey) == 1 else {
            throw .openSSL(OpenSSLError("install the session ticket key callback"))
        }
    }

    /// The key of generation `generation`: its name, then the HMAC key, then the AES key.
    func key(ofGeneration generation: Int) -> UnsafeMutableRawPointer {
        region + Self.slotsOffset + (generation % Self.slotCount) * Self.keyLength
    }

    private var generationPointer: UnsafeMutablePointer<Int> { region.assumingMemoryBound(to: Int.self) }

    private func writeKey(ofGeneration generation: Int) throws(StartupError) {
        let key = key(ofGeneration: generation).assumingMemoryBound(to: UInt8.self)
        guard RAND_bytes(key, Int32(Self.keyLength)) == 1 else {
            throw .openSSL(OpenSSLError("generate session ticket keys"))
        }
    }
}

/// OpenSSL's ticket key callback. Encrypting (`encrypt == 1`): names the current key in the ticket, draws its IV,
/// and sets the AES key and the HMAC key. Decrypting: finds the key the ticket names; 0 (a full handshake) when it is
/// too old or unknown. 2 (renew) brings the client a new ticket: always in TLS 1.3, as OpenSSL's own keys do (with
/// 1, OpenSSL sends none after a TLS 1.3 resumption, and a client that keeps the newest session resumes only every
/// other time), and in TLS 1.2 when the key is not the current one.
private func onTicketKey(
    _ ssl: OpaquePointer?, _ name: UnsafeMutablePointer<UInt8>?, _ iv: UnsafeMutablePointer<UInt8>?,
    _ cipherContext: OpaquePointer?, _ macContext: OpaquePointer?, _ encrypt: Int32
) -> Int32 {
    guard let keys = TicketKeys.active, let name, let iv else { return -1 }
    let generation: Int
    if encrypt == 1 {
        generation = keys.generation
        memcpy(name, keys.key(ofGeneration: generation), TicketKeys.nameLength)
        guard RAND_bytes(iv, Int32(EVP_CIPHER_get_iv_length(keys.cipher))) == 1 else { return -1 }
    } else {
        guard let found = keys.generation(ofKeyNamed: name) else { return 0 }
        generation = found
    }
    let key = keys.key(ofGeneration: generation).assumingMemoryBound(to: UInt8.self)
    let hmacKey = key + TicketKeys.nameLength
    let aesKey = hmacKey + 32
    let cipherReady =
        encrypt == 1
        ? EVP_EncryptInit_ex(cipherContext, keys.cipher, nil, aesKey, iv)
        : EVP_DecryptInit_ex(cipherContext, keys.cipher, nil, aesKey, iv)
    guard cipherReady == 1, setHMACKey(hmacKey, of: macContext) else { return -1 }
    if encrypt == 1 { return 1 }
    return generation == keys.generation && SSL_version(ssl) != TLS1_3_VERSION ? 1 : 2
}

/// HMAC-SHA256 with the 32-byte `key`, as OpenSSL's own ticket keys use it. The parameter names and values are
/// static strings: nothing is allocated.
private func setHMACKey(_ key: UnsafeMutablePointer<UInt8>, of macContext: OpaquePointer?) -> Bool {
    let keyName: StaticString = "key"
    let digestName: StaticString = "digest"
    let digest: StaticString = "SHA256"
    var parameters = (
        OSSL_PARAM_construct_octet_string(cString(keyName), key, 32),
        OSSL_PARAM_construct_utf8_string(cString(digestName), UnsafeMutablePointer(mutating: cString(digest)), 0),
        OSSL_PARAM_construct_end()
    )
    return withUnsafeMutablePointer(to: &parameters) { tuple in
        tuple.withMemoryRebound(to: OSSL_PARAM.self, capacity: 3) { EVP_MAC_CTX_set_params(macContext, $0) == 1 }
    }
}

/// A static string's bytes as a C string.
private func cString(_ text: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}
