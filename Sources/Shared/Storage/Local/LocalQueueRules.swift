import Foundation

/// Azure's queue-name rule (docs/azure-rest.md, "Versions, dates and names"): 3–63 of `a-z 0-9 -`, a letter
/// or digit at both ends, no `--`.
enum QueueName {
    static func validate(_ name: String) throws {
        guard ResourceName.isContainerOrQueueName(name) else {
            throw StorageError.badRequest(
                .invalidResourceName,
                "queue name \"\(name)\" is invalid: use 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit"
            )
        }
    }
}

/// The numeric query parameters of the Queue operations (docs/azure-rest.md, "Queue service").
enum QueueParameter {
    static func check(_ name: String, _ value: Int, in range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw StorageError.badRequest(
                .outOfRangeQueryParameterValue,
                "query parameter \(name) is \(value), outside the allowed \(range.lowerBound)...\(range.upperBound)")
        }
    }
}

/// Times as the local queue stores them (milliseconds since 1970, from the store's clock), and pop receipts.
enum QueueClock {
    /// What Azure reports as the expiration of a message that never expires: 9999-12-31T23:59:59Z.
    static let neverMilliseconds: Int64 = 253_402_300_799_000

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    /// A fresh opaque receipt: 16 random bytes in Base64, which like Azure's may hold `+ / =`.
    static func newPopReceipt() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
    }
}
