/// The strict XML reader under `XMLTree.parse`: UTF-8 only, an optional XML declaration, elements,
/// attributes (checked, not kept), character data, the five predefined entities, numeric character
/// references, CDATA sections and comments. Everything else XML allows and Azure's bodies never use is
/// refused: a document type declaration (and with it every entity definition), processing
/// instructions, other encodings. Replaces Foundation's XMLParser, which crashed on hostile bodies,
/// leaked an error per malformed document and read DTDs (docs/fuzzing.md, "Findings").
struct XMLReader {
    typealias SyntaxError = XMLTree.SyntaxError

    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() throws(SyntaxError) -> XMLTree {
        guard bytes.count <= XMLTree.maximumBytes else {
            throw SyntaxError(reason: "the document is larger than \(XMLTree.maximumBytes) bytes", offset: 0)
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        try checkCharacters()
        if has("<?xml"), index + 5 < bytes.count, Self.isWhitespace(bytes[index + 5]) { try declaration() }
        try skipMisc()
        guard index < bytes.count else { throw failure("no root element") }
        guard bytes[index] == UInt8(ascii: "<") else { throw failure("text outside the root element") }
        let root = try element(depth: 1)
        try skipMisc()
        guard index == bytes.count else { throw failure("content after the root element") }
        return root
    }

    // MARK: Characters

    /// Every byte is UTF-8 and every character one XML allows (no C0 controls but tab, LF and CR, no
    /// U+FFFE or U+FFFF), checked once so that the parse can split at ASCII bytes and decode names
    /// without checks.
    private func checkCharacters() throws(SyntaxError) {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes[index...].makeIterator()
        var offset = index
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                guard Self.isCharacter(scalar.value) else {
                    throw SyntaxError(
                        reason:
                            "the character U+\(String(scalar.value, radix: 16, uppercase: true)) is not allowed in XML",
                        offset: offset)
                }
                offset += encoded.count
            case .error:
                throw SyntaxError(reason: "the document is not valid UTF-8", offset: offset)
            case .emptyInput:
                return
            }
        }
    }

    private static func isCharacter(_ value: UInt32) -> Bool {
        value >= 0x20 ? value != 0xFFFE && value != 0xFFFF : value == 0x09 || value == 0x0A || value == 0x0D
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// The scalar at `index` of the (checked) UTF-8 and its length in bytes.
    private func scalar(at index: Int) -> (value: UInt32, length: Int) {
        let lead = bytes[index]
        guard lead >= 0x80 else { return (UInt32(lead), 1) }
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
        var value = UInt32(lead) & (0x7F >> UInt32(length))
        for next in index + 1..<index + length { value = value << 6 | UInt32(bytes[next] & 0x3F) }
        return (value, length)
    }

    // MARK: Prolog

    /// `<?xml version="1.0" encoding="utf-8" standalone="yes"?>`, encoding and standalone optional:
    /// a document in another version or encoding would be misread, so it is refused.
    private mutating func declaration() throws(SyntaxError) {
        index += 5
        let start = index
        let pseudo = try attributes()
        try expect("?>")
        let names = pseudo.map(\.name)
        guard names.first == "version", names == ["version", "encoding", "standalone"].filter({ names.contains($0) })
        else {
            throw SyntaxError(
                reason: "the XML declaration must be version, then optionally encoding and standalone", offset: start)
        }
        for (name, value) in pseudo {
            let accepted =
                switch name {
                case "version": value == "1.0"
                case "encoding": value.lowercased() == "utf-8"
                default: value == "yes" || value == "no"
                }
            guard accepted else {
                throw SyntaxError(reason: "the XML declaration's \(name) \"\(value)\" is not accepted", offset: start)
            }
        }
    }

    /// Whitespace and comments around the root element.
    private mutating func skipMisc() throws(SyntaxError) {
        while true {
            skipWhitespace()
            if has("<!--") {
                try comment()
            } else if has("<!") || has("<?") {
                throw refusedMarkup()
            } else {
                return
            }
        }
    }

    // MARK: Elements

    private mutating func element(depth: Int) throws(SyntaxError) -> XMLTree {
        let start = index
        guard depth <= XMLTree.maximumDepth else {
            throw failure("elements nested deeper than \(XMLTree.maximumDepth)")
        }
        index += 1
        let name = try self.name()
        _ = try attributes()
        if has("/>") {
            index += 2
            return XMLTree(name: name, text: "", children: [])
        }
        try expect(">")
        var text: [UInt8] = []
        var children: [XMLTree] = []
        while true {
            guard index < bytes.count else {
                throw SyntaxError(reason: "<\(name)> is not closed", offset: start)
            }
            switch bytes[index] {
            case UInt8(ascii: "&"):
                try reference(into: &text)
            case UInt8(ascii: "<"):
                if has("</") {
                    let endTag = index
                    index += 2
                    let closing = try self.name()
                    skipWhitespace()
                    try expect(">")
                    guard closing == name else {
                        throw SyntaxError(reason: "the end tag </\(closing)> closes <\(name)>", offset: endTag)
                    }
                    return XMLTree(name: name, text: String(decoding: text, as: UTF8.self), children: children)
                } else if has("<!--") {
                    try comment()
                } else if has("<![CDATA[") {
                    try cdata(into: &text)
                } else if has("<!") || has("<?") {
                    throw refusedMarkup()
                } else {
                    children.append(try element(depth: depth + 1))
                }
            default:
                try characterData(into: &text)
            }
        }
    }

    /// A name (element or attribute) per XML 1.0's `Name` production.
    private mutating func name() throws(SyntaxError) -> String {
        let start = index
        while index < bytes.count {
            let (value, length) = scalar(at: index)
            guard Self.isNameCharacter(value, first: index == start) else { break }
            index += length
        }
        guard index > start else { throw failure("a name was expected") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private static func isNameCharacter(_ value: UInt32, first: Bool) -> Bool {
        switch value {
        case 0x3A, 0x41...0x5A, 0x5F, 0x61...0x7A, 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x2FF, 0x370...0x37D,
            0x37F...0x1FFF, 0x200C...0x200D, 0x2070...0x218F, 0x2C00...0x2FEF, 0x3001...0xD7FF, 0xF900...0xFDCF,
            0xFDF0...0xFFFD, 0x10000...0xEFFFF:
            true
        case 0x2D, 0x2E, 0x30...0x39, 0xB7, 0x300...0x36F, 0x203F...0x2040: !first
        default: false
        }
    }

    /// The attributes of a start tag (or the XML declaration), up to `>`, `/>` or `?>`: names unique,
    /// values quoted, without `<`, with references replaced.
    private mutating func attributes() throws(SyntaxError) -> [(name: String, value: String)] {
        var attributes: [(name: String, value: String)] = []
        while true {
            let spaced = skipWhitespace()
            guard index < bytes.count else { throw failure("the tag is not closed") }
            if has(">") || has("/>") || has("?>") { return attributes }
            guard spaced else { throw failure("whitespace was expected before an attribute") }
            let start = index
            let name = try self.name()
            guard !attributes.contains(where: { $0.name == name }) else {
                throw SyntaxError(reason: "the attribute \(name) is repeated", offset: start)
            }
            skipWhitespace()
            try expect("=")
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
                throw failure("a quoted attribute value was expected")
            }
            let quote = bytes[index]
            index += 1
            var value: [UInt8] = []
            while true {
                guard index < bytes.count else {
                    throw SyntaxError(reason: "the attribute \(name) is not closed", offset: start)
                }
                let byte = bytes[index]
                if byte == quote { break }
                if byte == UInt8(ascii: "<") { throw failure("< in the value of attribute \(name)") }
                if byte == UInt8(ascii: "&") {
                    try reference(into: &value)
                } else {
                    value.append(byte)
                    index += 1
                }
            }
            index += 1
            attributes.append((name, String(decoding: value, as: UTF8.self)))
        }
    }

    // MARK: Content

    /// Character data up to the next `<` or `&`, line ends normalised to LF as XML reads them.
    private mutating func characterData(into text: inout [UInt8]) throws(SyntaxError) {
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "<"), bytes[index] != UInt8(ascii: "&") {
            if bytes[index] == UInt8(ascii: "]"), has("]]>") { throw failure("]]> outside a CDATA section") }
            index += 1
        }
        Self.appendNormalizingLineEnds(bytes[start..<index], to: &text)
    }

    /// `<![CDATA[…]]>`: its text as is, line ends normalised.
    private mutating func cdata(into text: inout [UInt8]) throws(SyntaxError) {
        let start = index
        index += 9
        guard let end = offset(of: "]]>") else {
            throw SyntaxError(reason: "the CDATA section is not closed", offset: start)
        }
        Self.appendNormalizingLineEnds(bytes[index..<end], to: &text)
        index = end + 3
    }

    /// `<!--…-->`, without `--` inside, as XML requires.
    private mutating func comment() throws(SyntaxError) {
        let start = index
        index += 4
        guard let dashes = offset(of: "--") else {
            throw SyntaxError(reason: "the comment is not closed", offset: start)
        }
        index = dashes
        try expect("-->")
    }

    /// `&lt;` `&gt;` `&amp;` `&apos;` `&quot;`, `&#N;` and `&#xH;` (an XML character): any other entity
    /// would need a DTD to define it.
    private mutating func reference(into text: inout [UInt8]) throws(SyntaxError) {
        // A reference is short: the search for its `;` is bounded, so that `&`s cannot make it quadratic.
        let end = min(bytes.count, index + 32)
        guard let semicolon = bytes[index..<end].firstIndex(of: UInt8(ascii: ";")) else {
            throw failure("& starts no reference (write &amp;)")
        }
        let body = bytes[index + 1..<semicolon]
        let name = String(decoding: body, as: UTF8.self)
        let value: UInt32?
        switch name {
        case "lt": value = 0x3C
        case "gt": value = 0x3E
        case "amp": value = 0x26
        case "apos": value = 0x27
        case "quot": value = 0x22
        default:
            guard body.first == UInt8(ascii: "#") else {
                throw failure("the entity &\(name); is not defined (only the five predefined ones are)")
            }
            let hex = body.dropFirst().first == UInt8(ascii: "x")
            let digits = name.dropFirst(hex ? 2 : 1)
            // UInt32(_:radix:) also takes a sign, which XML does not.
            value =
                digits.allSatisfy { $0.isASCII && $0.isHexDigit && (hex || $0.isNumber) }
                ? UInt32(digits, radix: hex ? 16 : 10) : nil
        }
        guard let value, Self.isCharacter(value), let scalar = Unicode.Scalar(value) else {
            throw failure("&\(name); is not a character XML allows")
        }
        Unicode.UTF8.encode(scalar) { text.append($0) }
        index = semicolon + 1
    }

    private static func appendNormalizingLineEnds(_ slice: ArraySlice<UInt8>, to text: inout [UInt8]) {
        guard slice.contains(0x0D) else { return text.append(contentsOf: slice) }
        var previous: UInt8 = 0
        for byte in slice {
            if byte == 0x0D {
                text.append(0x0A)
            } else if !(byte == 0x0A && previous == 0x0D) {
                text.append(byte)
            }
            previous = byte
        }
    }

    // MARK: Scanning

    private func has(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        return literal.withUTF8Buffer { bytes[index..<index + count].elementsEqual($0) }
    }

    /// The offset of the next `literal` at or after `index`.
    private func offset(of literal: StaticString) -> Int? {
        literal.withUTF8Buffer { needle in
            guard bytes.count - index >= needle.count else { return nil }
            return (index...(bytes.count - needle.count)).first {
                bytes[$0] == needle[0] && bytes[$0..<$0 + needle.count].elementsEqual(needle)
            }
        }
    }

    private mutating func expect(_ literal: StaticString) throws(SyntaxError) {
        guard has(literal) else { throw failure("\(literal) was expected") }
        index += literal.utf8CodeUnitCount
    }

    @discardableResult
    private mutating func skipWhitespace() -> Bool {
        let start = index
        while index < bytes.count, Self.isWhitespace(bytes[index]) { index += 1 }
        return index > start
    }

    /// `<!DOCTYPE`, another declaration or a processing instruction (any but the XML declaration).
    private func refusedMarkup() -> SyntaxError {
        if has("<!DOCTYPE") { return failure("a document type declaration is not accepted") }
        if has("<?") { return failure("a processing instruction is not accepted") }
        return failure("a markup declaration is not accepted")
    }

    private func failure(_ reason: String) -> SyntaxError { SyntaxError(reason: reason, offset: index) }
}
