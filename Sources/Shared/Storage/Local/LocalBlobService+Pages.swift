import Foundation
import Logging

/// Page blobs: create, Put Page (update, clear), Get Page Ranges (and the diff against a snapshot),
/// resize and sequence numbers. A page blob's file always has the blob's size; unwritten and cleared
/// pages are holes.
extension LocalBlobService {
    @discardableResult
    public func createPageBlob(
        _ blob: BlobAddress, size: UInt64, sequenceNumber: Int64, metadata: [String: String], conditions: BlobConditions
    ) async throws -> BlobWriteResult {
        try LocalBlobValidation.address(blob)
        try LocalBlobValidation.pageBlobSize(size, blob)
        try LocalBlobValidation.sequenceNumber(sequenceNumber, blob)
        try LocalBlobValidation.metadata(metadata)
        try LocalBlobValidation.conditions(conditions)
        return try await write { db, now, files in
            try replaceBlob(
                blob, type: .pageBlob, size: size, sequenceNumber: sequenceNumber, metadata: metadata,
                conditions: conditions, now: now, files: files, in: db
            ) { file in
                try file.truncate(to: size)
            }
        }
    }

    @discardableResult
    public func putPages(
        _ blob: BlobAddress, offset: UInt64, data: [UInt8], checksum: PageChecksum?, conditions: BlobConditions
    ) async throws -> BlobWriteResult {
        try LocalBlobValidation.address(blob)
        try LocalBlobValidation.conditions(conditions)
        let range = ByteRange(offset: offset, length: UInt64(data.count))
        try LocalBlobValidation.pageRange(range, blob)
        guard data.count <= LocalBlobValidation.maxPutPageBytes else {
            throw StorageError(
                .requestBodyTooLarge, status: 413,
                "Put Page of \(data.count) bytes to \(blob) is over the 4 MiB limit; split it")
        }
        switch checksum {
        case .md5(let digest):
            guard digest.count == 16 else {
                throw StorageError.badRequest(
                    .invalidHeaderValue, "Content-MD5 of \(digest.count) bytes for \(blob); an MD5 has 16")
            }
            guard checksum?.matches(data) == true else {
                throw StorageError.badRequest(
                    .md5Mismatch,
                    "the MD5 of the \(data.count) bytes for \(blob) at offset \(offset) does not match Content-MD5; the data was damaged, send it again"
                )
            }
        case .crc64:
            guard checksum?.matches(data) == true else {
                throw StorageError.badRequest(
                    .crc64Mismatch,
                    "the CRC-64 of the \(data.count) bytes for \(blob) at offset \(offset) does not match x-ms-content-crc64; the data was damaged, send it again"
                )
            }
        case nil: break
        }
        let (directory, logger) = (store.blobDirectory, store.logger)
        return try await write { db, now, _ in
            var record = try Self.requirePageBlob(blob, in: db)
            try Self.checkPageWrite(conditions, on: record, at: now, logger: logger)
            try LocalBlobValidation.pageRange(range, inside: record.size, blob)
            try SystemFile.openForWriting(directory + "/" + record.file).write(data, at: offset)
            try LocalBlobRangeTable.pages.insert(range, key: [.integer(record.id)], in: db)
            try Self.recordChange(range, of: record, in: db)
            record.touch(at: now)
            try Self.save(record, in: db)
            return record.writeResult
        }
    }

    @discardableResult
    public func clearPages(_ blob: BlobAddress, range: ByteRange, conditions: BlobConditions) async throws
        -> BlobWriteResult
    {
        try LocalBlobValidation.address(blob)
        try LocalBlobValidation.conditions(conditions)
        try LocalBlobValidation.pageRange(range, blob)
        let (directory, logger) = (store.blobDirectory, store.logger)
        return try await write { db, now, _ in
            var record = try Self.requirePageBlob(blob, in: db)
            try Self.checkPageWrite(conditions, on: record, at: now, logger: logger)
            try LocalBlobValidation.pageRange(range, inside: record.size, blob)
            try SystemFile.openForWriting(directory + "/" + record.file).punchHole(range)
            try LocalBlobRangeTable.pages.remove(range, key: [.integer(record.id)], in: db)
            try Self.recordChange(range, of: record, in: db)
            record.touch(at: now)
            try Self.save(record, in: db)
            return record.writeResult
        }
    }

    public func pageRanges(
        _ blob: BlobAddress, range: ByteRange?, snapshot: String?, previousSnapshot: String?, conditions: BlobConditions
    ) async throws -> PageRangeList {
        try LocalBlobValidation.address(blob)
        try LocalBlobValidation.conditions(conditions)
        if let range { try LocalBlobValidation.pageRange(range, blob) }
        return try await read { db, now in
            let target = try Self.requireRecord(blob, snapshot: snapshot, in: db)
            try Self.requirePageType(target)
            try Self.check(conditions, on: target, access: .read, at: now)
            var bounds = ByteRange(offset: 0, length: target.size)
            if let range {
                let end = min(range.end, target.size)
                bounds = ByteRange(offset: min(range.offset, end), length: end - min(range.offset, end))
            }
            let pages = try LocalBlobRangeTable.pages.ranges(key: [.integer(target.id)], within: bounds, in: db)
            guard let previousSnapshot else { return PageRangeList(pageRanges: pages.ranges) }

            guard !previousSnapshot.isEmpty, let previous = try Self.record(blob, snapshot: previousSnapshot, in: db)
            else {
                throw StorageError.conflict(
                    .previousSnapshotNotFound, "previous snapshot \(previousSnapshot) of \(blob) does not exist")
            }
            // Changes are logged on the base blob per epoch; the target (the base, or a snapshot that
            // ended its epoch) saw every epoch before its own.
            let base = target.snapshot.isEmpty ? target : try Self.requireRecord(blob, snapshot: nil, in: db)
            let endEpoch = target.snapshot.isEmpty ? Int64.max : target.epoch
            guard previous.epoch <= endEpoch else {
                throw StorageError.badRequest(
                    .previousSnapshotCannotBeNewer,
                    "previous snapshot \(previousSnapshot) is newer than snapshot \(target.snapshot) of \(blob)")
            }
            let changed = try LocalBlobRangeTable.changes(of: base.id, epochs: previous.epoch..<endEpoch, in: db)
                .clipped(to: bounds)
            // A changed page that now holds data was written since; one that does not was cleared.
            return PageRangeList(
                pageRanges: changed.intersection(pages).ranges, clearRanges: changed.subtracting(pages).ranges)
        }
    }

    @discardableResult
    public func resizePageBlob(_ blob: BlobAddress, size: UInt64, conditions: BlobConditions) async throws
        -> BlobWriteResult
    {
        try LocalBlobValidation.address(blob)
        try LocalBlobValidation.pageBlobSize(size, blob)
        try LocalBlobValidation.conditions(conditions)
        let directory = store.blobDirectory
        return try await write { db, now, _ in
            var record = try Self.requirePageBlob(blob, in: db)
            try Self.check(conditions, on: record, access: .write, at: now)
            if size < record.size {
                // Shrinking discards the pages past the new end; growing adds clear pages.
                let dropped = ByteRange(offset: size, length: record.size - size)
                try LocalBlobRangeTable.pages.remove(dropped, key: [.integer(record.id)], in: db)
                try Self.recordChange(dropped, of: record, in: db)
            }
            try SystemFile.openForWriting(directory + "/" + record.file).truncate(to: size)
            record.size = size
            record.touch(at: now)
            try Self.save(record, in: db)
            return record.writeResult
        }
    }

    @discardableResult
    public func setSequenceNumber(_ blob: BlobAddress, _ action: SequenceNumberAction, conditions: BlobConditions)
        async throws -> BlobWriteResult
    {
        try LocalBlobValidation.address(blob)
        try LocalBlobValidation.conditions(conditions)
        switch action {
        case .max(let value), .update(let value): try LocalBlobValidation.sequenceNumber(value, blob)
        case .increment: break
        }
        return try await write { db, now, _ in
            var record = try Self.requirePageBlob(blob, in: db)
            try Self.check(conditions, on: record, access: .write, at: now)
            let current = record.sequenceNumber ?? 0
            switch action {
            case .max(let value): record.sequenceNumber = Swift.max(current, value)
            case .update(let value): record.sequenceNumber = value
            case .increment:
                guard current < Int64.max else {
                    throw StorageError.conflict(
                        .sequenceNumberIncrementTooLarge,
                        "the sequence number of \(blob) is at its maximum and cannot be incremented")
                }
                record.sequenceNumber = current + 1
            }
            record.touch(at: now)
            try Self.save(record, in: db)
            return record.writeResult
        }
    }

    // MARK: Checks

    private static func requirePageBlob(_ blob: BlobAddress, in db: SQLiteDatabase) throws -> LocalBlobRecord {
        let record = try requireRecord(blob, snapshot: nil, in: db)
        try requirePageType(record)
        return record
    }

    private static func requirePageType(_ record: LocalBlobRecord) throws {
        guard record.type == .pageBlob else {
            throw StorageError.conflict(
                .invalidBlobType, "\(record.address) is a block blob; this operation needs a page blob")
        }
    }

    /// A Put Page's conditions: lease and ETag as for any write, then the sequence-number conditions, which
    /// Azure honours on Put Page only (docs/azure-rest.md, "Conditions and leases"); a write they refuse is
    /// logged as fenced.
    private static func checkPageWrite(
        _ conditions: BlobConditions, on record: LocalBlobRecord, at now: Double, logger: Logger
    ) throws {
        try check(conditions, on: record, access: .write, at: now)
        let current = record.sequenceNumber ?? 0
        let failed: String? =
            if let limit = conditions.ifSequenceNumberLessThanOrEqual, !(current <= limit) {
                "≤ \(limit)"
            } else if let limit = conditions.ifSequenceNumberLessThan, !(current < limit) {
                "< \(limit)"
            } else if let limit = conditions.ifSequenceNumberEqual, current != limit { "= \(limit)" } else { nil }
        if let failed {
            logger.pageWriteFenced(record.address, conditions)
            throw StorageError.preconditionFailed(
                .sequenceNumberConditionNotMet,
                "the sequence number of \(record.address) is \(current), not \(failed); another writer may have taken over"
            )
        }
    }
}
