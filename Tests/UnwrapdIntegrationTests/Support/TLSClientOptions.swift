/// How a `TLSTestClient` connects and what it offers. Every field has a default; set only what a test is about:
/// `TLSClientOptions(serverName: "a.example", alpn: ["h2"])`.
struct TLSClientOptions: Sendable {
    /// SNI host name; nil sends none.
    var serverName: String? = nil
    /// ALPN protocols offered, most preferred first; empty offers none.
    var alpn: [String] = []
    /// Lowest and highest protocol version offered (nil: OpenSSL's defaults, TLS 1.2 and 1.3 here).
    var minVersion: TLSVersion? = nil
    var maxVersion: TLSVersion? = nil
    /// TLS 1.2-and-older cipher list (OpenSSL syntax, e.g. "ECDHE-RSA-AES128-GCM-SHA256").
    var cipherList: String? = nil
    /// TLS 1.3 cipher suites (e.g. "TLS_CHACHA20_POLY1305_SHA256").
    var cipherSuites: String? = nil
    /// Key-exchange groups (e.g. "P-256:X25519").
    var groups: String? = nil
    /// Client certificate (with chain) and its key, PEM; `CertificateFiles.pemFile` serves as both.
    var certificateFile: String? = nil
    var keyFile: String? = nil
    /// When set, the server's certificate must chain to this CA file (else the handshake fails, and the client
    /// sends the alert); when nil nothing is verified, but `verifyResult` still tells what verification says.
    var trustedCAFile: String? = nil
    /// When set (with `trustedCAFile`), the certificate must also match this host name.
    var verifyHostname: String? = nil
    /// A session from an earlier connection to resume.
    var session: TLSSession? = nil
    /// Ask for session tickets (false sends SSL_OP_NO_TICKET: session-ID resumption only, TLS 1.2).
    var sessionTickets: Bool = true
    /// OpenSSL security level; nil: 0 when `minVersion` is below TLS 1.2 (OpenSSL 3 refuses TLS 1.0/1.1 at its
    /// default level 1, and a test that checks that the daemon refuses them must at least offer them), else the
    /// library default.
    var securityLevel: Int32? = nil
    /// SO_RCVBUF of the client socket, set before connecting; nil keeps the kernel's (autotuned, up to
    /// `net.ipv4.tcp_rmem`'s maximum). Small values make a client that does not read push back sooner.
    var receiveBufferSize: Int32? = nil
    /// TLS 1.3: the client's Finished and its first write leave in one TCP segment, as when a client writes its
    /// request at once and the server reads both together (the socket is corked from the ChangeCipherSpec that
    /// precedes the Finished until that write).
    var finishedWithFirstWrite = false
    var connectTimeout: Duration = .seconds(5)
    /// Bound on each blocking read and write (SO_RCVTIMEO/SO_SNDTIMEO), the handshake's steps included.
    var ioTimeout: Duration = .seconds(10)

    /// The client certificate and key from one PEM file holding both.
    static func clientCertificate(_ files: CertificateFiles, _ options: TLSClientOptions = .init()) -> TLSClientOptions
    {
        var options = options
        options.certificateFile = files.pemFile
        options.keyFile = files.pemFile
        return options
    }
}
