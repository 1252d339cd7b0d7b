/// A parsed XML element: enough of a tree to read Azure's bodies by element names, ignoring whatever
/// elements and attributes the other side adds. The one XML reader of the Azure backend (responses) and
/// relay-devstore (requests), and a strict one (`XMLReader`): the subset of XML 1.0 that Azure Storage
/// bodies use, with no document type declaration (where entity definitions and their exponential
/// expansions live), bounded depth and size (docs/azure-rest.md, "XML bodies").
public struct XMLTree: Sendable, Equatable {
    /// The qualified name, prefix included (`x:Name`): Azure's bodies use no namespaces.
    public var name: String
    /// The element's own character data and CDATA sections (not its children's), references replaced.
    public var text: String
    public var children: [XMLTree]

    public func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }
    public func children(_ name: String) -> [XMLTree] { children.filter { $0.name == name } }
    /// The text of the named child, or nil when absent.
    public func value(_ name: String) -> String? { child(name)?.text }

    /// Why a document was refused, and where: the byte offset in the bytes given to `parse`.
    public struct SyntaxError: Error, CustomStringConvertible, Sendable, Equatable {
        public var reason: String
        public var offset: Int
        public var description: String { "\(reason) at byte \(offset)" }
    }

    static let maximumDepth = 64
    /// The largest body either side reads as XML: the Azure backend's List Blobs answer (64 MiB).
    static let maximumBytes = 64 << 20

    /// Parses a whole document (a leading UTF-8 byte order mark is skipped).
    public static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> XMLTree {
        var reader = XMLReader(bytes)
        return try reader.document()
    }
}
