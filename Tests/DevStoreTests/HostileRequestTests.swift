import Foundation
import RelayDevStoreKit
import RelayShared
import Testing

/// Requests an attacker or a careless client sends: malformed dates and ranges answer 400 or 403 and
/// the server keeps serving; a table SAS stays inside its table and key range, through `$batch` too.
@Suite(.timeLimit(.minutes(2)))
struct HostileRequestTests {
    static let account = ConnectionString.developmentAccountName

    /// Dates that once made the date parser index past its input.
    static let brokenDates = [
        "Z", "TZ", "2024-01-01T00:00:.Z", "T", "2024-01-01T", "2024-01-01TZ", "-", "Mon, 01 Jan 2024 00:00: GMT",
        "Mon, GMT", " GMT", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "9999-12-31T23:59:59.99999999Z",
    ]

    /// `true` while the server answers a signed request (for a blob that does not exist).
    static func alive(_ store: RunningDevStore) async throws -> Bool {
        try await RawRequest(method: "GET", port: store.ports.blob, path: "/\(account)/absent/blob").signed().send()
            .status == 404
    }

    @Test func unauthenticatedRequestsWithBrokenDatesAreRefusedAndTheServerLives() async throws {
        try await withDevStore { store in
            for date in Self.brokenDates + [""] {
                let sharedKey = try await RawRequest(
                    method: "GET", port: store.ports.blob, path: "/\(Self.account)/vhds/b",
                    headers: [("x-ms-date", date), ("Authorization", "SharedKey \(Self.account):AAAA")]
                ).send()
                #expect(sharedKey.status == 403, "x-ms-date '\(date)'")
                let encoded = date.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                for field in ["se", "st"] {
                    let sas = try await RawRequest(
                        method: "GET", port: store.ports.blob, path: "/\(Self.account)/vhds/b",
                        query: [
                            ("sv", "2021-12-02"), ("ss", "b"), ("srt", "o"), ("sp", "r"), ("se", "2099-01-01"),
                            (field, encoded), ("sig", "AAAA"),
                        ]
                    ).send()
                    #expect(sas.status == 403, "\(field)=\(date)")
                }
            }
            #expect(try await Self.alive(store))
        }
    }

    @Test func signedRequestsWithBrokenDatesAreBadRequests() async throws {
        try await withDevStore { store in
            let table = store.ports.table
            let json = [("Accept", "application/json;odata=nometadata"), ("Content-Type", "application/json")]
            try await Self.createTables(["dates"], store)
            for date in ["", "Z", "TZ", "2024-01-01T00:00:.Z"] {
                let filter = "PartitionKey eq 'p' and T eq datetime'\(date)'".addingPercentEncoding(
                    withAllowedCharacters: .alphanumerics)!
                let query = try await RawRequest(
                    method: "GET", port: table, path: "/\(Self.account)/dates()", query: [("$filter", filter)],
                    headers: json
                )
                .signed(service: .table).send()
                #expect(query.status == 400, "datetime'\(date)'")
                let entity = #"{"PartitionKey":"p","RowKey":"r","T@odata.type":"Edm.DateTime","T":"\#(date)"}"#
                let insert = try await RawRequest(
                    method: "POST", port: table, path: "/\(Self.account)/dates", headers: json, body: Array(entity.utf8)
                )
                .signed(service: .table).send()
                #expect(insert.status == 400, "Edm.DateTime '\(date)'")
            }
            let blob = store.ports.blob
            try await store.createPageBlob("b", size: 4096)
            for header in ["If-Unmodified-Since", "If-Modified-Since"] {
                let response = try await RawRequest(
                    method: "GET", port: blob, path: "/\(Self.account)/vhds/b", headers: [(header, "Z")]
                ).signed().send()
                #expect(response.status == 400, "\(header): Z")
            }
            #expect(try await Self.alive(store))
        }
    }

    @Test func rangesEndingAtTheLargestNumberAreRefusedEvenUnderAReadOnlySAS() async throws {
        try await withDevStore { store in
            let blob = store.ports.blob
            try await store.createPageBlob("b", size: 4096)
            let readOnly = TestSAS.account(permissions: "r")
            for range in [
                "bytes=0-18446744073709551615", "bytes=18446744073709551615-",
                "bytes=9223372036854775807-9223372036854775807", "bytes=-1-5",
            ] {
                let get = try await RawRequest(
                    method: "GET", port: blob, path: "/\(Self.account)/vhds/b", query: readOnly,
                    headers: [("x-ms-range", range)]
                ).send()
                #expect(get.status == 400, "Get Blob \(range)")
                let pageRanges = try await RawRequest(
                    method: "GET", port: blob, path: "/\(Self.account)/vhds/b",
                    query: readOnly + [("comp", "pagelist")], headers: [("x-ms-range", range)]
                ).send()
                #expect(pageRanges.status == 400, "Get Page Ranges \(range)")
                for write in ["update", "clear"] {
                    let put = try await RawRequest(
                        method: "PUT", port: blob, path: "/\(Self.account)/vhds/b", query: [("comp", "page")],
                        headers: [("x-ms-page-write", write), ("x-ms-range", range)]
                    ).signed().send()
                    #expect(put.status == 400, "Put Page \(write) \(range)")
                }
            }
            #expect(try await Self.alive(store))
        }
    }

    @Test func tableSASCannotWriteAnotherTableThroughBatch() async throws {
        try await withDevStore { store in
            try await Self.createTables(["control", "other"], store)
            let sas = TestSAS.table(table: "control", permissions: "raud")
            let response = try await Self.batchInsert(into: "other", partitionKey: "p", rowKey: "r", sas: sas, store)
            #expect(response.status == 202)
            #expect(String(decoding: response.body, as: UTF8.self).contains("HTTP/1.1 403"))
            #expect(try await Self.getEntity("other", "p", "r", store).status == 404)
            // The same batch on its own table goes through.
            let own = try await Self.batchInsert(into: "control", partitionKey: "p", rowKey: "r", sas: sas, store)
            #expect(String(decoding: own.body, as: UTF8.self).contains("HTTP/1.1 201"))
            #expect(try await Self.getEntity("control", "p", "r", store).status == 200)
        }
    }

    @Test func tableSASKeyRangeIsEnforced() async throws {
        try await withDevStore { store in
            try await Self.createTables(["control"], store)
            let table = store.ports.table
            let json = [("Accept", "application/json;odata=nometadata"), ("Content-Type", "application/json")]
            let sas = TestSAS.table(table: "control", permissions: "raud", range: ("b", "2", "d", "5"))
            func insert(_ pk: String, _ rk: String) async throws -> Int {
                try await RawRequest(
                    method: "POST", port: table, path: "/\(Self.account)/control", query: sas, headers: json,
                    body: Array(#"{"PartitionKey":"\#(pk)","RowKey":"\#(rk)"}"#.utf8)
                ).send().status
            }
            for (pk, rk) in [("b", "2"), ("c", "0"), ("c", "9"), ("d", "5")] {
                #expect(try await insert(pk, rk) == 201, "\(pk)/\(rk) inside")
            }
            for (pk, rk) in [("a", "9"), ("b", "1"), ("d", "6"), ("e", "0")] {
                #expect(try await insert(pk, rk) == 403, "\(pk)/\(rk) outside")
            }
            // Rows outside the range written with the key: the SAS reads, updates and deletes none of them.
            for (pk, rk) in [("a", "1"), ("e", "1")] {
                _ = try await RawRequest(
                    method: "POST", port: table, path: "/\(Self.account)/control", headers: json,
                    body: Array(#"{"PartitionKey":"\#(pk)","RowKey":"\#(rk)"}"#.utf8)
                ).signed(service: .table).send()
                let path = "/\(Self.account)/control(PartitionKey='\(pk)',RowKey='\(rk)')"
                #expect(
                    try await RawRequest(method: "GET", port: table, path: path, query: sas, headers: json).send()
                        .status == 403)
                #expect(
                    try await RawRequest(
                        method: "DELETE", port: table, path: path, query: sas, headers: json + [("If-Match", "*")]
                    ).send().status == 403)
                #expect(
                    try await RawRequest(
                        method: "PUT", port: table, path: path, query: sas, headers: json, body: Array("{}".utf8)
                    ).send().status == 403)
                let filter = "PartitionKey eq '\(pk)'".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let query = try await RawRequest(
                    method: "GET", port: table, path: "/\(Self.account)/control()", query: sas + [("$filter", filter)],
                    headers: json
                ).send()
                #expect(query.status == 200)
                #expect(String(decoding: query.body, as: UTF8.self) == #"{"value":[]}"#)
                #expect(try await Self.getEntity("control", pk, rk, store).status == 200)
            }
            let batch = try await Self.batchInsert(into: "control", partitionKey: "z", rowKey: "z", sas: sas, store)
            #expect(String(decoding: batch.body, as: UTF8.self).contains("HTTP/1.1 403"))
            #expect(try await Self.getEntity("control", "z", "z", store).status == 404)
        }
    }

    @Test func blobNamesWithNULOrControlCharactersAreRefusedAndAliasNothing() async throws {
        try await withDevStore { store in
            let blob = store.ports.blob
            _ = try await RawRequest(
                method: "PUT", port: blob, path: "/\(Self.account)/vhds", query: [("restype", "container")]
            ).signed().send()
            func put(_ name: String, _ bytes: [UInt8]) async throws -> Int {
                try await RawRequest(
                    method: "PUT", port: blob, path: "/\(Self.account)/vhds/\(name)",
                    headers: [("x-ms-blob-type", "BlockBlob")], body: bytes
                )
                .signed().send().status
            }
            #expect(try await put("victim", Array("original".utf8)) == 201)
            for name in ["victim%00.bak", "%00", "a%01b", "line%0Abreak", "del%7F", "a%EF%BF%BFb", "%EF%BF%BE"] {
                #expect(try await put(name, Array("attack".utf8)) == 400, "\(name)")
            }
            let victim = try await RawRequest(method: "GET", port: blob, path: "/\(Self.account)/vhds/victim").signed()
                .send()
            #expect(victim.body == Array("original".utf8))
            // Length in UTF-16 code units: 1024 emoji clusters are 2048 units, too long.
            let long = String(repeating: "\u{1F600}", count: 1024).addingPercentEncoding(
                withAllowedCharacters: .alphanumerics)!
            #expect(try await put(long, []) == 400)
        }
    }

    @Test func textWithNULRoundTripsThroughTheStore() async throws {
        try await withDevStore { store in
            try await Self.createTables(["nul"], store)
            let json = [("Accept", "application/json;odata=nometadata"), ("Content-Type", "application/json")]
            let entity = #"{"PartitionKey":"p","RowKey":"r","S":"a\u0000b"}"#
            #expect(
                try await RawRequest(
                    method: "POST", port: store.ports.table, path: "/\(Self.account)/nul", headers: json,
                    body: Array(entity.utf8)
                )
                .signed(service: .table).send().status == 201)
            let read = try await Self.getEntity("nul", "p", "r", store)
            #expect(String(decoding: read.body, as: UTF8.self).contains(#""S":"a\u0000b""#))
        }
    }

    @Test func xHTTPMethodTunnelsOnlyMerge() async throws {
        try await withDevStore { store in
            try await Self.createTables(["tunnel"], store)
            let json = [("Accept", "application/json;odata=nometadata"), ("Content-Type", "application/json")]
            #expect(
                try await RawRequest(
                    method: "POST", port: store.ports.table, path: "/\(Self.account)/tunnel", headers: json,
                    body: Array(#"{"PartitionKey":"p","RowKey":"r","N":1}"#.utf8)
                ).signed(service: .table).send().status == 201)
            let path = "/\(Self.account)/tunnel(PartitionKey='p',RowKey='r')"
            let delete = try await RawRequest(
                method: "POST", port: store.ports.table, path: path,
                headers: json + [("X-HTTP-Method", "DELETE"), ("If-Match", "*")]
            )
            .signed(service: .table).send()
            #expect(delete.status == 405)
            #expect(try await Self.getEntity("tunnel", "p", "r", store).status == 200)
            let merge = try await RawRequest(
                method: "POST", port: store.ports.table, path: path,
                headers: json + [("X-HTTP-Method", "MERGE"), ("If-Match", "*")],
                body: Array(#"{"M":2}"#.utf8)
            ).signed(service: .table).send()
            #expect(merge.status == 204)
            let read = String(decoding: try await Self.getEntity("tunnel", "p", "r", store).body, as: UTF8.self)
            #expect(read.contains(#""N":1"#) && read.contains(#""M":2"#))
        }
    }

    // MARK: Helpers

    static func createTables(_ names: [String], _ store: RunningDevStore) async throws {
        for name in names {
            let response = try await RawRequest(
                method: "POST", port: store.ports.table, path: "/\(account)/Tables",
                headers: [("Accept", "application/json;odata=nometadata")],
                body: Array(#"{"TableName":"\#(name)"}"#.utf8)
            ).signed(service: .table).send()
            #expect(response.status == 201)
        }
    }

    static func getEntity(_ table: String, _ pk: String, _ rk: String, _ store: RunningDevStore) async throws -> (
        status: Int, headers: [String: String], body: [UInt8]
    ) {
        try await RawRequest(
            method: "GET", port: store.ports.table, path: "/\(account)/\(table)(PartitionKey='\(pk)',RowKey='\(rk)')",
            headers: [("Accept", "application/json;odata=nometadata")]
        ).signed(service: .table).send()
    }

    /// A `$batch` of one insert into `table`, authorised by `sas`.
    static func batchInsert(
        into table: String, partitionKey: String, rowKey: String, sas: [(name: String, value: String)],
        _ store: RunningDevStore
    ) async throws
        -> (status: Int, headers: [String: String], body: [UInt8])
    {
        let body =
            "--batch_b\r\nContent-Type: multipart/mixed; boundary=changeset_c\r\n\r\n--changeset_c\r\nContent-Type: application/http\r\n"
            + "Content-Transfer-Encoding: binary\r\n\r\nPOST http://127.0.0.1:\(store.ports.table)/\(account)/\(table) HTTP/1.1\r\n"
            + "Content-Type: application/json\r\nAccept: application/json;odata=nometadata\r\n\r\n"
            + #"{"PartitionKey":"\#(partitionKey)","RowKey":"\#(rowKey)"}"# + "\r\n--changeset_c--\r\n--batch_b--\r\n"
        return try await RawRequest(
            method: "POST", port: store.ports.table, path: "/\(account)/$batch", query: sas,
            headers: [("Content-Type", "multipart/mixed; boundary=batch_b")], body: Array(body.utf8)
        ).send()
    }
}
