import Foundation
import RelayDevStoreKit
import RelayShared
import TestSupport
import Testing

/// Half-sent requests and idle connections cannot lock signed clients out: beyond the connection limit
/// the longest-idle connection is closed, and a request whose head does not arrive within the request
/// timeout is closed however slowly its bytes come.
@Suite(.timeLimit(.minutes(3)))
struct ConnectionLimitTests {
    @Test func halfSentRequestsDoNotLockOutSignedClients() async throws {
        var limits = ConnectionLimits()
        limits.maximumConnections = 16
        limits.requestTimeout = .seconds(2)
        try await withDevStore(connections: limits) { store in
            let port = store.ports.blob
            let sockets = try await Self.openHalfSent(port: port, count: 40)
            let account = ConnectionString.developmentAccountName
            let signed = try await RawRequest(method: "GET", port: port, path: "/\(account)/absent/blob").signed()
                .send()
            #expect(signed.status == 404)
            // Every half-sent request is closed by the server: evicted, or at its deadline.
            #expect(try await Self.countClosed(sockets, waitingSeconds: 5) == sockets.count)
        }
    }

    /// Issue 10: a signed request whose body drips in slower than the request timeout allows is closed
    /// mid-body (the deadline runs from the head, however often a byte comes), and nothing is stored.
    @Test func aBodyDrippingPastTheRequestTimeoutIsClosed() async throws {
        var limits = ConnectionLimits()
        limits.requestTimeout = .seconds(2)
        try await withDevStore(connections: limits) { store in
            let port = store.ports.blob
            let account = ConnectionString.developmentAccountName
            #expect(
                try await RawRequest(
                    method: "PUT", port: port, path: "/\(account)/vhds", query: [("restype", "container")]
                ).signed().send().status == 201)
            // 30 bytes at one a second would take 30 s: the server must close long before.
            let body = [UInt8](repeating: UInt8(ascii: "x"), count: 30)
            let signed = RawRequest(
                method: "PUT", port: port, path: "/\(account)/vhds/slow", headers: [("x-ms-blob-type", "BlockBlob")],
                body: body
            ).signed()
            let head =
                "PUT /\(account)/vhds/slow HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
                + signed.headers.map { "\($0.name): \($0.value)\r\n" }.joined() + "\r\n"
            let sent = try await onOwnThread {
                let socket = try RawSocket.connect(port: port, receiveTimeout: 1)
                defer { socket.close() }
                socket.send(head)
                var sent = 0
                // Each wait for the server to close is the second between two bytes.
                while sent < body.count, !socket.peerClosed(), socket.send([body[sent]]) { sent += 1 }
                return sent
            }
            #expect(sent < body.count, "the whole body was accepted, \(sent) bytes")
            let stored = try await RawRequest(method: "GET", port: port, path: "/\(account)/vhds/slow").signed().send()
            #expect(stored.status == 404)
        }
    }

    /// `count` connections, each with the start of a request head and no end.
    static func openHalfSent(port: Int, count: Int) async throws -> [RawSocket] {
        try await onOwnThread {
            var sockets: [RawSocket] = []
            do {
                for _ in 0..<count {
                    let socket = try RawSocket.connect(port: port)
                    socket.send("GET /devstoreaccount1/c/b HTTP/1.1\r\nHost: 127.0.0.1\r\nx-ms-")
                    sockets.append(socket)
                }
            } catch {
                sockets.forEach { $0.close() }
                throw error
            }
            return sockets
        }
    }

    /// How many of `sockets` the server closed within `waitingSeconds` (end of stream or reset); closes them all.
    static func countClosed(_ sockets: [RawSocket], waitingSeconds: Int) async throws -> Int {
        try await onOwnThread {
            let deadline = Date().addingTimeInterval(TimeInterval(waitingSeconds))
            var closed = 0
            for socket in sockets {
                socket.setReceiveTimeout(seconds: max(1, Int(deadline.timeIntervalSinceNow.rounded(.up))))
                if socket.peerClosed() { closed += 1 }
                socket.close()
            }
            return closed
        }
    }
}
