import Foundation
import Testing

@testable import RelayShared

/// The local table's stored forms: the property encoding and the ETag text.
struct TableStorageFormatTests {
    static let sample: [String: TableValue] = [
        "S": .string("héllo \u{1F600}"), "I": .int32(-7), "L": .int64(.min), "D": .double(-0.0), "B": .bool(true),
        "T": .dateTime(Date(timeIntervalSinceReferenceDate: 123_456.789_012_345)), "G": .guid(UUID()),
        "X": .binary([9, 8, 7]),
    ]

    @Test func propertiesRoundTripBitForBit() throws {
        let decoded = try TablePropertyCodec.decode(TablePropertyCodec.encode(Self.sample), where: "test")
        #expect(decoded == Self.sample)
        guard case .double(let zero) = decoded["D"] else {
            Issue.record("D is \(String(describing: decoded["D"]))")
            return
        }
        #expect(zero.sign == .minus)
        let payloadNaN = Double(nan: 0x1234, signaling: false)
        guard
            case .double(let nan) = try TablePropertyCodec.decode(
                TablePropertyCodec.encode(["N": .double(payloadNaN)]), where: "test")["N"]
        else {
            Issue.record("NaN lost its type")
            return
        }
        #expect(nan.bitPattern == payloadNaN.bitPattern)
        #expect(try TablePropertyCodec.decode(TablePropertyCodec.encode([:]), where: "test").isEmpty)
    }

    @Test func damagedBytesAreAnErrorNamingTheEntityNeverACrash() throws {
        let bytes = TablePropertyCodec.encode(Self.sample)
        // Every truncation, and the whole with a byte too many, is refused.
        for length in 0..<bytes.count {
            #expect(throws: StorageError.self) {
                try TablePropertyCodec.decode(Array(bytes.prefix(length)), where: "entity p/r")
            }
        }
        #expect(throws: StorageError.self) { try TablePropertyCodec.decode(bytes + [0], where: "entity p/r") }
        // Random damage either decodes to something or throws; it never traps or reads out of bounds.
        var generator = SplitMix64(seed: 99)
        for _ in 0..<2000 {
            var damaged = bytes
            for _ in 0..<3 {
                damaged[Int.random(in: 0..<damaged.count, using: &generator)] = UInt8.random(
                    in: 0...255, using: &generator)
            }
            _ = try? TablePropertyCodec.decode(damaged, where: "entity p/r")
        }
        let error = #expect(throws: StorageError.self) {
            try TablePropertyCodec.decode([1, 5, 0], where: "table t, entity p/r")
        }
        #expect(error?.status == 500)
        #expect(error?.message.contains("table t, entity p/r") == true)
        #expect(error?.message.contains("byte 3") == true)
    }

    @Test func etagsReadLikeAzureWeakDatetimeETags() {
        // 2024-01-01T00:00:00Z is 1,704,067,200 s after 1970; add 0.1234567 s in 100 ns ticks.
        let ticks: Int64 = 1_704_067_200 * 10_000_000 + 1_234_567
        #expect(TableVersion.etag(ticks) == "W/\"datetime'2024-01-01T00%3A00%3A00.1234567Z'\"")
        #expect(TableVersion.etag(ticks + 1) == "W/\"datetime'2024-01-01T00%3A00%3A00.1234568Z'\"")
        #expect(TableVersion.etag(0) == "W/\"datetime'1970-01-01T00%3A00%3A00.0000000Z'\"")
        #expect(TableVersion.timestamp(ticks).timeIntervalSince1970 == 1_704_067_200.1234567)
    }
}
