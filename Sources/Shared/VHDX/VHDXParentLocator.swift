import Foundation

/// The parent locator item of a differencing VHDX ([MS-VHDX] 2.6.2.6): a locator type (VHDX) and
/// UTF-16LE key/value pairs. `parent_linkage` is the parent's data write GUID as it was when the child
/// was made (`parent_linkage2` an alternative); the paths say where to look for the parent.
public struct VHDXParentLocator: Sendable {
    public static let vhdxLocatorType = UUID(uuidString: "B04AEFB7-D19E-4A81-B789-25B8E9445913")!
    static let headerSize = 20
    static let entrySize = 12

    public let entries: [String: String]
    /// The GUIDs a parent's data write GUID may have.
    public let linkages: [UUID]
    let place: VHDXMetadata.Place

    init(bytes: [UInt8], place: VHDXMetadata.Place, path: String) throws {
        func fail(_ field: String, at fieldOffset: Int, _ detail: String) -> VHDError {
            VHDError(
                .badParentLocator, path: path, structure: .parentLocator, field: field,
                offset: place.offset + UInt64(fieldOffset), detail)
        }
        guard bytes.count >= Self.headerSize else {
            throw fail("length", at: 0, "\(bytes.count) bytes cannot hold the 20-byte locator header")
        }
        let type = bytes.msGUID(at: 0)
        guard type == Self.vhdxLocatorType else {
            throw fail(
                "locator type", at: 0,
                "\(type.uuidString) is not the VHDX locator type "
                    + "\(Self.vhdxLocatorType.uuidString); the parent is not a VHDX")
        }
        let count = Int(bytes.littleEndian(UInt16.self, at: 18))
        guard Self.headerSize + Self.entrySize * count <= bytes.count else {
            throw fail(
                "key value count", at: 18, "\(count) entries of 12 bytes do not fit the \(bytes.count)-byte item")
        }
        var entries: [String: String] = [:]
        for index in 0..<count {
            let entry = Self.headerSize + Self.entrySize * index
            func text(_ name: String, offsetField: Int, lengthField: Int) throws -> String {
                let offset = bytes.littleEndian(UInt32.self, at: entry + offsetField)
                let length = bytes.littleEndian(UInt16.self, at: entry + lengthField)
                guard length > 0, length % 2 == 0, fits(UInt64(offset), UInt64(length), within: UInt64(bytes.count))
                else {
                    throw fail(
                        "entry \(index) \(name)", at: entry + offsetField,
                        "\(length) bytes at \(offset) are not UTF-16 text inside the \(bytes.count)-byte item")
                }
                let start = Int(offset)
                let units = stride(from: start, to: start + Int(length), by: 2).map {
                    bytes.littleEndian(UInt16.self, at: $0)
                }
                return String(decoding: units, as: UTF16.self)
            }
            let key = try text("key", offsetField: 0, lengthField: 8)
            let value = try text("value", offsetField: 4, lengthField: 10)
            guard entries.updateValue(value, forKey: key) == nil else {
                throw fail("entry \(index) key", at: entry, "the key '\(key)' appears twice")
            }
        }
        guard let linkage = entries["parent_linkage"].flatMap(Self.guid) else {
            throw fail(
                "parent_linkage", at: Self.headerSize,
                "no parent_linkage GUID (found \(entries["parent_linkage"]?.debugDescription ?? "none")); the "
                    + "parent cannot be identified")
        }
        self.entries = entries
        self.linkages = [linkage] + (entries["parent_linkage2"].flatMap(Self.guid).map { [$0] } ?? [])
        self.place = place
    }

    /// The places to look for the parent, in order: `relative_path` (from the child's directory),
    /// `absolute_win32_path` and `volume_path` without their drive or volume, then the file name of any
    /// of them in the child's directory.
    func candidates(childDirectory: String) -> [(path: String, source: String)] {
        var candidates: [(path: String, source: String)] = []
        if let relative = entries["relative_path"],
            let path = ParentLocator.posixPath(windows: relative, relative: true, childDirectory: childDirectory)
        {
            candidates.append((path, "relative_path"))
        }
        if let absolute = entries["absolute_win32_path"],
            let path = ParentLocator.posixPath(windows: absolute, relative: false, childDirectory: childDirectory)
        {
            candidates.append((path, "absolute_win32_path"))
        }
        // \\?\Volume{GUID}\dir\parent.vhdx: the volume cannot be resolved here, the rest of the path can.
        if let volume = entries["volume_path"], let slash = volume.dropFirst(4).firstIndex(of: "\\"),
            let path = ParentLocator.posixPath(
                windows: String(volume[slash...]), relative: false, childDirectory: childDirectory)
        {
            candidates.append((path, "volume_path"))
        }
        for key in ["relative_path", "absolute_win32_path", "volume_path"] {
            if let name = entries[key]?.split(whereSeparator: { $0 == "\\" || $0 == "/" }).last {
                candidates.append((childDirectory + "/" + name, "file name of \(key)"))
            }
        }
        return candidates
    }

    /// `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` (braces optional) as a GUID.
    static func guid(_ text: String) -> UUID? {
        var text = Substring(text)
        if text.hasPrefix("{"), text.hasSuffix("}") { text = text.dropFirst().dropLast() }
        return UUID(uuidString: String(text))
    }
}
