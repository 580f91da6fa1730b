import Foundation
import Glibc
import Testing

@testable import UnwrapdCore

@Suite struct FileContentsTests {
    @Test func readsTheWholeFile() throws {
        let text = String(repeating: "0123456789abcdef\n", count: 5000) + "é end"
        try withConfigFile(text) { path in
            let contents = try readTextFile(path)
            #expect(contents == text)
        }
    }

    @Test func readsAnEmptyFile() throws {
        try withConfigFile("") { path in
            let contents = try readTextFile(path)
            #expect(contents.isEmpty)
        }
    }

    @Test func missingFileIsASystemError() {
        #expect(throws: SystemError("open", "/nonexistent/unwrapd.conf", code: ENOENT)) {
            try readTextFile("/nonexistent/unwrapd.conf")
        }
    }

    @Test func directoryCannotBeRead() {
        #expect(throws: SystemError("read", "/", code: EISDIR)) { try readTextFile("/") }
    }
}
