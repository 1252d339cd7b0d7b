import Foundation

/// What a target page blob was created from, recorded in its metadata, so that a sync of another source,
/// or of the same source grown or shrunk, is refused instead of merged into it
/// (docs/replication-contract.md, "Target identity").
public struct TargetIdentity: Hashable, Sendable {
    /// The source VHD's unique id, or one generated for a raw image (kept in the client's state).
    public var sourceID: UUID
    /// The source's virtual size; the page blob is `VHDFooter.targetSize(forVirtualSize:)` + 512 bytes.
    public var virtualSize: UInt64
    /// The program that created the target, e.g. `vhd-relay 0.1.0`; informative, not compared.
    public var creator: String

    public init(sourceID: UUID, virtualSize: UInt64, creator: String = "vhd-relay \(RelayVersion.current)") {
        self.sourceID = sourceID
        self.virtualSize = virtualSize
        self.creator = creator
    }

    static let sourceIDKey = "relaysourceid"
    static let virtualSizeKey = "relayvirtualsize"
    static let creatorKey = "relaycreator"

    /// The page blob's metadata (names are C# identifiers, as Azure requires).
    public var metadata: [String: String] {
        [
            Self.sourceIDKey: sourceID.uuidString.lowercased(), Self.virtualSizeKey: String(virtualSize),
            Self.creatorKey: creator,
        ]
    }

    /// Reads an identity from a blob's metadata; a blob without it was not created by vhd-relay.
    public init(metadata: [String: String], blob: String) throws(ControlError) {
        guard let id = metadata[Self.sourceIDKey], let size = metadata[Self.virtualSizeKey] else {
            throw ControlError(
                .identityMismatch, field: "\(blob) metadata",
                "the blob exists but was not created by vhd-relay (no \(Self.sourceIDKey)/\(Self.virtualSizeKey)); "
                    + "choose another target or delete the blob")
        }
        guard let sourceID = UUID(uuidString: id), let virtualSize = UInt64(size) else {
            throw ControlError(
                .wrongType, field: "\(blob) metadata", "\(Self.sourceIDKey) or \(Self.virtualSizeKey) is malformed")
        }
        self.init(sourceID: sourceID, virtualSize: virtualSize, creator: metadata[Self.creatorKey] ?? "unknown")
    }

    /// Throws unless `self` (the target's) describes the same source and size as `source`.
    public func check(matches source: TargetIdentity, target: TargetName) throws(ControlError) {
        guard sourceID == source.sourceID else {
            throw ControlError(
                .identityMismatch, field: "\(target) metadata.\(Self.sourceIDKey)",
                "the target was created from source \(sourceID.uuidString.lowercased()), this source is "
                    + "\(source.sourceID.uuidString.lowercased()); use another target, or delete this one to start over"
            )
        }
        guard virtualSize == source.virtualSize else {
            throw ControlError(
                .identityMismatch, field: "\(target) metadata.\(Self.virtualSizeKey)",
                "the target holds a disk of \(virtualSize) bytes, the source has \(source.virtualSize); "
                    + "a resized disk needs a new target")
        }
    }
}
