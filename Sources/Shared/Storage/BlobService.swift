import Foundation

/// The Azure Blob service operations vhd-relay uses, one method per REST operation, with Azure's
/// semantics and error codes whatever the backend (docs/storage.md, "Blob service").
public protocol BlobService: Sendable {
    /// Create Container. `409 ContainerAlreadyExists` if it exists.
    func createContainer(_ container: String) async throws

    // MARK: Block blobs

    /// Put Blob (block blob): creates or replaces the blob with `data`.
    @discardableResult
    func putBlockBlob(_ blob: BlobAddress, data: [UInt8], metadata: [String: String], conditions: BlobConditions)
        async throws -> BlobWriteResult

    /// Get Blob, whole or `range` (clipped to the blob's end; a start at or past the end is `416 InvalidRange`).
    func getBlob(_ blob: BlobAddress, range: ByteRange?, snapshot: String?, conditions: BlobConditions) async throws
        -> BlobContent

    /// Get Blob Properties (HEAD).
    func blobProperties(_ blob: BlobAddress, snapshot: String?, conditions: BlobConditions) async throws
        -> BlobProperties

    /// Delete Blob, or one snapshot of it. A blob with snapshots needs `deleteSnapshots`
    /// (`409 SnapshotsPresent` otherwise).
    func deleteBlob(
        _ blob: BlobAddress, snapshot: String?, deleteSnapshots: DeleteSnapshots?, conditions: BlobConditions)
        async throws

    /// List Blobs whose names start with `prefix`, one page at a time (`marker` from the previous page).
    func listBlobs(container: String, prefix: String, marker: String?, maxResults: Int) async throws -> BlobListing

    /// Set Blob Metadata: replaces the whole set.
    @discardableResult
    func setMetadata(_ blob: BlobAddress, _ metadata: [String: String], conditions: BlobConditions) async throws
        -> BlobWriteResult

    // MARK: Page blobs

    /// Put Blob (page blob): creates or resets a page blob of `size` bytes (a multiple of 512), all pages clear.
    @discardableResult
    func createPageBlob(
        _ blob: BlobAddress, size: UInt64, sequenceNumber: Int64, metadata: [String: String], conditions: BlobConditions
    ) async throws -> BlobWriteResult

    /// Put Page (update): writes `data` (≤ 4 MiB, a multiple of 512) at `offset` (512-aligned).
    /// `checksum`, when given, is checked by the service (`400 Md5Mismatch` or `400 Crc64Mismatch`).
    @discardableResult
    func putPages(
        _ blob: BlobAddress, offset: UInt64, data: [UInt8], checksum: PageChecksum?, conditions: BlobConditions
    )
        async throws -> BlobWriteResult

    /// Put Page (clear): releases `range` (512-aligned); it reads as zeros and leaves the page ranges.
    @discardableResult
    func clearPages(_ blob: BlobAddress, range: ByteRange, conditions: BlobConditions) async throws -> BlobWriteResult

    /// Get Page Ranges of the blob (or of `snapshot`), within `range` if given; with `previousSnapshot`,
    /// only what changed since it, cleared pages reported as clear ranges. Continuation is followed inside.
    func pageRanges(
        _ blob: BlobAddress, range: ByteRange?, snapshot: String?, previousSnapshot: String?, conditions: BlobConditions
    ) async throws -> PageRangeList

    /// Set Blob Properties with `x-ms-blob-content-length`: grows or shrinks a page blob.
    @discardableResult
    func resizePageBlob(_ blob: BlobAddress, size: UInt64, conditions: BlobConditions) async throws -> BlobWriteResult

    /// Set Blob Properties with `x-ms-sequence-number-action`; returns the new sequence number in the result.
    @discardableResult
    func setSequenceNumber(_ blob: BlobAddress, _ action: SequenceNumberAction, conditions: BlobConditions) async throws
        -> BlobWriteResult

    // MARK: Leases and snapshots

    /// Lease Blob.
    func lease(_ blob: BlobAddress, _ action: LeaseAction, conditions: BlobConditions) async throws -> LeaseResult

    /// Snapshot Blob: returns the snapshot's id (an ISO 8601 time with 7 fractional digits).
    func snapshot(_ blob: BlobAddress, metadata: [String: String]?, conditions: BlobConditions) async throws -> String
}

/// A blob's container and name.
/// A Put Page's transactional checksum: `Content-MD5`, or `x-ms-content-crc64` (CRC-64/NVME, `CRC64`),
/// which costs a fraction of MD5 (docs/worker.md, "Performance").
public enum PageChecksum: Hashable, Sendable {
    case md5([UInt8])
    case crc64(UInt64)

    /// Whether `data` has this checksum.
    public func matches(_ data: [UInt8]) -> Bool {
        switch self {
        case .md5(let digest): MD5.digest(data) == digest
        case .crc64(let crc): CRC64.checksum(data) == crc
        }
    }
}

public struct BlobAddress: Hashable, Sendable, CustomStringConvertible {
    public var container: String
    public var name: String

    public init(container: String, name: String) {
        self.container = container
        self.name = name
    }

    public var description: String { "\(container)/\(name)" }

    /// Whether a blob name may not hold `scalar`: a control character (a NUL would alias another name in C
    /// strings) or U+FFFE/U+FFFF, which XML 1.0 cannot carry, so that List Blobs could not list the blob.
    public static func isRefusedInName(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0xFFFE || scalar.value == 0xFFFF
    }
}

/// The conditions a blob request can carry (docs/azure-rest.md, "Conditions and leases"). Empty by default.
public struct BlobConditions: Hashable, Sendable {
    public var leaseID: String?
    public var ifMatch: String?
    public var ifNoneMatch: String?
    public var ifSequenceNumberLessThanOrEqual: Int64?
    public var ifSequenceNumberLessThan: Int64?
    public var ifSequenceNumberEqual: Int64?

    public init(
        leaseID: String? = nil, ifMatch: String? = nil, ifNoneMatch: String? = nil,
        ifSequenceNumberLessThanOrEqual: Int64? = nil, ifSequenceNumberLessThan: Int64? = nil,
        ifSequenceNumberEqual: Int64? = nil
    ) {
        self.leaseID = leaseID
        self.ifMatch = ifMatch
        self.ifNoneMatch = ifNoneMatch
        self.ifSequenceNumberLessThanOrEqual = ifSequenceNumberLessThanOrEqual
        self.ifSequenceNumberLessThan = ifSequenceNumberLessThan
        self.ifSequenceNumberEqual = ifSequenceNumberEqual
    }

    public static let none = BlobConditions()
}

public enum BlobType: String, Hashable, Sendable {
    case blockBlob = "BlockBlob"
    case pageBlob = "PageBlob"
}

public enum DeleteSnapshots: String, Hashable, Sendable {
    case include
    case only
}

public struct BlobWriteResult: Hashable, Sendable {
    public var etag: String
    public var lastModified: Date
    /// Page blobs only.
    public var sequenceNumber: Int64?

    public init(etag: String, lastModified: Date, sequenceNumber: Int64?) {
        self.etag = etag
        self.lastModified = lastModified
        self.sequenceNumber = sequenceNumber
    }
}

public struct LeaseInfo: Hashable, Sendable {
    public enum State: String, Hashable, Sendable {
        case available, leased, expired, breaking, broken
    }

    /// `x-ms-lease-duration`: the wire tells fixed from infinite, not a fixed lease's seconds.
    public enum Duration: String, Hashable, Sendable {
        case fixed, infinite
    }

    public var state: State
    /// `true` when `x-ms-lease-status` is `locked`.
    public var isLocked: Bool { state == .leased || state == .breaking }
    /// Set while leased.
    public var duration: Duration?

    public init(state: State, duration: Duration?) {
        self.state = state
        self.duration = duration
    }
}

public struct BlobProperties: Hashable, Sendable {
    public var type: BlobType
    public var size: UInt64
    public var etag: String
    public var lastModified: Date
    public var creationTime: Date
    /// Page blobs only.
    public var sequenceNumber: Int64?
    public var lease: LeaseInfo
    public var metadata: [String: String]

    public init(
        type: BlobType, size: UInt64, etag: String, lastModified: Date, creationTime: Date,
        sequenceNumber: Int64?, lease: LeaseInfo, metadata: [String: String]
    ) {
        self.type = type
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
        self.creationTime = creationTime
        self.sequenceNumber = sequenceNumber
        self.lease = lease
        self.metadata = metadata
    }
}

public struct BlobContent: Sendable {
    public var data: [UInt8]
    public var properties: BlobProperties

    public init(data: [UInt8], properties: BlobProperties) {
        self.data = data
        self.properties = properties
    }
}

public struct BlobListing: Sendable {
    public struct Item: Sendable {
        public var name: String
        public var properties: BlobProperties

        public init(name: String, properties: BlobProperties) {
            self.name = name
            self.properties = properties
        }
    }

    public var items: [Item]
    /// Pass as `marker` to get the next page; `nil` on the last page.
    public var nextMarker: String?

    public init(items: [Item], nextMarker: String?) {
        self.items = items
        self.nextMarker = nextMarker
    }
}

/// Get Page Ranges' answer: sorted, non-overlapping ranges.
public struct PageRangeList: Hashable, Sendable {
    public var pageRanges: [ByteRange]
    /// Only with a previous snapshot: ranges cleared since it.
    public var clearRanges: [ByteRange]

    public init(pageRanges: [ByteRange], clearRanges: [ByteRange] = []) {
        self.pageRanges = pageRanges
        self.clearRanges = clearRanges
    }
}

public enum SequenceNumberAction: Hashable, Sendable {
    /// seq = max(seq, value)
    case max(Int64)
    /// seq = value
    case update(Int64)
    /// seq += 1 (not idempotent)
    case increment
}

public enum LeaseDuration: Hashable, Sendable {
    /// 15 to 60 seconds.
    case seconds(Int)
    case infinite
}

public enum LeaseAction: Hashable, Sendable {
    case acquire(LeaseDuration, proposedID: String?)
    case renew(id: String)
    case change(id: String, proposedID: String)
    case release(id: String)
    /// `period` 0–60 s; nil breaks a fixed lease when it runs out and an infinite one at once.
    case `break`(period: Int?)
}

public struct LeaseResult: Hashable, Sendable {
    /// The lease id after acquire, renew and change.
    public var leaseID: String?
    /// After break: seconds until the lease is broken.
    public var leaseTime: Int?
    public var etag: String

    public init(leaseID: String?, leaseTime: Int?, etag: String) {
        self.leaseID = leaseID
        self.leaseTime = leaseTime
        self.etag = etag
    }
}
