/// Reads a date text byte by byte: every step checks that its bytes exist, so no input can make the
/// date parsers index past the end.
struct DateScanner {
    private let bytes: [UInt8]
    private(set) var index = 0

    /// Nil for texts longer than `maximumLength` bytes.
    init?(_ text: String, maximumLength: Int) {
        let bytes = Array(text.utf8.prefix(maximumLength + 1))
        guard bytes.count <= maximumLength else { return nil }
        self.bytes = bytes
    }

    var atEnd: Bool { index == bytes.count }

    /// Consumes `character` if it is next.
    mutating func take(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue, index < bytes.count, bytes[index] == ascii else { return false }
        index += 1
        return true
    }

    /// Exactly `count` ASCII letters.
    mutating func letters(_ count: Int) -> String? {
        guard count <= bytes.count - index else { return nil }
        let run = bytes[index..<(index + count)]
        guard run.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) else { return nil }
        index += count
        return String(decoding: run, as: UTF8.self)
    }

    /// As many ASCII digits as follow, which must be within `digits` (at most 9, so no overflow).
    mutating func number(digits: ClosedRange<Int>) -> Int? {
        var value = 0
        var count = 0
        while index < bytes.count, (48...57).contains(bytes[index]), count < digits.upperBound {
            value = value * 10 + Int(bytes[index] - 48)
            index += 1
            count += 1
        }
        guard digits.contains(count) else { return nil }
        return value
    }
}
