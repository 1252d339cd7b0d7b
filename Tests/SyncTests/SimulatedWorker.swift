import Foundation
import RelayShared
import Testing

/// What the worker (issue 9) does, reduced to what the client's commands observe: takes the control
/// messages in as `seg-` rows, applies segments in seq order to the target page blob, advances the
/// cursor and marks finished generations applied with a snapshot as their recovery point.
struct SimulatedWorker {
    let services: StorageServices
    let target: TargetName
    var control: TargetControl { TargetControl(services: services, target: target) }

    /// Moves every queued message into its `seg-` row (intake), keeping the first row of a seq.
    func intake() async throws {
        while true {
            let batch = try await services.queue.getMessages(
                ControlNames.defaultQueue, count: 32, visibilityTimeout: 600)
            if batch.isEmpty { return }
            for received in batch {
                let message = try ControlMessage(parsing: received.text)
                do {
                    try await services.table.insert(ControlNames.defaultTable, SegmentRow(message: message).entity)
                } catch let error as StorageError where error.code == .entityAlreadyExists {}
                try await services.queue.deleteMessage(
                    ControlNames.defaultQueue, id: received.id, popReceipt: received.popReceipt)
            }
        }
    }

    /// Applies the contiguous `seg-` rows above the cursor to the target, then records the cursor and
    /// the generations that are now complete.
    func apply(virtualSize: UInt64) async throws {
        let diskSize = VHDFooter.targetSize(forVirtualSize: virtualSize)
        let cursor = try await control.cursorRow()
        var applied = cursor?.appliedSeq ?? 0
        let rows = Dictionary(
            try await control.segmentRows().map { ($0.message.seq, $0) }, uniquingKeysWith: { a, _ in a })
        let decompressor = try FrameDecompressor()
        while let row = rows[applied + 1] {
            let segment = try await services.blob.getBlob(
                BlobAddress(container: ControlNames.defaultContainer, name: row.message.blob),
                range: nil, snapshot: nil, conditions: .none
            ).data
            let reader = try SegmentReader(segment, diskSize: diskSize)
            for (index, extent) in reader.extents.enumerated() {
                switch extent.operation {
                case .write:
                    var plain = [UInt8](repeating: 0, count: extent.length)
                    try plain.withUnsafeMutableBytes {
                        try reader.decode(extentAt: index, using: decompressor, into: $0)
                    }
                    try await services.blob.putPages(
                        target.address, offset: extent.offset, data: plain, checksum: nil, conditions: .none)
                case .clear:
                    try await services.blob.clearPages(target.address, range: extent.range, conditions: .none)
                }
            }
            applied += 1
        }
        try await services.table.upsert(
            ControlNames.defaultTable,
            CursorRow(target: target, appliedSeq: applied, updatedAt: Date()).entity, mode: .replace)
        for generation in try await control.generationRows() where generation.state != .applied {
            guard let last = generation.lastSeq, last <= applied, generation.state != .sending else { continue }
            let snapshot = try await services.blob.snapshot(target.address, metadata: nil, conditions: .none)
            try await control.updateGeneration(generation.generation) { row in
                if row.state == .sent {
                    row.state = .applied
                    row.snapshot = snapshot
                    row.appliedAt = Date()
                }
            }
        }
    }

    func run(virtualSize: UInt64) async throws {
        try await intake()
        try await apply(virtualSize: virtualSize)
    }
}
