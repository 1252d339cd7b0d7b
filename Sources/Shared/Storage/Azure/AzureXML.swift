import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A parsed XML element: enough of a tree to read Azure's response bodies by element names, ignoring
/// whatever elements the service adds.
struct AzureXMLElement: Sendable {
    var name: String
    var text: String
    var children: [AzureXMLElement]

    func child(_ name: String) -> AzureXMLElement? { children.first { $0.name == name } }
    func children(_ name: String) -> [AzureXMLElement] { children.filter { $0.name == name } }
    /// The text of the named child, or nil when absent.
    func value(_ name: String) -> String? { child(name)?.text }

    /// Parses `bytes` (a leading UTF-8 BOM is skipped). Throws `StorageError` naming `what` on malformed XML.
    static func parse(_ bytes: [UInt8], what: String) throws -> AzureXMLElement {
        var data = bytes
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data.removeFirst(3) }
        let delegate = TreeBuilder()
        let parser = XMLParser(data: Data(data))
        parser.delegate = delegate
        guard parser.parse(), let root = delegate.root else {
            let reason = parser.parserError.map { "\($0)" } ?? "no root element"
            throw StorageError(.invalidXML, status: 0, "the service's XML for \(what) cannot be parsed at line \(parser.lineNumber), column \(parser.columnNumber): \(reason)")
        }
        return root
    }
}

/// XMLParser's delegate building the tree; depth is bounded so a hostile body cannot exhaust the stack.
private final class TreeBuilder: NSObject, XMLParserDelegate {
    private var stack: [AzureXMLElement] = []
    var root: AzureXMLElement?
    private static let maxDepth = 64

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        guard stack.count < Self.maxDepth else { parser.abortParsing(); return }
        stack.append(AzureXMLElement(name: name, text: "", children: []))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        guard let element = stack.popLast() else { return }
        if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
    }
}
