import Foundation
import RelayShared
import TestSupport
import Testing

/// The outside probe's minor findings over HTTP: pipelined requests are each answered in order, and a
/// message body with XML entities (an expansion bomb among them) is refused with 400 at once, storing
/// nothing.
@Suite(.timeLimit(.minutes(2)))
struct MinorRequestTests {
    static let account = ConnectionString.developmentAccountName

    @Test func pipelinedRequestsAreEachAnswered() async throws {
        try await withDevStore { store in
            let port = store.ports.queue
            #expect(
                try await RawRequest(method: "PUT", port: port, path: "/\(Self.account)/pipe").signed().send().status
                    == 201)
            // Three requests in one write: a missing queue, the queue, a missing queue again.
            var bytes: [UInt8] = []
            for queue in ["absent", "pipe", "absent"] {
                let signed = RawRequest(
                    method: "GET", port: port, path: "/\(Self.account)/\(queue)", query: [("comp", "metadata")]
                ).signed()
                let head =
                    "GET /\(Self.account)/\(queue)?comp=metadata HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
                    + signed.headers.map { "\($0.name): \($0.value)\r\n" }.joined() + "\r\n"
                bytes += Array(head.utf8)
            }
            let answer = try await Self.exchange(port: port, bytes, expecting: 3)
            let statuses = answer.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
            #expect(statuses == ["404", "200", "404"], "\(answer.prefix(300))")
        }
    }

    @Test func messagesWithEntitiesAreRefusedAtOnce() async throws {
        try await withDevStore { store in
            let port = store.ports.queue
            #expect(
                try await RawRequest(method: "PUT", port: port, path: "/\(Self.account)/control").signed().send().status
                    == 201)
            var bomb = "<!DOCTYPE q [<!ENTITY a0 \"lollollollollollollollollollol\">"
            // Twenty levels of ten: expanded, the bomb would be 3·10^21 bytes and this test would never end
            // (the suite's time limit fails it); refused, it costs a parse of 1 KiB. No wall-clock bound:
            // on a loaded machine one is noise.
            for level in 1...20 {
                bomb += "<!ENTITY a\(level) \"" + String(repeating: "&a\(level - 1);", count: 10) + "\">"
            }
            bomb += "]><QueueMessage><MessageText>&a9;</MessageText></QueueMessage>"
            let declared =
                "<!DOCTYPE q [<!ENTITY e \"text\">]><QueueMessage><MessageText>&e;</MessageText></QueueMessage>"
            for body in [bomb, declared] {
                let response = try await RawRequest(
                    method: "POST", port: port, path: "/\(Self.account)/control/messages",
                    body: Array(body.utf8)
                ).signed().send()
                #expect(response.status == 400 && response.headers["x-ms-error-code"] == "InvalidXmlDocument")
            }
            let count = try await RawRequest(
                method: "GET", port: port, path: "/\(Self.account)/control", query: [("comp", "metadata")]
            ).signed().send()
            #expect(count.headers["x-ms-approximate-messages-count"] == "0")
        }
    }

    /// Sends `bytes` on one connection and reads until `count` answers have begun and the last is
    /// complete as far as one read goes, or 10 s pass.
    static func exchange(port: Int, _ bytes: [UInt8], expecting count: Int) async throws -> String {
        try await onOwnThread {
            let socket = try RawSocket.connect(port: port)
            defer { socket.close() }
            socket.send(bytes)
            var answer = ""
            while answer.components(separatedBy: "HTTP/1.1 ").count - 1 < count {
                let received = socket.receive()
                guard !received.isEmpty else { break }
                answer += String(decoding: received, as: UTF8.self)
            }
            return answer
        }
    }
}
