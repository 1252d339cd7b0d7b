import RelayShared
import TestSupport
import Testing

@Suite(.ownThreads)
struct CodecParsingTests {
    @Test(arguments: [
        ("none", Codec.none), ("lz4", .lz4), ("zlib", .zlib(level: 6)), ("zstd", .zstd(level: 3)),
        ("zlib:1", .zlib(level: 1)), ("zlib:9", .zlib(level: 9)), ("zstd:1", .zstd(level: 1)),
        ("zstd:19", .zstd(level: 19)), ("zstd:-5", .zstd(level: -5)), ("zstd:-1", .zstd(level: -1)),
    ])
    func parsesValidNames(text: String, expected: Codec) throws {
        let codec = try #require(Codec(text))
        #expect(codec == expected)
        #expect(Codec(codec.description) == codec)
    }

    @Test func descriptionsAreCanonical() {
        #expect(Codec("zstd")?.description == "zstd:3")
        #expect(Codec("zlib")?.description == "zlib:6")
        #expect(Codec.zstd(level: -5).description == "zstd:-5")
        #expect(Codec.none.description == "none")
        #expect(Codec.lz4.description == "lz4")
    }

    @Test(arguments: [
        "zstd:20", "zstd:22", "zstd:0", "zstd:-1000000", "zlib:0", "zlib:10", "zlib:-1", "foo", "", ":3",
        "zstd:", "zstd:abc", "zstd:3:1", "lz4:1", "none:0", "Zstd:3", " zstd:3", "zstd:3 ", "zstd:99999999999",
    ])
    func refusesInvalidNames(text: String) {
        #expect(Codec(text) == nil)
    }

    @Test func lowestZstdLevelIsTheLibraryMinimum() throws {
        let lowest = Codec.zstdLevels.lowerBound
        #expect(lowest < -1000)
        #expect(Codec("zstd:\(lowest)") == .zstd(level: lowest))
        #expect(Codec("zstd:\(lowest - 1)") == nil)
    }

    @Test func wireIDsRoundTripAndUnknownIDsAreRefused() {
        for codec in [Codec.none, .zlib(level: 6), .zstd(level: 3), .lz4] {
            #expect(Codec(wireID: codec.wireID) == codec)
        }
        for id in UInt8(4)...UInt8(255) {
            #expect(Codec(wireID: id) == nil)
        }
    }

    @Test func compressorRefusesAnOutOfRangeLevel() {
        #expect(throws: CodecError.self) { try FrameCompressor(codec: .zstd(level: 20)) }
        #expect(throws: CodecError.self) { try FrameCompressor(codec: .zlib(level: 0)) }
    }
}
