import ArgumentParser
import Foundation
import RelayBench
import RelayShared

/// The list options of `relay-client bench codecs`, parsed as the options' `transform`: a refused
/// value is a `ValidationError` that says why, which ArgumentParser prints with the usage.
enum BenchArguments {
    /// `--codecs zstd:1,zlib:6,lz4,none`: in the order given, each codec once.
    static func codecs(_ text: String) throws -> [Codec] {
        try commaSeparated(text, what: "codec") { item in
            guard let codec = Codec(item) else {
                throw ValidationError(
                    "codec '\(item)': expected none, lz4, zlib:\(Codec.zlibLevels.lowerBound)…\(Codec.zlibLevels.upperBound) or zstd:\(Codec.zstdLevels.lowerBound)…\(Codec.zstdLevels.upperBound)"
                )
            }
            return codec
        }
    }

    /// `--link 100Mbit,1Gbit`: in the order given, each link once.
    static func links(_ text: String) throws -> [LinkSpeed] {
        try commaSeparated(text, what: "link speed") { try LinkSpeed.parse($0) }
    }

    /// `--frame-size 4M`, `--max-bytes 1G`: binary units.
    static func byteSize(_ text: String) throws -> ByteSize { try ByteSize.parse(text) }

    /// The items of a comma-separated list, spaces around each trimmed; an item named twice is refused.
    private static func commaSeparated<Item: Hashable>(
        _ text: String, what: String, _ parse: (String) throws -> Item
    ) throws -> [Item] {
        var items: [Item] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = try parse(part.trimmingCharacters(in: .whitespaces))
            guard !items.contains(item) else {
                throw ValidationError("\(what) list '\(text)' names '\(part)' twice")
            }
            items.append(item)
        }
        return items
    }
}
