import Foundation
import Testing

/// `TestCertificates` checked with `openssl verify`, `openssl x509` and `CertificateSummary`.
@Suite struct TestCertificatesTests {
    @Test(arguments: [KeyType.ecdsaP256, .rsa2048])
    func serverCertificatesChainToTheRoot(keyType: KeyType) throws {
        let directory = try TestDirectory("certs-server")
        let certificates = try TestCertificates(in: directory)
        let server = try certificates.server(["a.example", "b.example"], keyType: keyType)

        #expect(try certificates.verify(server, purpose: "sslserver").succeeded)
        #expect(CertificateSummary(file: server.pemFile) == CertificateSummary(file: server.certificateFile))
        let summary = try #require(CertificateSummary(file: server.certificateFile))
        #expect(summary.commonName == "a.example")
        #expect(summary.dnsNames == ["a.example", "b.example"])
        #expect(summary.issuerCommonName == "unwrapd test intermediate CA")

        let text = try CommandLineTools.openssl(["x509", "-noout", "-text", "-in", server.certificateFile])
            .requireSuccess().stdoutText
        #expect(text.contains(keyType == .rsa2048 ? "rsaEncryption" : "id-ecPublicKey"))
        #expect(text.contains("CA:FALSE"))
        // The PEM file holds key, certificate and chain, in that order.
        let pem = directory.read((server.pemFile as NSString).lastPathComponent)
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(pem.components(separatedBy: "-----BEGIN CERTIFICATE-----").count == 3)
        // Without the chain, the leaf does not verify against the root.
        let unchained = CertificateFiles(
            keyFile: server.keyFile, certificateFile: server.certificateFile, chainFile: nil,
            pemFile: server.pemFile, commonName: nil, dnsNames: [])
        #expect(!(try certificates.verify(unchained).succeeded))
    }

    @Test func commonNameOnlyAndWildcard() throws {
        let directory = try TestDirectory("certs-names")
        let certificates = try TestCertificates(in: directory)
        let legacy = try certificates.serverWithoutSAN(commonName: "legacy.example")
        let wildcard = try certificates.wildcard()

        #expect(try certificates.verify(legacy).succeeded)
        #expect(CertificateSummary(file: legacy.certificateFile)?.dnsNames == [])
        #expect(CertificateSummary(file: legacy.certificateFile)?.commonName == "legacy.example")
        #expect(try certificates.verify(wildcard).succeeded)
        #expect(CertificateSummary(file: wildcard.certificateFile)?.dnsNames == ["*.example.com"])
    }

    @Test func clientCertificatesAndTheUntrustedOne() throws {
        let directory = try TestDirectory("certs-client")
        let certificates = try TestCertificates(in: directory)
        let client = try certificates.client(commonName: "client-1")
        let stranger = try certificates.untrustedClient(commonName: "stranger")

        #expect(try certificates.verify(client, caFile: certificates.clientCAFile, purpose: "sslclient").succeeded)
        #expect(!(try certificates.verify(client, caFile: certificates.caFile).succeeded))
        let rejected = try certificates.verify(stranger, caFile: certificates.clientCAFile)
        #expect(!rejected.succeeded)
        #expect((rejected.stdoutText + rejected.stderrText).contains("self-signed certificate"))
    }

    @Test func expiredCertificateFailsVerification() throws {
        let directory = try TestDirectory("certs-expired")
        let certificates = try TestCertificates(in: directory)
        let expired = try certificates.expiredServer(["old.example"])
        let result = try certificates.verify(expired)
        #expect(!result.succeeded)
        #expect((result.stdoutText + result.stderrText).contains("certificate has expired"))
        #expect(CertificateSummary(file: expired.certificateFile)?.dnsNames == ["old.example"])
    }

    @Test func brokenPEMs() throws {
        let directory = try TestDirectory("certs-broken")
        let certificates = try TestCertificates(in: directory)

        let mismatch = try certificates.mismatchedKeyPEM()
        let keyPublic = try CommandLineTools.openssl(["pkey", "-pubout", "-in", mismatch]).requireSuccess()
        let certificatePublic = try CommandLineTools.openssl(["x509", "-noout", "-pubkey", "-in", mismatch])
            .requireSuccess()
        #expect(keyPublic.stdoutText != certificatePublic.stdoutText)

        let garbage = try certificates.garbagePEM()
        #expect(!(try CommandLineTools.openssl(["x509", "-noout", "-in", garbage]).succeeded))
        #expect(!(try CommandLineTools.openssl(["pkey", "-noout", "-in", garbage]).succeeded))
        #expect(CertificateSummary(file: garbage) == nil)
    }
}
