import Foundation
import Synchronization

@testable import RelayShared

#if canImport(Glibc)
    import Glibc
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 for transport tests: each accepted connection is served by its own
/// thread, requests are recorded, and a handler picks a canned answer (or a reset, or silence) per request.
final class AzureTestServer: Sendable {
    struct Request: Sendable {
        var method: String
        var target: String
        var headers: [String: String]
        var body: [UInt8]
        var connection: Int
    }

    enum Answer: Sendable {
        case respond(status: Int, headers: [(String, String)], body: [UInt8])
        /// Close the connection with a TCP reset, answering nothing.
        case reset
        /// Read the request and never answer (until the server stops).
        case hang
    }

    let port: Int
    private let listener: Int32
    private let handler: @Sendable (Request, Int) -> Answer
    private let state = Mutex<(requests: [Request], connections: Int, sockets: [Int32], stopped: Bool)>(
        ([], 0, [], false))

    /// `handler` gets the request and its 0-based index among all requests.
    init(handler: @escaping @Sendable (Request, Int) -> Answer) throws {
        self.handler = handler
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 64) == 0 else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let server = self
        Thread { server.acceptLoop() }.start()
    }

    var requests: [Request] { state.withLock { $0.requests } }
    var connections: Int { state.withLock { $0.connections } }

    /// Shuts the sockets down; their threads close them. Closing here could close a descriptor number
    /// that another test has meanwhile been given.
    func stop() {
        state.withLock { state in
            state.stopped = true
            shutdown(listener, Int32(SHUT_RDWR))
            state.sockets.forEach { shutdown($0, Int32(SHUT_RDWR)) }
        }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            let number = state.withLock { state -> Int? in
                guard client >= 0, !state.stopped else { return nil }
                state.connections += 1
                state.sockets.append(client)
                return state.connections
            }
            guard let number else {
                if client >= 0 { close(client) }
                close(listener)
                return
            }
            let server = self
            Thread { server.serve(client, connection: number) }.start()
        }
    }

    private func serve(_ client: Int32, connection: Int) {
        var buffer: [UInt8] = []
        defer {
            state.withLock { state in
                state.sockets.removeAll { $0 == client }
                close(client)
            }
        }
        while true {
            guard let request = readRequest(client, &buffer, connection: connection) else { return }
            let index = state.withLock { state in
                state.requests.append(request)
                return state.requests.count - 1
            }
            switch handler(request, index) {
            case .respond(let status, let headers, let body):
                var head = "HTTP/1.1 \(status) Status\r\nContent-Length: \(body.count)\r\n"
                for (name, value) in headers { head += "\(name): \(value)\r\n" }
                head += "\r\n"
                let bytes = Array(head.utf8) + (request.method == "HEAD" ? [] : body)
                var sent = 0
                while sent < bytes.count {
                    let count = bytes[sent...].withUnsafeBytes {
                        send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                    }
                    if count <= 0 { return }
                    sent += count
                }
            case .reset:
                var lingering = linger(l_onoff: 1, l_linger: 0)
                setsockopt(client, SOL_SOCKET, SO_LINGER, &lingering, socklen_t(MemoryLayout<linger>.size))
                return
            case .hang:
                var byte: UInt8 = 0
                _ = recv(client, &byte, 1, 0)
                return
            }
        }
    }

    private func readRequest(_ client: Int32, _ buffer: inout [UInt8], connection: Int) -> Request? {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            if let range = buffer.firstRange(of: separator) {
                headEnd = range.lowerBound
                break
            }
            guard fill(client, &buffer) else { return nil }
        }
        let head = String(decoding: buffer[..<headEnd!], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let bodyStart = headEnd! + 4
        while buffer.count < bodyStart + length {
            guard fill(client, &buffer) else { return nil }
        }
        let body = Array(buffer[bodyStart..<bodyStart + length])
        buffer.removeFirst(bodyStart + length)
        return Request(
            method: String(requestLine.first ?? ""), target: requestLine.count > 1 ? String(requestLine[1]) : "",
            headers: headers, body: body, connection: connection)
    }

    private func fill(_ client: Int32, _ buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        buffer.append(contentsOf: chunk[..<count])
        return true
    }

    /// A connection string for the development account pointing all three endpoints at this server.
    var connectionString: ConnectionString {
        try! ConnectionString(ConnectionString.development(blobPort: port, queuePort: port, tablePort: port))
    }
}
