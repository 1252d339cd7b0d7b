import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A parsed XML element: enough of a tree to read Azure's bodies by element names, ignoring whatever
/// elements the other side adds. The one XML reader of the Azure backend (responses) and relay-devstore
/// (requests), and a strict one: Foundation's parser on Linux accepts an empty document and mismatched
/// end tags, so the tree builder checks that there is one root and that every element closes by its own
/// end tag. A document type declaration is refused outright: Azure's bodies have none, and it is where
/// entity definitions (and their exponential expansions) live. Depth is bounded so a hostile body
/// cannot exhaust the stack.
public struct XMLTree: Sendable, Equatable {
    public var name: String
    /// The element's own character data (not its children's).
    public var text: String
    public var children: [XMLTree]

    public func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }
    public func children(_ name: String) -> [XMLTree] { children.filter { $0.name == name } }
    /// The text of the named child, or nil when absent.
    public func value(_ name: String) -> String? { child(name)?.text }

    /// Why a document was refused, with the parser's position.
    public struct SyntaxError: Error, CustomStringConvertible, Sendable {
        public var reason: String
        public var line: Int
        public var column: Int
        public var description: String { "\(reason) at line \(line), column \(column)" }
    }

    static let maximumDepth = 64

    /// Parses `bytes` (a leading UTF-8 BOM is skipped).
    public static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> XMLTree {
        var data = bytes
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data.removeFirst(3) }
        // Foundation's XMLParser traps on an element name that is not UTF-8 (found by fuzzing); every
        // body either side sends is UTF-8, so anything else is refused before it reaches the parser.
        guard String(validating: data, as: UTF8.self) != nil else {
            throw SyntaxError(reason: "the document is not valid UTF-8", line: 0, column: 0)
        }
        if let offset = firstOffset(of: Array("<!DOCTYPE".utf8), in: data) {
            throw SyntaxError(
                reason: "a document type declaration (at byte \(offset)) is not accepted", line: 0, column: 0)
        }
        // Foundation's XMLParser reads a processing instruction's data with strlen and crashes on one that
        // has none (`<?x?>`, found by fuzzing). No body either side sends has one: only the XML declaration
        // (`<?xml` and a space) is let through.
        let declared =
            data.starts(with: Array("<?xml".utf8)) && data.count > 5 && [0x20, 0x09, 0x0D, 0x0A].contains(data[5])
        if let offset = firstOffset(of: Array("<?".utf8), in: data, from: declared ? 5 : 0) {
            throw SyntaxError(
                reason: "a processing instruction (at byte \(offset)) is not accepted", line: 0, column: 0)
        }
        let builder = TreeBuilder()
        let parser = XMLParser(data: Data(data))
        parser.delegate = builder
        parser.shouldResolveExternalEntities = false
        let parsed = parser.parse()
        guard parsed, parser.parserError == nil, builder.problem == nil, let root = builder.root else {
            let reason = parser.parserError.map { "\($0)" } ?? builder.problem ?? "no root element"
            throw SyntaxError(reason: reason, line: parser.lineNumber, column: parser.columnNumber)
        }
        return root
    }

    private static func firstOffset(of needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard haystack.count - start >= needle.count else { return nil }
        return (start...(haystack.count - needle.count)).first {
            haystack[$0] == needle[0] && haystack[$0..<$0 + needle.count].elementsEqual(needle)
        }
    }
}

/// XMLParser's delegate building the tree and noting the first structural problem.
private final class TreeBuilder: NSObject, XMLParserDelegate {
    private var stack: [XMLTree] = []
    var root: XMLTree?
    var problem: String?

    private func fail(_ parser: XMLParser, _ reason: String) {
        if problem == nil { problem = reason }
        parser.abortParsing()
    }

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        guard root == nil else { return fail(parser, "a second root element <\(name)>") }
        guard stack.count < XMLTree.maximumDepth else {
            return fail(parser, "elements nested deeper than \(XMLTree.maximumDepth)")
        }
        stack.append(XMLTree(name: name, text: "", children: []))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        guard let element = stack.popLast(), element.name == name else {
            return fail(parser, "the end tag </\(name)> closes another element")
        }
        if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
    }

    func parserDidEndDocument(_ parser: XMLParser) {
        if !stack.isEmpty { fail(parser, "<\(stack[stack.count - 1].name)> is not closed") }
    }
}
