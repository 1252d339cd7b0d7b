import Foundation
import HTTPTypes
import Hummingbird
import RelayShared

/// What an endpoint answers, before the common headers (`x-ms-request-id`, `x-ms-version`, `Date`) are
/// added. `headLength` is the `Content-Length` a HEAD answer announces without a body.
public struct StorageResponse: Sendable {
    var status: Int
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []
    var headLength: UInt64?
    /// A body produced chunk by chunk after the headers, instead of `body` (large blob reads).
    var stream: Stream?

    struct Stream: Sendable {
        var length: UInt64
        /// Produces exactly `length` bytes, in order, chunk by chunk.
        var chunks: @Sendable (_ emit: (ByteBuffer) async throws -> Void) async throws -> Void
    }

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    mutating func add(_ name: String, _ value: String?) {
        if let value { headers.append((name, value)) }
    }

    func hummingbird(requestID: String, version: String, head: Bool) -> Response {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        fields.append(HTTPField(name: HTTPField.Name("x-ms-request-id")!, value: requestID))
        fields.append(HTTPField(name: HTTPField.Name("x-ms-version")!, value: version))
        fields[.date] = AzureDate.rfc1123(Date())
        if head {
            fields[.contentLength] = String(headLength ?? UInt64(body.count))
            return Response(status: .init(code: status), headers: fields, body: ResponseBody())
        }
        if let stream {
            fields[.contentLength] = String(stream.length)
            let body = ResponseBody(contentLength: Int(stream.length)) { writer in
                try await stream.chunks { buffer in try await writer.write(buffer) }
                try await writer.finish(nil)
            }
            return Response(status: .init(code: status), headers: fields, body: body)
        }
        fields[.contentLength] = String(body.count)
        return Response(
            status: .init(code: status), headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
