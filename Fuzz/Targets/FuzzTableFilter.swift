import Foundation
import RelayDevStoreKit
import RelayShared

/// `table-filter`: the bytes as a Query Entities `$filter`, parsed and evaluated on an entity with a
/// property of every type, and its partition and row-key bounds derived.
enum FuzzTableFilter {
    static let entity = TableEntity(
        partitionKey: "vhds/disk.vhd", rowKey: "seg-00000000000000000042",
        properties: [
            "S": .string("text"), "I": .int32(-7), "L": .int64(Int64.max), "D": .double(0.5), "B": .bool(true),
            "T": .dateTime(Date(timeIntervalSince1970: 1_700_000_000)),
            "G": .guid(UUID(uuid: (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16))),
            "X": .binary([0, 1, 2, 255]),
        ],
        timestamp: Date(timeIntervalSince1970: 1_700_000_000))

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let filter = try? TableFilter.parse(String(decoding: bytes, as: UTF8.self)) else { return }
        _ = filter.matches(entity)
        _ = filter.partitionKey
        _ = filter.rowKeyBounds
    }
}
