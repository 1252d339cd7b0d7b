import RelayShared
import TestSupport
import Testing

/// Compresses `plain` with `compressor` into a right-sized frame.
func compressFrame(_ plain: [UInt8], with compressor: FrameCompressor) throws -> [UInt8] {
    let bound = FrameCompressor.maxCompressedSize(codec: compressor.codec, plainCount: plain.count)
    var frame = [UInt8](repeating: 0, count: bound)
    let written = try plain.withUnsafeBytes { input in
        try frame.withUnsafeMutableBytes { output in try compressor.compress(input, into: output) }
    }
    #expect(written <= bound)
    frame.removeLast(bound - written)
    return frame
}

/// Decompresses `frame` declaring `declared` plain bytes.
func decompressFrame(
    _ frame: [UInt8], codec: Codec, declared: Int, with decompressor: FrameDecompressor
) throws -> [UInt8] {
    var plain = [UInt8](repeating: 0xEE, count: declared)
    try frame.withUnsafeBytes { input in
        try plain.withUnsafeMutableBytes { output in try decompressor.decompress(input, codec: codec, into: output) }
    }
    return plain
}

@Suite(.ownThreads)
struct FrameRoundTripTests {
    static let codecs: [Codec] = [
        .none, .lz4, .zlib(level: 1), .zlib(level: 6), .zlib(level: 9),
        .zstd(level: -5), .zstd(level: 1), .zstd(level: 3), .zstd(level: 9),
    ]
    static let sizes = [0, 1, 511, 512, 4 * mebibyte]

    /// One compressor and one decompressor serve every frame of the test, so context reuse is exercised
    /// across sizes and content kinds.
    @Test(arguments: codecs)
    func roundTripsEverySizeAndKind(codec: Codec) throws {
        let compressor = try FrameCompressor(codec: codec)
        let decompressor = try FrameDecompressor()
        for kind in DataKind.allCases {
            for size in Self.sizes {
                let plain = kind.bytes(count: size, seed: UInt64(size))
                let frame = try compressFrame(plain, with: compressor)
                let back = try decompressFrame(frame, codec: codec, declared: size, with: decompressor)
                #expect(back == plain, "\(codec) \(kind) \(size) bytes")
                if codec != .none && kind == .zeros && size == 4 * mebibyte {
                    #expect(frame.count < size / 100, "\(codec) should squeeze 4 MiB of zeros, got \(frame.count)")
                }
            }
        }
    }

    /// The slowest level once on realistic content, not on every kind and size.
    @Test func zstdLevel19RoundTripsRealFiles() throws {
        let plain = DataKind.systemFiles.bytes(count: mebibyte)
        let frame = try compressFrame(plain, with: try FrameCompressor(codec: .zstd(level: 19)))
        #expect(frame.count < plain.count)
        #expect(
            try decompressFrame(frame, codec: .zstd(level: 19), declared: plain.count, with: try FrameDecompressor())
                == plain)
    }

    /// Many frames of random sizes and kinds through one context per codec and a single decompressor;
    /// a context that kept state between frames would corrupt a later one.
    @Test func contextsAreReusableAcrossManyFrames() throws {
        let compressors = try Self.codecs.map { try FrameCompressor(codec: $0) }
        let decompressor = try FrameDecompressor()
        var generator = SplitMix64(seed: 77)
        for round in 0..<300 {
            let compressor = compressors.randomElement(using: &generator)!
            let kind = DataKind.allCases.randomElement(using: &generator)!
            let size = Int.random(in: 0...70_000, using: &generator)
            let plain = kind.bytes(count: size, seed: UInt64(round))
            let frame = try compressFrame(plain, with: compressor)
            let back = try decompressFrame(frame, codec: compressor.codec, declared: size, with: decompressor)
            #expect(back == plain, "round \(round): \(compressor.codec) \(kind) \(size) bytes")
        }
    }

    @Test func compressionIsDeterministicWithAReusedContext() throws {
        let compressor = try FrameCompressor(codec: .zstd(level: 1))
        let plain = DataKind.text.bytes(count: 100_000)
        let first = try compressFrame(plain, with: compressor)
        _ = try compressFrame(DataKind.random.bytes(count: 50_000), with: compressor)
        #expect(try compressFrame(plain, with: compressor) == first)
    }

    @Test(arguments: codecs)
    func refusesAnOutputBelowTheBound(codec: Codec) throws {
        let compressor = try FrameCompressor(codec: codec)
        let plain = DataKind.random.bytes(count: 4096)
        let bound = FrameCompressor.maxCompressedSize(codec: codec, plainCount: plain.count)
        var output = [UInt8](repeating: 0, count: bound - 1)
        let error = #expect(throws: CodecError.self) {
            try plain.withUnsafeBytes { input in
                try output.withUnsafeMutableBytes { try compressor.compress(input, into: $0) }
            }
        }
        #expect(error?.code == .outputTooSmall)
    }
}
