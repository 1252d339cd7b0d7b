import Foundation

/// SplitMix64: a tiny seeded generator, so every failing case can be reproduced from its seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The kinds of frame content the codecs must handle.
enum DataKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case random, zeros, text, systemFiles

    var description: String { rawValue }

    func bytes(count: Int, seed: UInt64 = 1) -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        switch self {
        case .random:
            return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
        case .zeros:
            return [UInt8](repeating: 0, count: count)
        case .text:
            let words = ["sector", "page", "blob", "extent", "the", "of", "a", "disk", "frame", "zstd",
                         "segment", "cursor", "generation", "lease", "write", "clear", "\n", "1024", "footer"]
            var text: [UInt8] = []
            text.reserveCapacity(count + 16)
            while text.count < count {
                text += Array(words.randomElement(using: &generator)!.utf8)
                text.append(UInt8(ascii: " "))
            }
            return Array(text.prefix(count))
        case .systemFiles:
            let all = Self.systemFileBytes
            precondition(!all.isEmpty, "no readable files under /usr/share")
            var result: [UInt8] = []
            result.reserveCapacity(count)
            while result.count < count {
                result += all.prefix(count - result.count)
            }
            return result
        }
    }

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
                      let data = FileManager.default.contents(atPath: path) else { continue }
                collected += data.prefix(limit - collected.count)
                if collected.count >= limit { return collected }
            }
        }
        return collected
    }()
}

let mebibyte = 1 << 20
