/// A batch turned into its segment and the control message announcing it.
public struct BuiltSegment: Sendable {
    public var bytes: [UInt8]
    public var message: ControlMessage
    public var scanEnd: Int
    public var extents: [PlannedExtent]
}

extension SegmentWriter {
    /// Compresses `batch` into the segment of `seq` (blocking, CPU-bound: run it on a compression thread).
    /// `firstSeq` is the generation's first seq, from which the last segment's count follows; `resend`
    /// is 0 on the seq's first send (`SegmentHeader.resend`).
    func build(
        _ batch: SyncBatch, target: TargetName, generation: UInt64, seq: UInt64, firstSeq: UInt64,
        resend: UInt64 = 0
    ) throws -> BuiltSegment {
        do {
            try append(batch)
        } catch {
            reset()
            throw error
        }
        let header = SegmentHeader(
            targetID: target.segmentTargetID, generation: generation, seq: seq,
            flags: batch.isLast ? .lastOfGeneration : [], resend: resend)
        let bytes = finish(header: header)
        let span =
            batch.extents.last.map { last in
                ByteRange(
                    offset: batch.extents[0].offset, length: last.offset + UInt64(last.length) - batch.extents[0].offset
                )
            } ?? ByteRange(offset: 0, length: 0)
        guard let digest = SegmentFormat.trailerDigest(of: bytes) else {
            preconditionFailure("a finished segment has a trailer")
        }
        let message = ControlMessage(
            target: target, generation: generation, seq: seq, segmentBytes: bytes.count, segmentDigest: digest,
            plainBytes: UInt64(batch.plainBytes), extentCount: batch.extents.count, span: span,
            generationSegmentCount: batch.isLast ? seq - firstSeq + 1 : nil)
        return BuiltSegment(bytes: bytes, message: message, scanEnd: batch.scanEnd, extents: batch.extents)
    }

    private func append(_ batch: SyncBatch) throws {
        try batch.data.bytes.withUnsafeBytes { data in
            for extent in batch.extents {
                switch extent.operation {
                case .write:
                    try appendWrite(
                        offset: extent.offset,
                        bytes: UnsafeRawBufferPointer(
                            rebasing: data[extent.dataOffset..<(extent.dataOffset + extent.length)]))
                case .clear:
                    try appendClear(offset: extent.offset, length: extent.length)
                }
            }
        }
    }
}
