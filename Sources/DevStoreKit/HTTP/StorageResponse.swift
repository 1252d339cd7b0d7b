import Foundation
import Hummingbird
import HTTPTypes
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
        fields[.date] = HTTPDate.rfc1123(Date())
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
        return Response(status: .init(code: status), headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Azure's date formats, computed with `gmtime_r` so that no shared formatter needs locking.
public enum HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func parts(_ date: Date) -> tm {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return parts
    }

    private static func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// `Mon, 01 Jan 2024 00:00:00 GMT`
    public static func rfc1123(_ date: Date) -> String {
        let p = parts(date)
        return "\(days[Int(p.tm_wday)]), \(two(p.tm_mday)) \(months[Int(p.tm_mon)]) \(p.tm_year + 1900) "
            + "\(two(p.tm_hour)):\(two(p.tm_min)):\(two(p.tm_sec)) GMT"
    }

    /// `2024-01-01T00:00:00.1234567Z` (ticks of 100 ns, as Azure writes them).
    public static func iso8601(_ date: Date) -> String {
        let p = parts(date)
        let fraction = date.timeIntervalSince1970 - date.timeIntervalSince1970.rounded(.down)
        let ticks = min(9_999_999, Int((fraction * 10_000_000).rounded(.down)))
        let digits = String(ticks)
        return "\(p.tm_year + 1900)-\(two(p.tm_mon + 1))-\(two(p.tm_mday))T\(two(p.tm_hour)):\(two(p.tm_min)):\(two(p.tm_sec))."
            + String(repeating: "0", count: 7 - digits.count) + digits + "Z"
    }

    /// Parses RFC 1123 (`x-ms-date`) and ISO 8601 (SAS `st`/`se`, which may omit seconds or fraction).
    public static func parse(_ text: String) -> Date? {
        if text.hasSuffix("GMT") {
            let fields = text.split(separator: " ")
            guard fields.count == 6, let day = Int(fields[1]), let month = months.firstIndex(of: String(fields[2])),
                  let year = Int(fields[3]) else { return nil }
            let clock = fields[4].split(separator: ":").compactMap { Int($0) }
            guard clock.count == 3 else { return nil }
            return components(year: year, month: month + 1, day: day, hour: clock[0], minute: clock[1], second: clock[2], fraction: 0)
        }
        // yyyy-MM-ddTHH:mm[:ss[.fffffff]]Z, or a bare date yyyy-MM-dd.
        guard text.hasSuffix("Z") || !text.contains("T") else { return nil }
        let body = text.hasSuffix("Z") ? text.dropLast() : Substring(text)
        let halves = body.split(separator: "T", maxSplits: 1)
        let date = halves[0].split(separator: "-").compactMap { Int($0) }
        guard date.count == 3 else { return nil }
        var hour = 0, minute = 0, second = 0
        var fraction = 0.0
        if halves.count == 2 {
            let clock = halves[1].split(separator: ":")
            guard clock.count >= 2, let h = Int(clock[0]), let m = Int(clock[1]) else { return nil }
            hour = h
            minute = m
            if clock.count == 3 {
                let secondParts = clock[2].split(separator: ".", maxSplits: 1)
                guard let s = Int(secondParts[0]) else { return nil }
                second = s
                if secondParts.count == 2 {
                    guard let f = Double("0." + secondParts[1]) else { return nil }
                    fraction = f
                }
            }
        }
        return components(year: date[0], month: date[1], day: date[2], hour: hour, minute: minute, second: second, fraction: fraction)
    }

    private static func components(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, fraction: Double) -> Date? {
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute),
              (0...60).contains(second), (1...9999).contains(year) else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)) + fraction)
    }
}
