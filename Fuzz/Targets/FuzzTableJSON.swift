@testable import RelayDevStoreKit
@testable import RelayShared

/// `table-json`: the bytes as a Table body: an entity relay-devstore receives (`TableEntityJSON`, the
/// shared property codec `TableValue+JSON`) and encodes again, an entity the Azure backend receives,
/// and a `$batch` answer the backend splits.
enum FuzzTableJSON {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        let body = Array(bytes)
        _ = AzureTableBatch.subResponses(String(decoding: body, as: UTF8.self))
        guard let json = try? JSONValue.parse(body) else { return }
        _ = try? AzureTableJSON.decode(json, table: "control", etag: "W/\"datetime'2024-01-01T00%3A00%3A00.0000000Z'\"")
        guard let entity = try? TableEntityJSON.entity(from: body) else { return }
        _ = try? AzureTableJSON.encode(entity)
        _ = TableEntityJSON.members(
            of: entity, metadata: .full, select: nil, baseURL: "http://127.0.0.1/devstoreaccount1", table: "control")
    }
}
