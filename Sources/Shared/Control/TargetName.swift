/// The target page blob, `container/blob`, checked against Azure's naming rules and this contract's
/// limits, with the keys the contract derives from it (docs/replication-contract.md, "Names").
public struct TargetName: Hashable, Sendable, CustomStringConvertible, Codable {
    public let container: String
    public let blob: String

    /// A first, cheap bound on blob names in UTF-8 bytes. The exact rule is that the longest control
    /// message naming the target (twice: as the target and, encoded, inside the temp blob name) fits in
    /// `ControlMessage.maxEncodedBytes`; names of plain characters reach this bound first.
    public static let maxBlobNameBytes = 200

    /// Parses `container/blob`: the container is everything before the first `/`.
    public init(_ text: String) throws(ControlError) {
        guard let slash = text.firstIndex(of: "/") else {
            throw ControlError(
                .invalidTargetName, field: "target",
                "'\(Self.printable(text))' is not CONTAINER/BLOB (e.g. disks/vm1.vhd)")
        }
        try self.init(container: String(text[..<slash]), blob: String(text[text.index(after: slash)...]))
    }

    public init(container: String, blob: String) throws(ControlError) {
        try Self.checkContainer(container)
        try Self.checkBlob(blob)
        self.container = container
        self.blob = blob
        let longest = ControlMessage.longest(for: self).encoded().utf8.count
        guard longest <= ControlMessage.maxEncodedBytes else {
            throw ControlError(
                .invalidTargetName, field: "target.blob",
                "the name is too long once encoded: a control message naming it would take \(longest) bytes "
                    + "of the \(ControlMessage.maxEncodedBytes) allowed; use a shorter blob name")
        }
    }

    public var description: String { "\(container)/\(blob)" }

    /// In JSON: `container/blob`, checked as `init(_:)` checks it.
    public init(from decoder: any Decoder) throws {
        self = try Self(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public var address: BlobAddress { BlobAddress(container: container, name: blob) }

    /// The id written in every segment's header for this target.
    public var segmentTargetID: UInt64 { SegmentHeader.targetID(for: description) }

    /// The control table's PartitionKey and the temp blobs' name prefix: `container:blob` with `%`, `/`,
    /// `\`, `#` and `?` percent-encoded (table keys may not hold the last four). Containers hold no `:`,
    /// so the key is unambiguous, and the encoding is injective.
    public var key: String {
        var key = container + ":"
        for scalar in blob.unicodeScalars {
            switch scalar {
            case "%": key += "%25"
            case "/": key += "%2F"
            case "\\": key += "%5C"
            case "#": key += "%23"
            case "?": key += "%3F"
            default: key.unicodeScalars.append(scalar)
            }
        }
        return key
    }

    /// Azure's container rule (`ResourceName`).
    private static func checkContainer(_ name: String) throws(ControlError) {
        guard ResourceName.isContainerOrQueueName(name) else {
            throw ControlError(
                .invalidTargetName, field: "target.container",
                "'\(printable(name))' is not a container name Azure accepts: use 3-63 of a-z, 0-9 and "
                    + "single dashes, starting and ending with a letter or digit")
        }
    }

    /// 1…`maxBlobNameBytes` bytes, no character `BlobAddress.isRefusedInName`, no `.` or `..` path segment, not ending in
    /// `.` or `/` (Azure and URL normalisation would rewrite such names, so the blob written would not be
    /// the one named).
    private static func checkBlob(_ name: String) throws(ControlError) {
        let field = "target.blob"
        guard (1...maxBlobNameBytes).contains(name.utf8.count) else {
            throw ControlError(
                .invalidTargetName, field: field,
                "the blob name is \(name.utf8.count) bytes long; use 1-\(maxBlobNameBytes)")
        }
        if let refused = name.unicodeScalars.first(where: BlobAddress.isRefusedInName) {
            throw ControlError(
                .invalidTargetName, field: field,
                "the blob name holds U+\(String(refused.value, radix: 16, uppercase: true)), a control character "
                    + "or a noncharacter that Azure refuses in blob names")
        }
        guard !name.hasSuffix("."), !name.hasSuffix("/") else {
            throw ControlError(.invalidTargetName, field: field, "'\(name)' ends with '.' or '/', which Azure drops")
        }
        let segments = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !segments.contains(where: { $0 == "." || $0 == ".." }) else {
            throw ControlError(.invalidTargetName, field: field, "'\(name)' has a '.' or '..' path segment")
        }
    }

    /// `text` with control characters escaped and cut to 100 characters, safe to print.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(100) {
            out +=
                scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
                ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
        }
        return out
    }
}
