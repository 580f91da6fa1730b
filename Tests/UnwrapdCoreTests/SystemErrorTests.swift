import Glibc
import Testing

@testable import UnwrapdCore

@Suite struct SystemErrorTests {
    @Test func namesTheOperationSubjectAndErrno() {
        let error = SystemError("connect", "[127.0.0.1]:8000", code: ECONNREFUSED)
        #expect(error.description == "connect [127.0.0.1]:8000: Connection refused (ECONNREFUSED)")
    }

    @Test func unknownErrnoIsStillNamed() {
        #expect(SystemError.name(9999) == "errno 9999")
    }
}
