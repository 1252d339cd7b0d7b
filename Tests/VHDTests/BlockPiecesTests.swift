import Testing

@testable import RelayShared

/// How dynamic and differencing VHDs and VHDX walk a read and their blocks: a range cut at block edges.
@Suite struct BlockPiecesTests {
    private func pieces(_ offset: UInt64, _ length: UInt64, blockBytes: UInt64 = 4096) -> [[UInt64]] {
        BlockPieces(of: ByteRange(offset: offset, length: length), blockBytes: blockBytes).map {
            [UInt64($0.block), $0.inBlock, $0.offset, UInt64($0.start), $0.length, $0.blockStart]
        }
    }

    @Test func aRangeIsCutAtEachBlockEdge() {
        // [block, in block, disk offset, start in the range, length, block start]
        #expect(
            pieces(4095, 8194) == [
                [0, 4095, 4095, 0, 1, 0], [1, 0, 4096, 1, 4096, 4096], [2, 0, 8192, 4097, 4096, 8192],
                [3, 0, 12288, 8193, 1, 12288],
            ])
        #expect(pieces(8192, 4096) == [[2, 0, 8192, 0, 4096, 8192]])
        #expect(pieces(100, 10) == [[0, 100, 100, 0, 10, 0]])
        #expect(pieces(100, 0).isEmpty)
    }

    /// Whole disks, as the extent walks use it: one piece per block, the last one cut at the disk's end.
    @Test func aWholeDiskIsOnePiecePerBlock() {
        let walk = pieces(0, (3 << 20) + 512, blockBytes: 1 << 20)
        #expect(walk.map { $0[0] } == [0, 1, 2, 3])
        #expect(walk.map { $0[4] } == [1 << 20, 1 << 20, 1 << 20, 512])
        #expect(walk.allSatisfy { $0[1] == 0 && $0[2] == $0[5] })
    }

    /// The pieces of any range lie back to back, cover it exactly and each stays inside its block.
    @Test func piecesTileTheRange() {
        var generator = SplitMix64(seed: 12)
        for _ in 0..<200 {
            let blockBytes = UInt64(512) << (generator.next() % 6)
            let offset = generator.next() % (1 << 20)
            let length = generator.next() % (1 << 16)
            var next = offset
            for piece in BlockPieces(of: ByteRange(offset: offset, length: length), blockBytes: blockBytes) {
                #expect(piece.offset == next && piece.start == Int(next - offset))
                #expect(piece.length > 0 && piece.inBlock + piece.length <= blockBytes)
                #expect(piece.blockStart % blockBytes == 0 && piece.blockStart + piece.inBlock == piece.offset)
                // Each piece runs to its block's end or to the range's end.
                #expect(piece.inBlock + piece.length == blockBytes || piece.offset + piece.length == offset + length)
                next += piece.length
            }
            #expect(next == offset + length)
        }
    }
}
