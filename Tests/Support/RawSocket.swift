import Foundation

/// A TCP connection to 127.0.0.1 for tests that speak HTTP byte by byte (half-sent heads, pipelining,
/// `Expect: 100-continue`). Its calls block: use it inside `onOwnThread`.
public struct RawSocket: Sendable {
    public let descriptor: Int32

    /// Connects to `port`; a receive waits at most `receiveTimeout` seconds.
    public static func connect(port: Int, receiveTimeout: Int = 10) throws -> RawSocket {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            Glibc.close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        let socket = RawSocket(descriptor: descriptor)
        socket.setReceiveTimeout(seconds: receiveTimeout)
        return socket
    }

    public func setReceiveTimeout(seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Whether all of `bytes` went out. A connection the peer closed fails with EPIPE instead of raising
    /// SIGPIPE, which would end the whole test process.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// What one read returns: empty at the end of the stream, on a reset or after the receive timeout.
    public func receive(upTo count: Int = 65536) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let received = recv(descriptor, &buffer, count, 0)
        return received > 0 ? Array(buffer[..<received]) : []
    }

    /// Whether the peer closed the connection: the next read sees the end of the stream or a reset, not
    /// a byte and not the receive timeout.
    public func peerClosed() -> Bool {
        var byte: UInt8 = 0
        let count = recv(descriptor, &byte, 1, 0)
        return count == 0 || (count < 0 && errno == ECONNRESET)
    }

    public func close() { Glibc.close(descriptor) }
}

/// Runs `body`, which blocks (sockets, waits), on a thread of its own rather than on the cooperative pool.
public func onOwnThread<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result<Value, any Error> { try body() }) }.start()
    }
}
