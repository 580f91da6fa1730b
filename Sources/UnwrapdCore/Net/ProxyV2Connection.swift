/// What a PROXY v2 header reports about one client connection: its addresses and, for the TLVs, byte views of the
/// TLS session's details.
///
/// The views point at memory the caller owns — typically OpenSSL's own strings (`SSL_get0_alpn_selected`,
/// `SSL_get_servername`, `SSL_get_version`, `SSL_CIPHER_get_name`) — and must stay valid for the `writeV2` call; the
/// encoder copies them into its output and keeps nothing. A `nil` or empty view leaves its TLV out.
public struct ProxyV2Connection: BitwiseCopyable {
    /// The client's address.
    public var source: SocketAddress
    /// The frontend address the client connected to.
    public var destination: SocketAddress
    /// The ALPN protocol negotiated with the client (`h2`), without a length prefix: `PP2_TYPE_ALPN`.
    public var alpn: UnsafeRawBufferPointer?
    /// The host name the client sent as SNI: `PP2_TYPE_AUTHORITY`.
    public var authority: UnsafeRawBufferPointer?
    /// The `client` bit field of `PP2_TYPE_SSL`.
    public var clientFlags: ClientFlags
    /// The `verify` field of `PP2_TYPE_SSL`: 0 only when the client presented a certificate and it verified.
    ///
    /// OpenSSL's `SSL_get_verify_result` also returns `X509_V_OK` (0) when no certificate was presented: report a
    /// non-zero value then, or the backend will take an anonymous client for a verified one. The default, 1, claims
    /// no verification.
    public var verifyResult: UInt32
    /// The protocol version, as OpenSSL names it (`TLSv1.3`): `PP2_SUBTYPE_SSL_VERSION`.
    public var tlsVersion: UnsafeRawBufferPointer?
    /// The cipher name (`TLS_AES_128_GCM_SHA256`): `PP2_SUBTYPE_SSL_CIPHER`.
    public var cipher: UnsafeRawBufferPointer?
    /// The Common Name of the client certificate's subject, UTF-8: `PP2_SUBTYPE_SSL_CN`.
    public var clientCommonName: UnsafeRawBufferPointer?
    /// The client certificate in PEM, for hitch's `proxy-client-cert`: custom TLV type 0xE0.
    public var clientCertificatePEM: UnsafeRawBufferPointer?

    public init(
        source: SocketAddress,
        destination: SocketAddress,
        alpn: UnsafeRawBufferPointer? = nil,
        authority: UnsafeRawBufferPointer? = nil,
        clientFlags: ClientFlags = .ssl,
        verifyResult: UInt32 = 1,
        tlsVersion: UnsafeRawBufferPointer? = nil,
        cipher: UnsafeRawBufferPointer? = nil,
        clientCommonName: UnsafeRawBufferPointer? = nil,
        clientCertificatePEM: UnsafeRawBufferPointer? = nil
    ) {
        self.source = source
        self.destination = destination
        self.alpn = alpn
        self.authority = authority
        self.clientFlags = clientFlags
        self.verifyResult = verifyResult
        self.tlsVersion = tlsVersion
        self.cipher = cipher
        self.clientCommonName = clientCommonName
        self.clientCertificatePEM = clientCertificatePEM
    }

    /// The `client` field of `PP2_TYPE_SSL` (spec §2.2.6).
    public struct ClientFlags: OptionSet, BitwiseCopyable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// `PP2_CLIENT_SSL`: the client connected over TLS.
        public static let ssl = ClientFlags(rawValue: 0x01)
        /// `PP2_CLIENT_CERT_CONN`: the client presented a certificate on this connection.
        public static let certificateInConnection = ClientFlags(rawValue: 0x02)
        /// `PP2_CLIENT_CERT_SESS`: the client presented a certificate at least once in this TLS session (it may have
        /// been resumed without presenting one again).
        public static let certificateInSession = ClientFlags(rawValue: 0x04)
    }
}
