import CZstd
import RelayShared
import TestSupport
import Testing

/// Decompression is bounded by the declared plain size: a frame that yields more or fewer bytes is refused,
/// and the bytes after the declared output are never touched.
@Suite(.ownThreads)
struct FrameBoundTests {
    static let codecs: [Codec] = [.none, .lz4, .zlib(level: 6), .zstd(level: 3)]

    /// One decompressor for every case of a test: it must stay usable after refusing a frame.
    let decompressor: FrameDecompressor

    init() throws { decompressor = try FrameDecompressor() }

    /// Decompresses into the first `declared` bytes of a larger buffer filled with a canary, and checks
    /// the canary survived whatever happened.
    func decompressGuarded(_ frame: [UInt8], codec: Codec, declared: Int) throws {
        let canary: UInt8 = 0xA5
        var buffer = [UInt8](repeating: canary, count: declared + 4096)
        defer { #expect(buffer[declared...].allSatisfy { $0 == canary }, "\(codec) wrote past the declared size") }
        try frame.withUnsafeBytes { input in
            try buffer.withUnsafeMutableBytes { all in
                try decompressor.decompress(
                    input, codec: codec, into: UnsafeMutableRawBufferPointer(rebasing: all[..<declared]))
            }
        }
    }

    @Test(arguments: codecs, [DataKind.random, .zeros, .text])
    func refusesAFrameLargerOrSmallerThanDeclared(codec: Codec, kind: DataKind) throws {
        let plain = kind.bytes(count: 65_536)
        let frame = try compressFrame(plain, with: try FrameCompressor(codec: codec))
        try decompressGuarded(frame, codec: codec, declared: plain.count)
        for declared in [0, 1, 512, plain.count - 1, plain.count + 1, plain.count + 512] {
            let error = #expect(throws: CodecError.self, "\(codec) \(kind) declared \(declared)") {
                try decompressGuarded(frame, codec: codec, declared: declared)
            }
            #expect(error?.code == .sizeMismatch || error?.code == .malformedFrame)
        }
    }

    @Test(arguments: [Codec.lz4, .zlib(level: 6), .zstd(level: 3)])
    func refusesEveryTruncationOfAFrame(codec: Codec) throws {
        let plain = DataKind.text.bytes(count: 8192)
        let frame = try compressFrame(plain, with: try FrameCompressor(codec: codec))
        for cut in 0..<frame.count {
            #expect(throws: CodecError.self, "\(codec) cut at \(cut) of \(frame.count)") {
                try decompressGuarded(Array(frame.prefix(cut)), codec: codec, declared: plain.count)
            }
        }
        try decompressGuarded(frame, codec: codec, declared: plain.count)
    }

    @Test(arguments: [Codec.lz4, .zlib(level: 6), .zstd(level: 3)])
    func refusesGarbage(codec: Codec) throws {
        var generator = SplitMix64(seed: 5)
        for round in 0..<200 {
            let garbage = (0..<Int.random(in: 1...2000, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            #expect(throws: CodecError.self, "\(codec) garbage round \(round)") {
                try decompressGuarded(garbage, codec: codec, declared: 4096)
            }
        }
        let plain = DataKind.text.bytes(count: 4096)
        let frame = try compressFrame(plain, with: try FrameCompressor(codec: codec))
        #expect(
            try decompressFrame(frame, codec: codec, declared: plain.count, with: decompressor) == plain,
            "the context decodes a valid frame after refusing garbage")
    }

    @Test func refusesBytesAfterTheFrame() throws {
        let plain = DataKind.text.bytes(count: 10_000)
        for codec in [Codec.zlib(level: 6), .zstd(level: 3)] {
            let frame = try compressFrame(plain, with: try FrameCompressor(codec: codec))
            let error = #expect(throws: CodecError.self) {
                try decompressGuarded(frame + [0, 0, 0, 0], codec: codec, declared: plain.count)
            }
            #expect(error?.code == .malformedFrame)
        }
    }

    /// zstd would decode a second, empty frame after the first; only one frame per extent is allowed.
    @Test func refusesConcatenatedZstdFrames() throws {
        let compressor = try FrameCompressor(codec: .zstd(level: 3))
        let plain = DataKind.text.bytes(count: 10_000)
        let frame = try compressFrame(plain, with: compressor) + compressFrame([], with: compressor)
        let error = #expect(throws: CodecError.self) {
            try decompressGuarded(frame, codec: .zstd(level: 3), declared: plain.count)
        }
        #expect(error?.code == .malformedFrame)
    }

    /// A streamed zstd frame does not declare its size and is refused before decoding.
    @Test func refusesAZstdFrameWithoutContentSize() throws {
        let plain = DataKind.text.bytes(count: 10_000)
        let cctx = try #require(ZSTD_createCCtx())
        defer { ZSTD_freeCCtx(cctx) }
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)
        var frame = [UInt8](repeating: 0, count: ZSTD_compressBound(plain.count))
        let written = plain.withUnsafeBytes { input in
            frame.withUnsafeMutableBytes { output in
                ZSTD_compress2(cctx, output.baseAddress, output.count, input.baseAddress, input.count)
            }
        }
        #expect(ZSTD_isError(written) == 0)
        frame.removeLast(frame.count - written)
        let error = #expect(throws: CodecError.self) {
            try decompressGuarded(frame, codec: .zstd(level: 3), declared: plain.count)
        }
        #expect(error?.code == .malformedFrame)
    }
}
