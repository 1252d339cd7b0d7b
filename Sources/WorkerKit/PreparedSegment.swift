import RelayShared

/// A segment downloaded, checked against its control message and the target, and decoded into the
/// Put Page calls that apply it. Everything that can refuse a segment happens here, before any write,
/// so that a segment that fails verification never touches the target.
struct PreparedSegment: Sendable {
    /// One Put Page call: adjacent write extents coalesced up to `maxPutBytes`, or a run of adjacent clears.
    enum Put: Sendable {
        case write(offset: UInt64, data: [UInt8])
        case clear(ByteRange)

        var range: ByteRange {
            switch self {
            case .write(let offset, let data): ByteRange(offset: offset, length: UInt64(data.count))
            case .clear(let range): range
            }
        }
    }

    /// Azure's limit for one Put Page.
    static let maxPutBytes = 4 << 20

    let message: ControlMessage
    let puts: [Put]

    /// Why a segment is refused: the poison reason recorded in its row.
    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    /// Checks `bytes` as the segment `message` announced, for `target` of `diskSize` data bytes, after a
    /// segment of `previousGeneration`, and decodes it.
    init(bytes: [UInt8], message: ControlMessage, target: TargetName, diskSize: UInt64, previousGeneration: UInt64)
        throws(Refusal)
    {
        self.message = message
        guard bytes.count == message.segmentBytes else {
            throw Refusal(
                description: "the temp blob holds \(bytes.count) bytes, the message says \(message.segmentBytes)")
        }
        let reader: SegmentReader
        do {
            reader = try SegmentReader(bytes, diskSize: diskSize)
        } catch {
            throw Refusal(description: error.description)
        }
        let header = reader.header
        let checks: [(Bool, String)] = [
            (
                reader.digest == message.segmentDigest,
                "the segment's digest \(reader.digest) is not the message's \(message.segmentDigest)"
            ),
            (header.targetID == target.segmentTargetID, "the segment belongs to another target than \(target)"),
            (header.seq == message.seq, "the segment's seq \(header.seq) is not the message's \(message.seq)"),
            (
                header.generation == message.generation,
                "the segment's generation \(header.generation) is not the message's \(message.generation)"
            ),
            (
                header.generation >= previousGeneration,
                "generation \(header.generation) comes after generation \(previousGeneration)"
            ),
            (
                header.flags.contains(.lastOfGeneration) == message.isLastOfGeneration,
                "the segment's last-of-generation flag disagrees with the message"
            ),
            (
                reader.extents.count == message.extentCount,
                "the segment has \(reader.extents.count) extents, the message says \(message.extentCount)"
            ),
            (
                reader.plainBytes == message.plainBytes,
                "the segment has \(reader.plainBytes) plain bytes, the message says \(message.plainBytes)"
            ),
            (
                reader.extents.first.map {
                    $0.offset == message.span.offset && reader.extents.last!.range.end == message.span.end
                } ?? true,
                "the segment's extents do not span \(message.span) as the message says"
            ),
        ]
        if let failed = checks.first(where: { !$0.0 }) { throw Refusal(description: failed.1) }
        puts = try Self.decode(reader)
    }

    /// Decodes every write extent straight into its Put Page buffer (each frame's digest is checked).
    private static func decode(_ reader: SegmentReader) throws(Refusal) -> [Put] {
        let decompressor: FrameDecompressor
        do {
            decompressor = try FrameDecompressor()
        } catch {
            throw Refusal(description: "cannot decode: \(error)")
        }
        var puts: [Put] = []
        var index = 0
        let extents = reader.extents
        while index < extents.count {
            let first = extents[index]
            var end = index + 1
            var length = first.length
            while end < extents.count, extents[end].operation == first.operation,
                extents[end].offset == extents[end - 1].range.end,
                first.operation == .clear || length + extents[end].length <= maxPutBytes
            {
                length += extents[end].length
                end += 1
            }
            switch first.operation {
            case .clear:
                puts.append(.clear(ByteRange(offset: first.offset, length: UInt64(length))))
            case .write:
                var failure: SegmentError?
                // Every byte is written by the decoder (or the segment is refused), so no zero fill first.
                let data = [UInt8](unsafeUninitializedCapacity: length) { typed, initialized in
                    initialized = length
                    let buffer = UnsafeMutableRawBufferPointer(typed)
                    var position = 0
                    for member in index..<end {
                        let slice = UnsafeMutableRawBufferPointer(
                            rebasing: buffer[position..<(position + extents[member].length)])
                        do throws(SegmentError) {
                            try reader.decode(extentAt: member, using: decompressor, into: slice)
                        } catch {
                            failure = error
                            return
                        }
                        position += extents[member].length
                    }
                }
                if let failure { throw Refusal(description: failure.description) }
                puts.append(.write(offset: first.offset, data: data))
            }
            index = end
        }
        return puts
    }
}
