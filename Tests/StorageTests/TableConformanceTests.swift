import Foundation
import Testing

@testable import RelayShared

/// The table backends every conformance test runs against; the Azure backend joins by one entry.
enum TableBackends {
    static let all: [Backend<any TableService>] = [.local] + Backend<any TableService>.azure
}

/// Azure Table semantics (docs/storage.md, "Table service") that every backend must show.
@Suite(.timeLimit(.minutes(2)))
struct TableConformanceTests {
    static func entity(_ partitionKey: String, _ rowKey: String, _ properties: [String: TableValue] = [:])
        -> TableEntity
    {
        TableEntity(partitionKey: partitionKey, rowKey: rowKey, properties: properties)
    }

    /// Inserts rows `0..<count` of `partition`, 100 per batch, with zero-padded RowKeys.
    static func fill(_ tables: any TableService, _ table: String, partition: String, count: Int) async throws {
        for start in stride(from: 0, to: count, by: 100) {
            let operations = (start..<min(start + 100, count)).map { index in
                TableOperation.insert(entity(partition, rowKey(index), ["N": .int32(Int32(index))]))
            }
            try await tables.transact(table, operations)
        }
    }

    static func rowKey(_ index: Int) -> String {
        let digits = String(index)
        return String(repeating: "0", count: 6 - digits.count) + digits
    }

    @Test(arguments: TableBackends.all)
    func createTwiceConflictsCaseInsensitivelyAndNamesAreChecked(_ backend: Backend<any TableService>) async throws {
        try await backend.withFreshService { tables in
            try await tables.createTable("Control1")
            await expectStorageError(.tableAlreadyExists, 409) { try await tables.createTable("Control1") }
            await expectStorageError(.tableAlreadyExists, 409) { try await tables.createTable("cONTROL1") }
            for name in ["ab", "1abc", "ab-c", "ab_c", String(repeating: "a", count: 64)] {
                await expectStorageError(.invalidResourceName, 400) { try await tables.createTable(name) }
            }
            // The name is case-insensitive for entities too.
            try await tables.insert("control1", Self.entity("p", "r"))
            #expect(try await tables.get("CONTROL1", partitionKey: "p", rowKey: "r").rowKey == "r")
        }
    }

    @Test(arguments: TableBackends.all)
    func everyOperationOnAMissingTableIsTableNotFound(_ backend: Backend<any TableService>) async throws {
        try await backend.withFreshService { tables in
            let entity = Self.entity("p", "r")
            await expectStorageError(.tableNotFound, 404) { try await tables.insert("absent", entity) }
            await expectStorageError(.tableNotFound, 404) { try await tables.upsert("absent", entity, mode: .merge) }
            await expectStorageError(.tableNotFound, 404) {
                try await tables.update("absent", entity, mode: .replace, ifMatch: .any)
            }
            await expectStorageError(.tableNotFound, 404) {
                try await tables.delete("absent", partitionKey: "p", rowKey: "r", ifMatch: .any)
            }
            await expectStorageError(.tableNotFound, 404) {
                _ = try await tables.get("absent", partitionKey: "p", rowKey: "r")
            }
            await expectStorageError(.tableNotFound, 404) {
                _ = try await tables.query(
                    "absent", partitionKey: "p", rowKeyFrom: nil, rowKeyTo: nil, pageSize: 10, continuation: nil)
            }
            await expectStorageError(.tableNotFound, 404) { try await tables.transact("absent", [.insert(entity)]) }
        }
    }

    @Test(arguments: TableBackends.all)
    func typedPropertiesRoundTrip(_ backend: Backend<any TableService>) async throws {
        try await backend.withFreshFixture { fixture in
            let tables = fixture.service
            try await tables.createTable("types")
            let properties: [String: TableValue] = [
                "Text": .string("vm01 ✓ \u{1F600} 'quoted'"), "Empty": .string(""),
                "Small": .int32(.min), "Big": .int64(.max), "Negative": .int64(-34_359_738_880),
                "Ratio": .double(0.1), "Whole": .double(2), "Infinite": .double(-.infinity),
                "Ok": .bool(true), "No": .bool(false),
                "When": .dateTime(Date(timeIntervalSince1970: 1_700_000_000.123)),
                "Id": .guid(UUID(uuidString: "C9DA6455-213D-42C9-9A79-3E9149A57833")!),
                "Blob": .binary([0, 1, 2, 255]), "NoBytes": .binary([]),
            ]
            let before = fixture.now
            let etag = try await tables.insert("types", Self.entity("vm01", "disk0", properties))
            let stored = try await tables.get("types", partitionKey: "vm01", rowKey: "disk0")
            #expect(stored.properties == properties)
            #expect(stored.etag == etag)
            #expect(etag.hasPrefix("W/\"datetime'"))
            let timestamp = try #require(stored.timestamp)
            #expect(abs(timestamp.timeIntervalSince(before)) < 5)

            try await tables.upsert("types", Self.entity("vm01", "nan", ["X": .double(.nan)]), mode: .replace)
            let nan = try await tables.get("types", partitionKey: "vm01", rowKey: "nan")
            guard case .double(let value) = nan["X"] else {
                Issue.record("NaN came back as \(String(describing: nan["X"]))")
                return
            }
            #expect(value.isNaN)
        }
    }

    @Test(arguments: TableBackends.all)
    func insertConflictsAndMissingEntitiesAreResourceNotFound(_ backend: Backend<any TableService>) async throws {
        try await backend.withFreshService { tables in
            try await tables.createTable("rows")
            try await tables.insert("rows", Self.entity("p", "r", ["A": .int32(1)]))
            await expectStorageError(.entityAlreadyExists, 409) {
                try await tables.insert("rows", Self.entity("p", "r", ["A": .int32(2)]))
            }
            #expect(try await tables.get("rows", partitionKey: "p", rowKey: "r")["A"] == .int32(1))
            await expectStorageError(.resourceNotFound, 404) {
                _ = try await tables.get("rows", partitionKey: "p", rowKey: "other")
            }
            await expectStorageError(.resourceNotFound, 404) {
                try await tables.update("rows", Self.entity("p", "other"), mode: .merge, ifMatch: .any)
            }
            await expectStorageError(.resourceNotFound, 404) {
                try await tables.delete("rows", partitionKey: "p", rowKey: "other", ifMatch: .any)
            }
        }
    }

    @Test(arguments: TableBackends.all)
    func upsertReplacesOrMergesAndEveryWriteChangesTheETag(_ backend: Backend<any TableService>) async throws {
        try await backend.withFreshService { tables in
            try await tables.createTable("rows")
            let created = try await tables.upsert(
                "rows", Self.entity("p", "r", ["A": .int32(1), "B": .int32(2)]), mode: .merge)
            let merged = try await tables.upsert(
                "rows", Self.entity("p", "r", ["B": .int32(3), "C": .int32(4)]), mode: .merge)
            #expect(
                try await tables.get("rows", partitionKey: "p", rowKey: "r").properties == [
                    "A": .int32(1), "B": .int32(3), "C": .int32(4),
                ])
            let replaced = try await tables.upsert("rows", Self.entity("p", "r", ["C": .int32(5)]), mode: .replace)
            #expect(try await tables.get("rows", partitionKey: "p", rowKey: "r").properties == ["C": .int32(5)])

            var etags = [created, merged, replaced]
            for index in 0..<50 {
                etags.append(
                    try await tables.upsert("rows", Self.entity("p", "r", ["C": .int32(Int32(index))]), mode: .replace))
            }
            #expect(Set(etags).count == etags.count)
        }
    }

    @Test(arguments: TableBackends.all)
    func updatesAndDeletesAreGuardedByETag(_ backend: Backend<any TableService>) async throws {
        try await backend.withFreshService { tables in
            try await tables.createTable("rows")
            let first = try await tables.insert("rows", Self.entity("p", "r", ["A": .int32(1), "B": .int32(1)]))
            let second = try await tables.update(
                "rows", Self.entity("p", "r", ["A": .int32(2)]), mode: .merge, ifMatch: .etag(first))
            #expect(second != first)
            #expect(
                try await tables.get("rows", partitionKey: "p", rowKey: "r").properties == [
                    "A": .int32(2), "B": .int32(1),
                ])

            let stale = await expectStorageError(.updateConditionNotSatisfied, 412) {
                try await tables.update(
                    "rows", Self.entity("p", "r", ["A": .int32(3)]), mode: .replace, ifMatch: .etag(first))
            }
            #expect(stale?.isRetryable == false)
            await expectStorageError(.updateConditionNotSatisfied, 412) {
                try await tables.delete("rows", partitionKey: "p", rowKey: "r", ifMatch: .etag(first))
            }
            #expect(try await tables.get("rows", partitionKey: "p", rowKey: "r").etag == second)

            let third = try await tables.update(
                "rows", Self.entity("p", "r", ["Z": .bool(true)]), mode: .replace, ifMatch: .any)
            #expect(try await tables.get("rows", partitionKey: "p", rowKey: "r").properties == ["Z": .bool(true)])
            try await tables.delete("rows", partitionKey: "p", rowKey: "r", ifMatch: .etag(third))
            await expectStorageError(.resourceNotFound, 404) {
                _ = try await tables.get("rows", partitionKey: "p", rowKey: "r")
            }
            try await tables.insert("rows", Self.entity("p", "r"))
            try await tables.delete("rows", partitionKey: "p", rowKey: "r", ifMatch: .any)
        }
    }

    @Test(arguments: TableBackends.all)
    func queryPagesThroughMoreThan1000EntitiesInRowKeyOrder(_ backend: Backend<any TableService>) async throws {
        try await backend.withFreshService { tables in
            try await tables.createTable("rows")
            try await Self.fill(tables, "rows", partition: "target", count: 2500)
            try await Self.fill(tables, "rows", partition: "other", count: 150)
            let expected = (0..<2500).map(Self.rowKey)

            for pageSize in [1000, 7] {
                var keys: [String] = []
                var pageSizes: [Int] = []
                var continuation: TableContinuation?
                repeat {
                    let page = try await tables.query(
                        "rows", partitionKey: "target", rowKeyFrom: nil, rowKeyTo: nil, pageSize: pageSize,
                        continuation: continuation)
                    #expect(page.entities.allSatisfy { $0.partitionKey == "target" && $0.etag != nil })
                    keys += page.entities.map(\.rowKey)
                    pageSizes.append(page.entities.count)
                    continuation = page.continuation
                } while continuation != nil && pageSizes.count < 1000
                #expect(keys == expected, "page size \(pageSize)")
                #expect(pageSizes.dropLast().allSatisfy { $0 == pageSize })
            }

            let range = try await tables.query(
                "rows", partitionKey: "target", rowKeyFrom: Self.rowKey(10), rowKeyTo: Self.rowKey(20), pageSize: 1000,
                continuation: nil)
            #expect(range.entities.map(\.rowKey) == (10..<20).map(Self.rowKey))
            #expect(range.continuation == nil)
            #expect(range.entities.first?["N"] == .int32(10))
            let other = try await tables.query(
                "rows", partitionKey: "other", rowKeyFrom: nil, rowKeyTo: nil, pageSize: 100, continuation: nil)
            #expect(other.entities.count == 100)
            await expectStorageError(.invalidInput, 400) {
                _ = try await tables.query(
                    "rows", partitionKey: "target", rowKeyFrom: nil, rowKeyTo: nil, pageSize: 100,
                    continuation: other.continuation)
            }
            let empty = try await tables.query(
                "rows", partitionKey: "nobody", rowKeyFrom: nil, rowKeyTo: nil, pageSize: 10, continuation: nil)
            #expect(empty.entities.isEmpty && empty.continuation == nil)
            for pageSize in [0, 1001] {
                await expectStorageError(.outOfRangeQueryParameterValue, 400) {
                    _ = try await tables.query(
                        "rows", partitionKey: "target", rowKeyFrom: nil, rowKeyTo: nil, pageSize: pageSize,
                        continuation: nil)
                }
            }
        }
    }

    @Test(arguments: TableBackends.all)
    func rowKeysSortInUTF8ByteOrder(_ backend: Backend<any TableService>) async throws {
        try await backend.withFreshService { tables in
            try await tables.createTable("order")
            // UTF-8 byte order: uppercase before lowercase, U+FFFD before the astral U+1F600 (UTF-16 would differ).
            let sorted = ["", "B", "a", "z", "é", "\u{FFFD}", "\u{1F600}"]
            for key in sorted.reversed() { try await tables.insert("order", Self.entity("p", key)) }
            let page = try await tables.query(
                "order", partitionKey: "p", rowKeyFrom: nil, rowKeyTo: nil, pageSize: 1000, continuation: nil)
            #expect(page.entities.map(\.rowKey) == sorted)
            let upper = try await tables.query(
                "order", partitionKey: "p", rowKeyFrom: "a", rowKeyTo: "\u{FFFD}", pageSize: 2, continuation: nil)
            #expect(upper.entities.map(\.rowKey) == ["a", "z"])
            let rest = try await tables.query(
                "order", partitionKey: "p", rowKeyFrom: "a", rowKeyTo: "\u{FFFD}", pageSize: 2,
                continuation: upper.continuation)
            #expect(rest.entities.map(\.rowKey) == ["é"])
            #expect(rest.continuation == nil)
        }
    }

    @Test(arguments: TableBackends.all)
    func transactionsApplyAllOrNothing(_ backend: Backend<any TableService>) async throws {
        try await backend.withFreshService { tables in
            try await tables.createTable("batch")
            let existing = try await tables.insert("batch", Self.entity("p", "c", ["V": .int32(0)]))
            try await tables.insert("batch", Self.entity("p", "d"))

            let failed = await expectStorageError(.entityAlreadyExists, 409) {
                try await tables.transact(
                    "batch",
                    [
                        .insert(Self.entity("p", "a")), .upsert(Self.entity("p", "b"), .merge),
                        .insert(Self.entity("p", "c")),
                    ])
            }
            #expect(failed?.message.hasPrefix("2:") == true)
            await expectStorageError(.resourceNotFound, 404) {
                _ = try await tables.get("batch", partitionKey: "p", rowKey: "a")
            }
            await expectStorageError(.resourceNotFound, 404) {
                _ = try await tables.get("batch", partitionKey: "p", rowKey: "b")
            }

            let stale = await expectStorageError(.updateConditionNotSatisfied, 412) {
                try await tables.transact(
                    "batch",
                    [
                        .delete(partitionKey: "p", rowKey: "d", ifMatch: .any),
                        .update(
                            Self.entity("p", "c"), .replace,
                            ifMatch: .etag("W/\"datetime'2000-01-01T00%3A00%3A00.0000000Z'\"")),
                    ])
            }
            #expect(stale?.message.hasPrefix("1:") == true)
            #expect(try await tables.get("batch", partitionKey: "p", rowKey: "d").rowKey == "d")

            let etags = try await tables.transact(
                "batch",
                [
                    .insert(Self.entity("p", "a", ["V": .int32(1)])),
                    .upsert(Self.entity("p", "b", ["V": .int32(2)]), .replace),
                    .update(Self.entity("p", "c", ["W": .int32(3)]), .merge, ifMatch: .etag(existing)),
                    .delete(partitionKey: "p", rowKey: "d", ifMatch: .any),
                ])
            #expect(etags.count == 4)
            #expect(etags[3] == nil)
            #expect(Set(etags.compactMap { $0 }).count == 3)
            #expect(try await tables.get("batch", partitionKey: "p", rowKey: "a").etag == etags[0])
            #expect(
                try await tables.get("batch", partitionKey: "p", rowKey: "c").properties == [
                    "V": .int32(0), "W": .int32(3),
                ])
            await expectStorageError(.resourceNotFound, 404) {
                _ = try await tables.get("batch", partitionKey: "p", rowKey: "d")
            }
        }
    }

    @Test(arguments: TableBackends.all)
    func transactionShapeIsChecked(_ backend: Backend<any TableService>) async throws {
        try await backend.withFreshService { tables in
            try await tables.createTable("batch")
            let tooMany = (0...100).map { TableOperation.insert(Self.entity("p", Self.rowKey($0))) }
            await expectStorageError(.invalidInput, 400) { try await tables.transact("batch", tooMany) }
            try await tables.transact("batch", Array(tooMany.prefix(100)))
            let partitions = await expectStorageError(.commandsInBatchActOnDifferentPartitions, 400) {
                try await tables.transact("batch", [.insert(Self.entity("p", "x")), .insert(Self.entity("q", "y"))])
            }
            #expect(partitions?.message.hasPrefix("1:") == true)
            let duplicate = await expectStorageError(.invalidDuplicateRow, 400) {
                try await tables.transact(
                    "batch",
                    [
                        .insert(Self.entity("p", "x")), .insert(Self.entity("p", "y")),
                        .delete(partitionKey: "p", rowKey: "x", ifMatch: .any),
                    ])
            }
            #expect(duplicate?.message.hasPrefix("2:") == true)
            await expectStorageError(.resourceNotFound, 404) {
                _ = try await tables.get("batch", partitionKey: "p", rowKey: "x")
            }
        }
    }

    @Test(arguments: TableBackends.all)
    func entityLimitsAreEnforced(_ backend: Backend<any TableService>) async throws {
        try await backend.withFreshService { tables in
            try await tables.createTable("limits")
            // A string property may hold 64 KiB as UTF-16: 32,768 characters.
            try await tables.insert(
                "limits", Self.entity("p", "max", ["S": .string(String(repeating: "x", count: 32_768))]))
            await expectStorageError(.propertyValueTooLarge, 400) {
                try await tables.insert(
                    "limits", Self.entity("p", "over", ["S": .string(String(repeating: "x", count: 32_769))]))
            }
            await expectStorageError(.propertyValueTooLarge, 400) {
                try await tables.insert(
                    "limits", Self.entity("p", "over", ["B": .binary([UInt8](repeating: 1, count: 65_537))]))
            }
            // Seventeen 64 KiB binaries pass one by one but not together: over 1 MiB.
            var big: [String: TableValue] = [:]
            for index in 0..<17 { big["B\(index)"] = .binary([UInt8](repeating: 7, count: 65_536)) }
            await expectStorageError(.entityTooLarge, 400) {
                try await tables.insert("limits", Self.entity("p", "big", big))
            }
            // Merging can make an entity too large too.
            try await tables.insert("limits", Self.entity("p", "grow", big.filter { $0.key < "B5" }))
            await expectStorageError(.entityTooLarge, 400) {
                try await tables.upsert("limits", Self.entity("p", "grow", big), mode: .merge)
            }
            await expectStorageError(.resourceNotFound, 404) {
                _ = try await tables.get("limits", partitionKey: "p", rowKey: "big")
            }
            await expectStorageError(.propertyNameTooLong, 400) {
                try await tables.insert(
                    "limits", Self.entity("p", "name", [String(repeating: "n", count: 256): .bool(true)]))
            }
            var many: [String: TableValue] = [:]
            for index in 0..<253 { many["P\(index)"] = .int32(Int32(index)) }
            await expectStorageError(.tooManyProperties, 400) {
                try await tables.insert("limits", Self.entity("p", "many", many))
            }
            many["P252"] = nil
            try await tables.insert("limits", Self.entity("p", "many", many))
            for reserved in ["PartitionKey", "RowKey", "Timestamp", ""] {
                await expectStorageError(.invalidInput, 400) {
                    try await tables.insert("limits", Self.entity("p", "reserved", [reserved: .bool(true)]))
                }
            }
            for key in ["a/b", "a#b", "a?b", "a\\b", "a\u{7}b", String(repeating: "k", count: 1025)] {
                await expectStorageError(.outOfRangeInput, 400) {
                    try await tables.insert("limits", Self.entity("p", key))
                }
            }
        }
    }
}
