import Foundation
import RelayDevStoreKit
import RelayShared
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
            #expect(await Self.countClosed(sockets, waitingSeconds: 5) == sockets.count)
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
            // 60 bytes at one every half second would take 30 s: the server must close long before.
            let body = [UInt8](repeating: UInt8(ascii: "x"), count: 60)
            let signed = RawRequest(
                method: "PUT", port: port, path: "/\(account)/vhds/slow", headers: [("x-ms-blob-type", "BlockBlob")],
                body: body
            ).signed()
            let head =
                "PUT /\(account)/vhds/slow HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
                + signed.headers.map { "\($0.name): \($0.value)\r\n" }.joined() + "\r\n"
            let sent = try await Self.drip(port: port, head: Array(head.utf8), body: body)
            #expect(sent < body.count, "the whole body was accepted, \(sent) bytes")
            let stored = try await RawRequest(method: "GET", port: port, path: "/\(account)/vhds/slow").signed().send()
            #expect(stored.status == 404)
        }
    }

    /// Sends `head`, then `body` a byte every half second until the server closes the connection;
    /// returns how many body bytes were sent by then. Runs on its own thread.
    static func drip(port: Int, head: [UInt8], body: [UInt8]) async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                defer { close(fd) }
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                guard connected == 0 else { return continuation.resume(throwing: POSIXError(.ECONNREFUSED)) }
                _ = head.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                var sent = 0
                var byte: UInt8 = 0
                while sent < body.count {
                    usleep(500_000)
                    // End of stream or a reset: the server closed it.
                    let received = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
                    if received == 0 || (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { break }
                    guard send(fd, [body[sent]], 1, Int32(MSG_NOSIGNAL)) == 1 else { break }
                    sent += 1
                }
                continuation.resume(returning: sent)
            }.start()
        }
    }

    /// `count` connections, each with the start of a request head and no end; runs on its own thread.
    static func openHalfSent(port: Int, count: Int) async throws -> [Int32] {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                var sockets: [Int32] = []
                for _ in 0..<count {
                    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                    var address = sockaddr_in()
                    address.sin_family = sa_family_t(AF_INET)
                    address.sin_port = in_port_t(UInt16(port).bigEndian)
                    address.sin_addr.s_addr = inet_addr("127.0.0.1")
                    let connected = withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                    }
                    guard connected == 0 else {
                        sockets.forEach { close($0) }
                        close(fd)
                        continuation.resume(throwing: POSIXError(.ECONNREFUSED))
                        return
                    }
                    let head = Array("GET /devstoreaccount1/c/b HTTP/1.1\r\nHost: 127.0.0.1\r\nx-ms-".utf8)
                    _ = head.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
                    sockets.append(fd)
                }
                continuation.resume(returning: sockets)
            }.start()
        }
    }

    /// How many of `sockets` the server closed within `waitingSeconds` (end of stream or reset); closes them all.
    static func countClosed(_ sockets: [Int32], waitingSeconds: Int) async -> Int {
        await withCheckedContinuation { continuation in
            Thread {
                let deadline = Date().addingTimeInterval(TimeInterval(waitingSeconds))
                var closed = 0
                for fd in sockets {
                    var timeout = timeval(tv_sec: max(1, Int(deadline.timeIntervalSinceNow.rounded(.up))), tv_usec: 0)
                    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                    var byte: UInt8 = 0
                    let count = recv(fd, &byte, 1, 0)
                    if count == 0 || (count < 0 && errno == ECONNRESET) { closed += 1 }
                    close(fd)
                }
                continuation.resume(returning: closed)
            }.start()
        }
    }
}
