import Foundation
import RelayShared

/// The kinds of frame content the codecs must handle.
enum DataKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case random, zeros, text, systemFiles

    var description: String { rawValue }

    /// `count` bytes of this kind; `seed` varies the content (for random and text) so frames differ.
    func bytes(count: Int, seed: UInt64 = 1) -> [UInt8] {
        switch self {
        case .random:
            var generator = SplitMix64(seed: seed)
            return generator.bytes(count)
        case .zeros:
            return [UInt8](repeating: 0, count: count)
        case .text:
            return Self.cycling(Self.textCorpus, from: Int(seed % 4099) * 17, count: count)
        case .systemFiles:
            return Self.cycling(Self.systemFileBytes, from: 0, count: count)
        }
    }

    /// `count` bytes of `source` starting at `start`, wrapping around to its beginning.
    private static func cycling(_ source: [UInt8], from start: Int, count: Int) -> [UInt8] {
        precondition(!source.isEmpty, "no test corpus")
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var position = start % source.count
        while result.count < count {
            let take = min(count - result.count, source.count - position)
            result += source[position..<(position + take)]
            position = 0
        }
        return result
    }

    /// 4 MiB of word salad, made once: generating text per frame is too slow in a debug build.
    static let textCorpus: [UInt8] = {
        var generator = SplitMix64(seed: 1)
        let words = [
            "sector", "page", "blob", "extent", "the", "of", "a", "disk", "frame", "zstd",
            "segment", "cursor", "generation", "lease", "write", "clear", "\n", "1024", "footer",
        ].map { Array($0.utf8) + [32] }
        var text: [UInt8] = []
        text.reserveCapacity(4 << 20 + 16)
        while text.count < 4 << 20 {
            text += words[Int(generator.next() % UInt64(words.count))]
        }
        return text
    }()

    /// Up to 4 MiB of real files (licences, documentation, compressed changelogs) from /usr/share.
    static let systemFileBytes: [UInt8] = {
        let limit = 4 << 20
        var collected: [UInt8] = []
        for root in ["/usr/share/common-licenses", "/usr/share/doc", "/usr/share/perl"] {
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            for case let relative as String in walker {
                let path = root + "/" + relative
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                    let data = FileManager.default.contents(atPath: path)
                else { continue }
                collected += data.prefix(limit - collected.count)
                if collected.count >= limit { return collected }
            }
        }
        return collected
    }()
}

let mebibyte = 1 << 20
