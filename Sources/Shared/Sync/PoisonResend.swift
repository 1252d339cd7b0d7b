import Foundation

/// Resending the poisoned seqs of the last generation sent (docs/replication-contract.md, "Segment rows
/// and poison"): the worker refused a segment (its temp blob was damaged or lost) and its target waits
/// at that seq. `relay-client sync` sends the seq again with the extents it had (from `journal.sent`),
/// read from the source, but only if every block of them still hashes to what the manifest recorded for
/// the generation: then the bytes are exactly those sent the first time. Otherwise nothing is sent and
/// the user is told to abandon the generation and sync again (a full sync follows).
///
/// The resend has another `SegmentHeader.resend` than the refused segment, so its digest and temp blob
/// differ: that is how the worker tells a resend from a duplicate delivery of the refused message.
extension SyncSession {
    func resendPoisoned(
        _ poisoned: [SegmentRow], of generation: GenerationRow, disk: any VirtualDisk, identity: TargetIdentity,
        state: ClientState, statePool: BlockingPool<Void>, lock: ClientLock
    ) async throws -> SyncSummary {
        let target = request.target
        let advice = "run `relay-client abandon --target \(target)`, then sync again (a full sync follows)"
        let seqs = poisoned.map(\.message.seq).sorted()
        let described = seqs.map(String.init).joined(separator: ", ")
        guard let lastSeq = generation.lastSeq, seqs.allSatisfy({ (generation.firstSeq...lastSeq).contains($0) }) else {
            throw SyncError(
                .targetMismatch,
                "\(target): seq \(described) is poisoned and not all of it is of generation "
                    + "\(generation.generation), the last one sent, so it cannot be resent: \(advice)")
        }
        let expected = Manifest.Header(
            blockSize: 0, virtualSize: identity.virtualSize, generation: generation.generation,
            sourceID: identity.sourceID, targetID: target.segmentTargetID)
        let (journal, manifest) = try await statePool.run { _ in
            (try? SyncJournal.read(state.sentJournalPath), try? Manifest.open(state.manifestPath))
        }
        guard let journal = journal ?? nil, let manifest = manifest ?? nil,
            journal.begin.generation == generation.generation,
            journal.begin.firstSeq == generation.firstSeq,
            journal.planned.count == Int(lastSeq - generation.firstSeq + 1),
            manifest.header
                == Manifest.Header(
                    blockSize: journal.begin.blockSize, virtualSize: expected.virtualSize,
                    generation: expected.generation, sourceID: expected.sourceID, targetID: expected.targetID)
        else {
            throw SyncError(
                .badState,
                "\(target): seq \(described) of generation \(generation.generation) is poisoned, and the state "
                    + "directory does not hold that generation's journal and manifest to resend it: \(advice)")
        }
        note("resending poisoned seq \(described) of generation \(generation.generation) of \(target)")
        let started = ContinuousClock.now
        let codec = request.options.codec
        var resent: [UInt64] = []
        var plainBytes: UInt64 = 0
        var sentBytes: UInt64 = 0
        for row in poisoned.sorted(by: { $0.message.seq < $1.message.seq }) {
            let seq = row.message.seq
            let planned = journal.planned[Int(seq - generation.firstSeq)]
            let built = try await statePool.run { _ in
                let batch = try Self.reread(
                    planned, index: UInt64(seq - generation.firstSeq), disk: disk, manifest: manifest,
                    advice: advice, path: state.sentJournalPath)
                let writer = SegmentWriter(compressor: try FrameCompressor(codec: codec))
                var built = try writer.build(
                    batch, target: target, generation: generation.generation, seq: seq,
                    firstSeq: generation.firstSeq, resend: 1)
                if built.message.segmentDigest == row.message.segmentDigest {
                    // The refused segment was itself a first resend: this one must differ from it.
                    built = try writer.build(
                        batch, target: target, generation: generation.generation, seq: seq,
                        firstSeq: generation.firstSeq, resend: 2)
                }
                return built
            }
            let blob = BlobAddress(container: request.options.segmentsContainer, name: built.message.blob)
            _ = try await retryingTransient {
                try await control.services.blob.putBlockBlob(blob, data: built.bytes, metadata: [:], conditions: .none)
            }
            if let reason = lock.lostReason { throw SyncError(.lockLost, "\(target): \(reason); sync again") }
            let text = built.message.encoded()
            _ = try await retryingTransient {
                try await control.services.queue.putMessage(
                    control.queue, text: text, visibilityTimeout: 0, timeToLive: -1)
            }
            resent.append(seq)
            plainBytes += built.message.plainBytes
            sentBytes += UInt64(built.bytes.count)
            counters.update { $0.segments += 1 }
        }
        var summary = SyncSummary(
            target: target.description, generation: generation.generation, firstSeq: generation.firstSeq,
            lastSeq: lastSeq,
            segments: UInt64(resent.count), full: generation.full, fullReason: nil, resumed: true, sourceChanged: false,
            scannedBytes: plainBytes, changedBytes: plainBytes, clearedBytes: 0, plainBytes: plainBytes,
            sentBytes: sentBytes,
            seconds: 0, uploadSeconds: (ContinuousClock.now - started).seconds, snapshot: nil, applied: false)
        summary.resentSeqs = resent
        return summary
    }

    /// The batch of a planned segment, read again from the source; throws unless every block of its
    /// extents hashes to the manifest's digest (blocking I/O: on a dedicated thread).
    static func reread(
        _ planned: SyncJournal.Planned, index: UInt64, disk: any VirtualDisk, manifest: Manifest, advice: String,
        path: String
    ) throws -> SyncBatch {
        let blockSize = UInt64(manifest.header.blockSize)
        let dataEnd = (disk.virtualSize + 511) / 512 * 512
        var batch = SyncBatch(index: index)
        batch.scanEnd = planned.scanEnd
        batch.isLast = planned.last
        var previousEnd: UInt64 = 0
        var block = [UInt8](repeating: 0, count: Int(blockSize))
        for (number, record) in planned.extents.enumerated() {
            // The journal is a file: checked like any other input before it decides what is read.
            guard record.count == 3, let operation = UInt8(exactly: record[2]).flatMap(ExtentOperation.init(rawValue:)),
                record[0] % blockSize == 0, record[0] >= previousEnd, record[1] > 0,
                record[1] <= UInt64(SegmentFormat.maxExtentLength), record[0] < dataEnd,
                record[1] <= dataEnd - record[0],
                (record[0] + record[1]) % blockSize == 0 || record[0] + record[1] == dataEnd,
                number < SegmentFormat.maxExtents
            else {
                throw SyncError(
                    .badState,
                    "\(path): seq \(planned.seq) extent \(number) \(record) is not an extent of whole blocks "
                        + "in order inside the disk")
            }
            let extent = PlannedExtent(
                offset: record[0], length: Int(record[1]), operation: operation, dataOffset: batch.plainBytes)
            let firstBlock = Int(record[0] / blockSize)
            let digests = try manifest.digests(firstBlock..<Int((record[0] + record[1] + blockSize - 1) / blockSize))
            for (position, recorded) in zip(
                stride(from: record[0], to: record[0] + record[1], by: Int(blockSize)), digests)
            {
                let length = Int(min(blockSize, dataEnd - position))
                let readable = Int(min(UInt64(length), disk.virtualSize - min(position, disk.virtualSize)))
                try block.withUnsafeMutableBytes { buffer in
                    try disk.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<readable]), at: position)
                    UnsafeMutableRawBufferPointer(rebasing: buffer[readable..<length]).initializeMemory(
                        as: UInt8.self, repeating: 0)
                }
                let digest = block.withUnsafeBytes {
                    Manifest.digest(of: UnsafeRawBufferPointer(rebasing: $0[..<length]))
                }
                guard digest == recorded else {
                    throw SyncError(
                        .targetMismatch,
                        "the source changed since generation \(manifest.header.generation) was sent "
                            + "(the block at byte \(position) differs): seq \(planned.seq) cannot be resent as it was; \(advice)"
                    )
                }
                if operation == .write { batch.data.bytes.append(contentsOf: block[..<length]) }
            }
            batch.extents.append(extent)
            previousEnd = record[0] + record[1]
        }
        return batch
    }
}
