import Foundation
import RelayDevStoreKit
import RelayShared
import Testing

/// The server in-process over HTTP: signed requests succeed; unsigned, wrongly signed, tampered and
/// stale requests are refused with 403 AuthenticationFailed; bodies are bounded; faults render as
/// Azure's errors.
@Suite(.timeLimit(.minutes(2)))
struct DevStoreServerTests {
    let account = ConnectionString.developmentAccountName

    @Test func signedPageWritesRoundTrip() async throws {
        try await withDevStore { store in
            let port = store.ports.blob
            var response = try await RawRequest(
                method: "PUT", port: port, path: "/\(account)/vhds", query: [("restype", "container")]
            ).signed().send()
            #expect(response.status == 201)
            response = try await RawRequest(
                method: "PUT", port: port, path: "/\(account)/vhds/disk.vhd",
                headers: [("x-ms-blob-type", "PageBlob"), ("x-ms-blob-content-length", "8192")]
            ).signed().send()
            #expect(response.status == 201)
            let page = [UInt8](repeating: 7, count: 1024)
            response = try await RawRequest(
                method: "PUT", port: port, path: "/\(account)/vhds/disk.vhd", query: [("comp", "page")],
                headers: [
                    ("x-ms-page-write", "update"), ("x-ms-range", "bytes=1024-2047"),
                    ("Content-MD5", Data(MD5.digest(page)).base64EncodedString()),
                ],
                body: page
            ).signed().send()
            #expect(response.status == 201)
            #expect(response.headers["x-ms-blob-sequence-number"] == "0")
            #expect(response.headers["content-md5"] == Data(MD5.digest(page)).base64EncodedString())
            // A right transactional CRC-64 is echoed; a wrong one is refused, and nothing is written.
            let crc = Data(CRC64.headerBytes(page)).base64EncodedString()
            let checked = try await RawRequest(
                method: "PUT", port: port, path: "/\(account)/vhds/disk.vhd", query: [("comp", "page")],
                headers: [
                    ("x-ms-page-write", "update"), ("x-ms-range", "bytes=1024-2047"), ("x-ms-content-crc64", crc),
                ],
                body: page
            ).signed().send()
            #expect(checked.status == 201)
            #expect(checked.headers["x-ms-content-crc64"] == crc)
            let corrupt = try await RawRequest(
                method: "PUT", port: port, path: "/\(account)/vhds/disk.vhd", query: [("comp", "page")],
                headers: [
                    ("x-ms-page-write", "update"), ("x-ms-range", "bytes=0-1023"),
                    ("x-ms-content-crc64", "6YKnaCgO5h0="),
                ],
                body: page
            ).signed().send()
            #expect(corrupt.status == 400)
            #expect(corrupt.headers["x-ms-error-code"] == "Crc64Mismatch")
            response = try await RawRequest(
                method: "GET", port: port, path: "/\(account)/vhds/disk.vhd", query: [("comp", "pagelist")]
            ).signed().send()
            #expect(response.status == 200)
            #expect(
                String(decoding: response.body, as: UTF8.self).contains(
                    "<PageList><PageRange><Start>1024</Start><End>2047</End></PageRange><NextMarker />"))
            #expect(response.headers["x-ms-blob-content-length"] == "8192")
            #expect(response.headers["x-ms-request-id"] != nil)
            response = try await RawRequest(
                method: "GET", port: port, path: "/\(account)/vhds/disk.vhd",
                headers: [("x-ms-range", "bytes=1024-1535")]
            ).signed().send()
            #expect(response.status == 206)
            #expect(response.body == Array(page.prefix(512)))
            #expect(response.headers["content-range"] == "bytes 1024-1535/8192")
        }
    }

    /// A read of more than 4 MiB is streamed in chunks: the whole blob arrives, in order.
    @Test func streamsLargeReads() async throws {
        try await withDevStore { store in
            let port = store.ports.blob
            let size = 9 << 20
            try await store.createPageBlob("big.vhd", size: size)
            let page = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let written = try await RawRequest(
                method: "PUT", port: port, path: "/\(account)/vhds/big.vhd", query: [("comp", "page")],
                headers: [("x-ms-page-write", "update"), ("x-ms-range", "bytes=\(8 << 20)-\((8 << 20) + 4095)")],
                body: page
            ).signed().send()
            #expect(written.status == 201)
            let whole = try await RawRequest(method: "GET", port: port, path: "/\(account)/vhds/big.vhd").signed()
                .send()
            #expect(whole.status == 200)
            #expect(whole.body.count == size)
            #expect(Array(whole.body[(8 << 20)..<((8 << 20) + 4096)]) == page)
            #expect(whole.body[..<(8 << 20)].allSatisfy { $0 == 0 })
            let ranged = try await RawRequest(
                method: "GET", port: port, path: "/\(account)/vhds/big.vhd",
                headers: [("x-ms-range", "bytes=\((8 << 20) - 4)-")]
            ).signed().send()
            #expect(ranged.status == 206)
            #expect(ranged.headers["content-range"] == "bytes \((8 << 20) - 4)-\(size - 1)/\(size)")
            #expect(ranged.body.count == size - (8 << 20) + 4)
            #expect(Array(ranged.body[4..<4100]) == page)
        }
    }

    @Test func refusesUnauthenticatedRequests() async throws {
        try await withDevStore { store in
            let port = store.ports.blob
            let create = RawRequest(
                method: "PUT", port: port, path: "/\(account)/secret", query: [("restype", "container")])

            let unsigned = try await create.send()
            let wrongKey = try await create.signed(key: Array(repeating: 1, count: 64)).send()
            let stale = try await create.signed(date: Date().addingTimeInterval(-20 * 60)).send()
            // Signed for one container, sent for another.
            var tampered = create.signed()
            tampered.path = "/\(account)/other"
            let tamperedResponse = try await tampered.send()
            for response in [unsigned, wrongKey, stale, tamperedResponse] {
                #expect(response.status == 403)
                #expect(response.headers["x-ms-error-code"] == "AuthenticationFailed")
                let xml = String(decoding: response.body, as: UTF8.self)
                #expect(xml.contains("<Code>AuthenticationFailed</Code>"))
                #expect(!xml.contains(ConnectionString.developmentAccountKey))
            }
            // None of them created anything: creating now succeeds.
            #expect(try await create.signed().send().status == 201)

            // The table endpoint verifies its own string-to-sign, and answers errors in JSON.
            let table = RawRequest(
                method: "POST", port: store.ports.table, path: "/\(account)/Tables",
                headers: [("Accept", "application/json;odata=nometadata")], body: Array(#"{"TableName":"jobs"}"#.utf8))
            let badTable = try await table.signed(key: Array(repeating: 2, count: 64), service: .table).send()
            #expect(badTable.status == 403)
            #expect(
                String(decoding: badTable.body, as: UTF8.self).contains(
                    #""odata.error":{"code":"AuthenticationFailed""#))
            #expect(try await table.signed(service: .table).send().status == 201)
        }
    }

    @Test func boundsBodies() async throws {
        try await withDevStore { store in
            let port = store.ports.blob
            try await store.createPageBlob("disk.vhd", size: 16 << 20)
            let size = (4 << 20) + 512
            let response = try await RawRequest(
                method: "PUT", port: port, path: "/\(account)/vhds/disk.vhd", query: [("comp", "page")],
                headers: [("x-ms-page-write", "update"), ("x-ms-range", "bytes=0-\(size - 1)")],
                body: [UInt8](repeating: 1, count: size)
            ).signed().send()
            #expect(response.status == 413)
            #expect(response.headers["x-ms-error-code"] == "RequestBodyTooLarge")
        }
    }

    @Test func injectedFaultsAreAzureErrors() async throws {
        try await withDevStore(faults: FaultConfiguration(seed: 7, serverBusyRate: 1)) { store in
            let blob = try await RawRequest(
                method: "PUT", port: store.ports.blob, path: "/\(account)/vhds", query: [("restype", "container")]
            ).signed().send()
            #expect(blob.status == 503)
            #expect(blob.headers["x-ms-error-code"] == "ServerBusy")
            #expect(String(decoding: blob.body, as: UTF8.self).contains("<Code>ServerBusy</Code>"))
            let table = try await RawRequest(
                method: "POST", port: store.ports.table, path: "/\(account)/Tables",
                headers: [("Accept", "application/json;odata=nometadata")], body: Array(#"{"TableName":"jobs"}"#.utf8)
            )
            .signed(service: .table).send()
            #expect(table.status == 503)
            #expect(String(decoding: table.body, as: UTF8.self).contains(#""code":"ServerBusy""#))
        }
    }
}

/// Runs `body` against a fresh in-process server and stops it gracefully afterwards, also on failure.
func withDevStore(
    faults: FaultConfiguration? = nil, connections: ConnectionLimits? = nil, deletedContainerHold: TimeInterval? = nil,
    _ body: (RunningDevStore) async throws -> Void
) async throws {
    let store = try await RunningDevStore.start(
        faults: faults, connections: connections, deletedContainerHold: deletedContainerHold)
    do {
        try await body(store)
    } catch {
        try? await store.stop()
        throw error
    }
    try await store.stop()
}
