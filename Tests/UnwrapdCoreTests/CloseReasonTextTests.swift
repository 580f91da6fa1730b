import COpenSSL
import Glibc
import Testing

@testable import UnwrapdCore

/// The reason each close of a connection logs, word for word as the `String`-built lines before `LogLine` had it.
@Suite struct CloseReasonTextTests {
    private static let backend = "[127.0.0.1]:8000"

    private func text(_ reason: CloseReason, ssl: OpaquePointer? = nil) -> String {
        String { reason.write(to: &$0, ssl: ssl, backend: CloseReasonTextTests.backend) }
    }

    @Test func plainReasons() {
        #expect(text(.finished) == "closed")
        #expect(text(.clientLeftBeforeHandshake) == "client closed the connection before starting a TLS handshake")
        #expect(text(.proxyHeaderIncomplete) == "client closed the connection in the middle of its PROXY header")
        #expect(text(.outOfMemory) == "out of memory for a connection buffer")
        #expect(text(.workerStopping) == "closed: worker stopping")
        #expect(text(.refusalDelivered) == "closed after the refused handshake")
    }

    @Test func timeoutsShowTheSecondsAsSwiftPrintsThem() {
        #expect(text(.handshakeTimedOut(seconds: 30)) == "TLS handshake timed out after 30.0 s")
        #expect(text(.handshakeTimedOut(seconds: 0.25)) == "TLS handshake timed out after 0.25 s")
        #expect(
            text(.backendConnectTimedOut(seconds: 1.5)) == "backend [127.0.0.1]:8000: connect timed out after 1.5 s")
    }

    @Test func systemErrorsShowTheirTextAndName() {
        #expect(
            text(.backendConnectFailed(errno: ECONNREFUSED))
                == "backend [127.0.0.1]:8000: connect: Connection refused (ECONNREFUSED)")
        #expect(
            text(.backendFailed(operation: "send", errno: EPIPE))
                == "backend [127.0.0.1]:8000: send: Broken pipe (EPIPE)")
        #expect(
            text(.clientFailed(.failed(errno: ECONNRESET)))
                == "client connection failed: Connection reset by peer (ECONNRESET)")
        #expect(
            text(.clientFailed(.failed(errno: 9999))) == "client connection failed: Unknown error 9999 (errno 9999)")
    }

    @Test func clientOutcomes() {
        #expect(text(.clientFailed(.failed(errno: 0))) == "client connection failed: connection closed unexpectedly")
        #expect(text(.handshakeFailed(.ended)) == "TLS handshake failed: the client closed the connection")
        #expect(text(.clientFailed(.needsRead)) == "client connection failed: interrupted")
    }

    @Test func proxyHeaderRejections() {
        let prefix = "invalid PROXY header from the client: "
        #expect(
            text(.proxyHeaderInvalid(.v1LineTooLong)) == prefix + "PROXY v1 line without CRLF in its first 107 bytes")
        #expect(text(.proxyHeaderInvalid(.v2TooLong)) == prefix + "PROXY v2 header longer than 4328 bytes")
        #expect(text(.proxyHeaderInvalid(.notProxyProtocol)) == prefix + "not a PROXY protocol header")
    }

    /// OpenSSL's queued errors, oldest first, as setup errors show them; the queue is empty afterwards.
    @Test func tlsErrorsShowOpenSSLsQueue() {
        ERR_clear_error()
        #expect(text(.handshakeFailed(.tlsError)) == "TLS handshake failed: TLS protocol error")

        failToOpenAFile()
        let expected = OpenSSLError("open").reasons
        // With the text OpenSSL attached: the call that failed.
        #expect(expected.count == 2 && expected[0].hasPrefix("No such file or directory (ENOENT): "), "\(expected)")
        failToOpenAFile()
        #expect(text(.clientFailed(.tlsError)) == "client connection failed: " + expected.joined(separator: "; "))
        #expect(ERR_peek_error() == 0)
    }

    @Test func aFailedClientCertificateVerificationIsNamed() throws {
        let context = try #require(SSL_CTX_new(TLS_server_method()))
        defer { SSL_CTX_free(context) }
        let ssl = try #require(SSL_new(context))
        defer { SSL_free(ssl) }
        SSL_set_verify_result(ssl, Int(X509_V_ERR_CERT_HAS_EXPIRED))
        ERR_clear_error()
        #expect(
            text(.handshakeFailed(.tlsError), ssl: ssl)
                == "TLS handshake failed: TLS protocol error (client certificate: certificate has expired)")
    }

    /// Queues a system error (ENOENT) and OpenSSL's own.
    private func failToOpenAFile() {
        #expect(BIO_new_file("/nonexistent/unwrapd-test", "r") == nil)
    }
}
