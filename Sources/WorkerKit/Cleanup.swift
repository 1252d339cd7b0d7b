import Logging
import RelayShared

/// Cleanup (docs/worker.md, "Cleanup"): once seqs are at or below the cursor, their `seg-` rows and
/// temp blobs are no longer needed. Rows go in entity group transactions of 100; the row of the cursor's
/// own seq stays, since it tells a restarted claim whether a recovery point is still due.
struct Cleanup: Sendable {
    let services: StorageServices
    let configuration: WorkerConfiguration
    let control: ControlTable
    let calls: StorageCalls
    let logger: Logger

    func run(_ target: TargetName, cursor: UInt64) async throws {
        guard cursor > 1 else { return }
        let rows = try await control.query(
            target.key, from: ControlNames.segmentRow(1), to: ControlNames.segmentRow(cursor))
        for chunk in stride(from: 0, to: rows.count, by: TableLimits.maxBatchOperations) {
            let operations = rows[chunk..<min(chunk + TableLimits.maxBatchOperations, rows.count)].map {
                TableOperation.delete(partitionKey: $0.partitionKey, rowKey: $0.rowKey, ifMatch: .any)
            }
            do {
                try await calls("Entity Group Transaction") {
                    try await services.table.transact(configuration.table, operations)
                }
            } catch let error as StorageError where error.status == 404 {
                // Another attempt deleted part of the chunk; the rest goes at the next cleanup.
            }
        }
        var deletedBlobs = 0
        var marker: String?
        let prefix = ControlNames.segmentBlobPrefix(target: target)
        repeat {
            let page = try await calls("List Blobs") {
                try await services.blob.listBlobs(
                    container: configuration.container, prefix: prefix, marker: marker, maxResults: 1000)
            }
            for item in page.items {
                guard let seq = Self.seq(ofTempBlob: item.name, prefix: prefix), seq <= cursor else { continue }
                do {
                    try await calls("Delete Blob") {
                        try await services.blob.deleteBlob(
                            BlobAddress(container: configuration.container, name: item.name),
                            snapshot: nil, deleteSnapshots: nil, conditions: .none)
                    }
                    deletedBlobs += 1
                } catch let error as StorageError where error.status == 404 {
                }
            }
            marker = page.nextMarker
        } while marker != nil
        if !rows.isEmpty || deletedBlobs > 0 {
            logger.debug(
                "cleaned up", metadata: ["target": "\(target)", "rows": "\(rows.count)", "blobs": "\(deletedBlobs)"])
        }
    }

    /// The seq in `<prefix><generation, 10 digits>/s<seq, 20 digits>-<digest>`, or nil for any other name.
    static func seq(ofTempBlob name: String, prefix: String) -> UInt64? {
        guard name.hasPrefix(prefix) else { return nil }
        let rest = Array(name.utf8.dropFirst(prefix.utf8.count))
        guard rest.count == 10 + 2 + 20 + 1 + 32, rest[10] == UInt8(ascii: "/"), rest[11] == UInt8(ascii: "s"),
            rest[32] == UInt8(ascii: "-")
        else { return nil }
        return UInt64(String(decoding: rest[12..<32], as: UTF8.self))
    }
}
