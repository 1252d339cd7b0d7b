import Foundation
import RelayDevStoreKit
import RelayShared
import TestSupport
import Testing

/// `Expect: 100-continue` gets its interim answer before the client sends the body, over a raw socket
/// (libcurl asks for it on bodies over 1 MiB and would otherwise wait a second per request).
@Suite(.timeLimit(.minutes(3)))
struct ExpectContinueTests {
    @Test func answersContinueBeforeTheBody() async throws {
        try await withDevStore { store in
            let port = store.ports.blob
            let account = ConnectionString.developmentAccountName
            try await store.createPageBlob("disk.vhd", size: 4096)
            let body = [UInt8](repeating: 9, count: 4096)
            let signed = RawRequest(
                method: "PUT", port: port, path: "/\(account)/vhds/disk.vhd", query: [("comp", "page")],
                headers: [("x-ms-page-write", "update"), ("x-ms-range", "bytes=0-4095")], body: body
            ).signed()
            let head =
                "PUT /\(account)/vhds/disk.vhd?comp=page HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nExpect: 100-continue\r\n"
                + signed.headers.map { "\($0.name): \($0.value)\r\n" }.joined() + "\r\n"
            let (interim, final) = try await Self.exchange(port: port, head: Array(head.utf8), body: body)
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue"))
            #expect(final.hasPrefix("HTTP/1.1 201 Created"))
            let data = try await RawRequest(method: "GET", port: port, path: "/\(account)/vhds/disk.vhd").signed()
                .send()
            #expect(data.body == body)
        }
    }

    /// An unauthenticated 1 GiB upload and a signed one over the operation's limit are refused from their
    /// headers: the first answer is the final 403 or 413, never an invitation to send the body.
    @Test func refusesBeforeInvitingTheBody() async throws {
        try await withDevStore { store in
            let port = store.ports.blob
            let account = ConnectionString.developmentAccountName
            _ = try await RawRequest(
                method: "PUT", port: port, path: "/\(account)/vhds", query: [("restype", "container")]
            ).signed().send()
            let unsigned =
                "PUT /\(account)/vhds/big.vhd?comp=page HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nExpect: 100-continue\r\n"
                + "Content-Length: \(1 << 30)\r\nx-ms-page-write: update\r\nx-ms-range: bytes=0-\((1 << 30) - 1)\r\n\r\n"
            let (first, _) = try await Self.exchange(port: port, head: Array(unsigned.utf8), body: [])
            #expect(first.hasPrefix("HTTP/1.1 403"), "\(first.prefix(40))")
            let signed = RawRequest(
                method: "PUT", port: port, path: "/\(account)/vhds/disk.vhd", query: [("comp", "page")],
                headers: [("x-ms-page-write", "update"), ("x-ms-range", "bytes=0-\((8 << 20) - 1)")],
                body: [UInt8](repeating: 0, count: 8 << 20)
            ).signed()
            let head =
                "PUT /\(account)/vhds/disk.vhd?comp=page HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nExpect: 100-continue\r\n"
                + signed.headers.map { "\($0.name): \($0.value)\r\n" }.joined() + "\r\n"
            let (tooLarge, _) = try await Self.exchange(port: port, head: Array(head.utf8), body: [])
            #expect(tooLarge.hasPrefix("HTTP/1.1 413"), "\(tooLarge.prefix(40))")
        }
    }

    /// Sends `head`, reads the first answer (10 s at most: a loaded machine may take seconds), then, when
    /// there is a `body`, sends it and reads the final answer (without one the server has nothing to answer
    /// and the read would wait out its timeout).
    static func exchange(port: Int, head: [UInt8], body: [UInt8]) async throws -> (String, String) {
        try await onOwnThread {
            let socket = try RawSocket.connect(port: port)
            defer { socket.close() }
            socket.send(head)
            let interim = String(decoding: socket.receive(upTo: 4096), as: UTF8.self)
            guard !body.isEmpty else { return (interim, "") }
            socket.send(body)
            return (interim, String(decoding: socket.receive(upTo: 4096), as: UTF8.self))
        }
    }
}
