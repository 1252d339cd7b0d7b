/// The pieces a byte range of a disk made of equal blocks falls into, one per block it touches, in order:
/// how a dynamic or differencing VHD and a VHDX walk a read, and the whole disk for their extents.
struct BlockPieces: Sequence, IteratorProtocol {
    struct Piece {
        /// The block's index, and where the piece starts inside the block.
        var block: Int
        var inBlock: UInt64
        /// Where the piece starts on the disk, and inside the range.
        var offset: UInt64
        var start: Int
        var length: UInt64

        var blockStart: UInt64 { offset - inBlock }

        /// The piece's bytes in `buffer`, which holds the whole range.
        func part(of buffer: UnsafeMutableRawBufferPointer) -> UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + Int(length))])
        }
    }

    private let blockBytes: UInt64
    private let rangeStart: UInt64
    private let end: UInt64
    private var position: UInt64

    /// `range` must lie inside the disk (its end not past `UInt64.max`).
    init(of range: ByteRange, blockBytes: UInt64) {
        precondition(blockBytes > 0, "blocks are not empty")
        self.blockBytes = blockBytes
        rangeStart = range.offset
        end = range.end
        position = range.offset
    }

    mutating func next() -> Piece? {
        guard position < end else { return nil }
        let inBlock = position % blockBytes
        let length = Swift.min(end - position, blockBytes - inBlock)
        defer { position += length }
        return Piece(
            block: Int(position / blockBytes), inBlock: inBlock, offset: position, start: Int(position - rangeStart),
            length: length)
    }
}
