import Foundation
import RelayDevStoreKit
import RelayShared
import Testing

/// The Table service's parsers on hostile input: malformed or deeply nested JSON and filters are
/// `400` errors, never crashes; well-formed input keeps its types and Azure's filter semantics.
struct TableParsingTests {
    static func status(_ body: () throws -> Void) -> Int? {
        do {
            try body()
            return nil
        } catch let error as StorageError {
            return error.status
        } catch {
            return -1
        }
    }

    @Test(arguments: [
        "", "{", "[", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}", "\"unterminated", "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\ud800\\u0041\"}",
        "tru", "{\"a\":01x}", "{} extra", "{\"a\":1e999}", "{\"a\":-1e400}", String(repeating: "[", count: 10_000),
        String(repeating: "{\"a\":", count: 5_000),
    ])
    func malformedJSONIsBadRequest(_ text: String) {
        #expect(Self.status { _ = try JSONValue.parseRequest(Array(text.utf8)) } == 400)
    }

    @Test func entityTypesFromJSON() throws {
        let body =
            #"{"PartitionKey":"p","RowKey":"r","I":42,"L@odata.type":"Edm.Int64","L":"9007199254740993","D":2.0,"N@odata.type":"Edm.Double","N":"NaN","B":true,"S":"x\u00e9","G@odata.type":"Edm.Guid","G":"c9da6455-213d-42c9-9a79-3e9149a57833","Bin@odata.type":"Edm.Binary","Bin":"AAEC","T@odata.type":"Edm.DateTime","T":"2024-01-01T00:00:00.5Z","Nil":null}"#
        let entity = try TableEntityJSON.entity(from: Array(body.utf8))
        #expect(entity.partitionKey == "p" && entity.rowKey == "r")
        #expect(entity["I"] == .int32(42))
        #expect(entity["L"] == .int64(9_007_199_254_740_993))
        #expect(entity["D"] == .double(2))
        if case .double(let nan)? = entity["N"] { #expect(nan.isNaN) } else { Issue.record("N is not a Double") }
        #expect(entity["B"] == .bool(true) && entity["S"] == .string("xé"))
        #expect(entity["G"] == .guid(UUID(uuidString: "c9da6455-213d-42c9-9a79-3e9149a57833")!))
        #expect(entity["Bin"] == .binary([0, 1, 2]))
        #expect(entity["T"] == .dateTime(Date(timeIntervalSince1970: 1_704_067_200.5)))
        #expect(entity["Nil"] == nil)
        // Whole doubles keep their type on the way out, Int64 travels as an annotated string.
        let members = TableEntityJSON.members(
            of: entity, metadata: .minimal, select: nil, baseURL: "http://h/a", table: "t")
        let json = JSONValue.object(members).serialized()
        #expect(json.contains(#""D":2.0"#))
        #expect(json.contains(#""L@odata.type":"Edm.Int64","L":"9007199254740993""#))
        #expect(
            Self.status {
                _ = try TableEntityJSON.entity(
                    from: Array(#"{"PartitionKey":"p","RowKey":"r","X@odata.type":"Edm.Int32","X":"no"}"#.utf8))
            } == 400)
        #expect(Self.status { _ = try TableEntityJSON.entity(from: Array(#"{"RowKey":"r"}"#.utf8)) } == 400)
    }

    /// Azure infers an untyped whole number as Int32 when it fits, else as Double; one codec on both sides.
    @Test func untypedWholeNumbersBeyondInt32AreDoubles() throws {
        let body = #"{"PartitionKey":"p","RowKey":"r","Small":2147483647,"Big":2147483648,"Huge":9007199254740993}"#
        let entity = try TableEntityJSON.entity(from: Array(body.utf8))
        #expect(entity["Small"] == .int32(2_147_483_647))
        #expect(entity["Big"] == .double(2_147_483_648))
        #expect(entity["Huge"] == .double(9_007_199_254_740_993))
        for value in [TableValue.int32(-5), .int64(1 << 40), .double(2), .double(.infinity), .string("x"), .bool(true)]
        {
            let (type, json) = value.json
            #expect(TableValue(json: json, type: type) == value)
        }
        #expect(TableValue(json: .number("2147483648"), type: nil) == .double(2_147_483_648))
    }

    @Test(arguments: [
        "", "PartitionKey", "PartitionKey eq", "PartitionKey eq 'x", "(PartitionKey eq 'x'", "PartitionKey eq 'x')",
        "PartitionKey xx 'x'",
        "'a' eq 'b'", "N eq 1 and", "not", "datetime'nope' eq T", "X'0G' eq B",
        String(repeating: "(", count: 1000) + "A eq 1" + String(repeating: ")", count: 1000),
        String(repeating: "not ", count: 1000) + "A eq 1",
    ])
    func malformedFiltersAreBadRequest(_ text: String) {
        #expect(Self.status { _ = try TableFilter.parse(text) } == 400)
    }

    @Test func filterSemantics() throws {
        let entity = TableEntity(
            partitionKey: "p", rowKey: "seg-0005",
            properties: ["N": .int32(5), "Big": .int64(1 << 40), "R": .double(0.5), "Name": .string("O'Brien")])
        let cases: [(String, Bool)] = [
            ("PartitionKey eq 'p' and RowKey ge 'seg-0005' and RowKey lt 'seg-0006'", true),
            ("N gt 4 and N le 5", true), ("5 lt N", false), ("N eq 5L", true), ("N eq 5.0", true),
            ("Big gt 1099511627775L", true),
            ("R lt 1", true), ("Name eq 'O''Brien'", true), ("not (N eq 5)", false), ("N eq 1 or Name ne 'x'", true),
            ("Missing eq 1", false), ("Missing ne 1", false), ("N eq '5'", false),
        ]
        for (text, expected) in cases {
            #expect(try TableFilter.parse(text).matches(entity) == expected, "\(text)")
        }
        let filter = try TableFilter.parse(
            "PartitionKey eq 'p' and RowKey gt 'a' and RowKey le 'm' and (N eq 1 or N eq 2)")
        #expect(filter.partitionKey == "p")
        #expect(filter.rowKeyBounds.from == "a" && filter.rowKeyBounds.through == "m" && filter.rowKeyBounds.to == nil)
        #expect(try TableFilter.parse("PartitionKey eq 'p' or N eq 1").partitionKey == nil)
    }
}
