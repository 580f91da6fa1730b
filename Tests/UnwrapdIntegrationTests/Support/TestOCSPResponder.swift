import Foundation
import Glibc
import Synchronization

/// An OCSP responder on 127.0.0.1 for the daemon's fetcher, as a CA runs one: each request POSTed to it is answered
/// by `openssl ocsp` from an index that holds the one certificate it serves (`TestCertificates.answerOCSPRequest`),
/// or with HTTP 503 while it is told to fail. It listens before the certificate that names it is made (`url` goes
/// into the certificate's authorityInfoAccess), answers one connection at a time on its own thread, and counts the
/// requests it answered. `stop()` (also on deinit) closes it and joins the thread.
final class TestOCSPResponder: Sendable {
    /// What a request gets.
    enum Behavior: Sendable {
        /// A successful OCSP response with this status.
        case answer(TestCertificates.OCSPAnswer)
        /// `HTTP/1.0 503 Service Unavailable`.
        case unavailable
        /// Reads the request and never answers (the connection stays open until `stop()`).
        case silent
    }

    struct State {
        var served: CertificateFiles?
        var behavior = Behavior.answer(.good)
        /// Requests answered with a response, and with 503.
        var answered = 0
        var refused = 0
        /// Connections of requests left unanswered (`silent`).
        var held: [Int32] = []
    }

    let port: UInt16
    private let listenFD: Int32
    private let certificates: TestCertificates
    private let state = Monitor(State())
    private let thread = Mutex<AcceptThread?>(nil)
    /// Connections accepted so far, numbering the files of their requests and answers.
    private let accepted = Mutex(0)

    /// The responder's URL, for `TestCertificates.server(_:ocspResponder:)`.
    var url: String { "http://127.0.0.1:\(port)/ocsp" }

    init(certificates: TestCertificates) throws {
        KitProcessSetup.prepare()
        (listenFD, port) = try Ports.listeningSocket()
        self.certificates = certificates
        do {
            let thread = try AcceptThread(name: "OCSP responder", listenFD: listenFD) { [self] fd in
                let number = accepted.withLock { count in
                    count += 1
                    return count
                }
                if answer(on: fd, number: number) { close(fd) }
            }
            self.thread.withLock { $0 = thread }
        } catch {
            close(listenFD)
            throw error
        }
    }

    deinit { stop() }

    /// Answers for the certificate of `files` from now on, as `behavior` says.
    func serve(_ files: CertificateFiles, _ behavior: Behavior = .answer(.good)) {
        state.update {
            $0.served = files
            $0.behavior = behavior
        }
    }

    /// Requests answered with an OCSP response, and refused with 503, so far.
    var answered: Int { state.withLock { $0.answered } }
    var refused: Int { state.withLock { $0.refused } }

    /// Waits until `count` requests have been answered with a response.
    func waitForAnswers(_ count: Int, timeout: Duration = .seconds(10)) throws {
        let reached = state.wait(until: .after(timeout)) { $0.answered >= count ? true : nil }
        guard reached != nil else {
            throw TimeoutError(
                waitingFor: "\(count) OCSP requests answered", timeout: timeout,
                details: "answered \(answered), refused \(refused)")
        }
    }

    func stop() {
        guard thread.withLock({ $0 })?.stop() == true else { return }
        close(listenFD)
        for fd in state.withLock({ $0.held }) { close(fd) }
    }

    /// Reads one HTTP request and writes the answer; false when the connection is held open unanswered.
    private func answer(on fd: Int32, number: Int) -> Bool {
        guard (try? Sockets.setTimeouts(fd, receive: .seconds(5), send: .seconds(5))) != nil,
            let body = readRequestBody(fd)
        else { return true }
        let (served, behavior) = state.withLock { ($0.served, $0.behavior) }
        if case .silent = behavior {
            state.update { $0.held.append(fd) }
            return false
        }
        var response = Array("HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n".utf8)
        var answeredWithStatus = false
        if case .answer(let status) = behavior, let served,
            let request = try? certificates.directory.write(body, to: "ocsp-request-\(number).der"),
            let path = try? certificates.answerOCSPRequest(
                in: request, for: served, status, name: "ocsp-answer-\(number).der"),
            let der = FileManager.default.contents(atPath: path)
        {
            response =
                Array(
                    "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: \(der.count)\r\n\r\n"
                        .utf8) + Array(der)
            answeredWithStatus = true
        }
        guard (try? Sockets.sendAll(fd, response)) != nil else { return true }
        state.update { state in
            if answeredWithStatus {
                state.answered += 1
            } else {
                state.refused += 1
            }
        }
        return true
    }

    /// The body of the HTTP request on `fd` (its headers up to the blank line, then Content-Length bytes).
    private func readRequestBody(_ fd: Int32) -> [UInt8]? {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let separator = Array("\r\n\r\n".utf8)
        while received.count < 65_536 {
            if let end = received.firstRange(of: separator)?.upperBound {
                let head = String(decoding: received[..<end], as: UTF8.self).lowercased()
                guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                    let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
                else { return nil }
                if received.count - end >= length { return Array(received[end..<(end + length)]) }
            }
            let count = recv(fd, &chunk, chunk.count, 0)
            guard count > 0 else { return nil }
            received += chunk[..<count]
        }
        return nil
    }
}
