/// A source file's size and modification time: when they move while the source is read, the
/// generation is only crash-consistent, and the client says so.
public struct SourceStamp: Hashable, Sendable {
    public var size: UInt64
    public var modified: Int64

    /// Blocking: reads the file's status.
    public init(path: String) throws {
        let file = try SystemFile.openForReading(path)
        size = try file.size()
        modified = try file.modificationTime()
    }

    public init(size: UInt64, modified: Int64) {
        self.size = size
        self.modified = modified
    }
}
