import Glibc
import Testing

@testable import UnwrapdCore

@Suite struct OCSPCacheFileTests {
    @Test func theFileIsNamedAsHitchNamesIt() {
        // MD5("abc"), RFC 1321's test suite: hitch names the file by the MD5 of the certificate's path.
        #expect(
            OCSPCacheFile.path(in: "/var/lib/hitch/", for: "abc") == "/var/lib/hitch/900150983cd24fb0d6963f7d28e17f72")
        #expect(OCSPCacheFile.path(in: "/srv/ocsp", for: "") == "/srv/ocsp/d41d8cd98f00b204e9800998ecf8427e")
    }

    /// A relative `ocsp-dir` is taken from the directory the configuration is prepared in (where unwrapd started),
    /// not from wherever the fetcher runs later.
    @Test func aRelativeDirectoryIsMadeAbsolute() {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let current = String(cString: getcwd(&buffer, buffer.count)!)
        let expected = (current == "/" ? "" : current) + "/ocsp/900150983cd24fb0d6963f7d28e17f72"
        #expect(OCSPCacheFile.path(in: "ocsp", for: "abc") == expected)
    }

    @Test func savingReplacesTheFileWhole() throws {
        var template = Array("/tmp/unwrapd-ocsp-cache-XXXXXX".utf8CString)
        let directory = String(cString: mkdtemp(&template)!)
        defer { rmdir(directory) }
        let path = directory + "/response"
        defer { unlink(path) }
        try OCSPCacheFile.save([1, 2, 3, 4], to: path)
        try OCSPCacheFile.save([9, 8], to: path)
        #expect(try readFile(path) == [9, 8])
        #expect(throws: SystemError.self) { try OCSPCacheFile.save([1], to: directory + "/missing/response") }
    }
}
