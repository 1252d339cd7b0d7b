import Foundation

/// The request checks Azure makes before it looks at any blob (docs/azure-rest.md, "Versions, dates and
/// names", "Blob service"), with its codes.
enum LocalBlobValidation {
    static let pageSize: UInt64 = 512
    static let maxPutPageBytes = 4 << 20
    static let maxPageBlobSize: UInt64 = 8 << 40
    static let maxBlockBlobSize = 5000 << 20
    static let maxMetadataBytes = 8 << 10
    static let maxBlobNameLength = 1024
    /// The most one Get Blob returns: its answer is one array in memory, so a whole-blob read of a
    /// large page blob must be refused rather than attempted. Read larger blobs in ranges.
    static let maxReadBytes: UInt64 = 1 << 30

    /// 3–63 characters of `a-z 0-9 -`, starting and ending with a letter or digit, no `--`.
    static func containerName(_ name: String) throws {
        guard ResourceName.isContainerOrQueueName(name) else {
            throw StorageError.badRequest(
                .invalidResourceName,
                "container name \"\(name)\" is invalid: use 3–63 of a-z, 0-9 and single dashes, starting and ending with a letter or digit"
            )
        }
    }

    /// 1–1024 characters counted as Azure counts them (UTF-16 code units), none that
    /// `BlobAddress.isRefusedInName`.
    static func address(_ blob: BlobAddress) throws {
        try containerName(blob.container)
        let length = blob.name.utf16.count
        guard (1...maxBlobNameLength).contains(length) else {
            throw StorageError.badRequest(
                .invalidResourceName,
                "blob name of \(length) UTF-16 code units in \(blob.container) is invalid: use 1–\(maxBlobNameLength)")
        }
        guard !blob.name.unicodeScalars.contains(where: BlobAddress.isRefusedInName) else {
            throw StorageError.badRequest(
                .invalidResourceName,
                "blob name in \(blob.container) holds a control character (U+0000–U+001F, U+007F–U+009F) or U+FFFE/U+FFFF, which XML cannot carry; Azure refuses such names"
            )
        }
    }

    /// Names are C# identifiers, unique ignoring case; values are header text; ≤ 8 KiB in all.
    static func metadata(_ metadata: [String: String]) throws {
        var seen = Set<String>()
        var total = 0
        for (name, value) in metadata {
            let nameBytes = Array(name.utf8)
            let identifier =
                !nameBytes.isEmpty && !(0x30...0x39).contains(nameBytes[0])
                && nameBytes.allSatisfy {
                    (0x61...0x7A).contains($0 | 0x20) || (0x30...0x39).contains($0) || $0 == 0x5F
                }
            guard identifier, seen.insert(name.lowercased()).inserted else {
                throw StorageError.badRequest(
                    .invalidMetadata,
                    "metadata name \"\(name)\" is invalid or repeated (ignoring case): use a letter or _, then letters, digits or _"
                )
            }
            guard value.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
                throw StorageError.badRequest(
                    .invalidMetadata, "metadata \(name) has a value that is not printable ASCII")
            }
            total += nameBytes.count + value.utf8.count
        }
        guard total <= maxMetadataBytes else {
            throw StorageError.badRequest(.metadataTooLarge, "metadata of \(total) bytes is over the 8 KiB limit")
        }
    }

    /// Lease ids are GUIDs (`400 InvalidHeaderValue` otherwise).
    static func leaseID(_ id: String, _ header: String) throws {
        guard UUID(uuidString: id) != nil else {
            throw StorageError.badRequest(.invalidHeaderValue, "\(header) \"\(id)\" is not a GUID")
        }
    }

    static func conditions(_ conditions: BlobConditions) throws {
        if let id = conditions.leaseID { try leaseID(id, "x-ms-lease-id") }
        let sequenceNumbers = [
            conditions.ifSequenceNumberLessThanOrEqual, conditions.ifSequenceNumberLessThan,
            conditions.ifSequenceNumberEqual,
        ]
        guard sequenceNumbers.allSatisfy({ ($0 ?? 0) >= 0 }) else {
            throw StorageError.badRequest(
                .invalidHeaderValue, "a sequence-number condition is negative; sequence numbers are 0…2^63-1")
        }
    }

    /// A page blob size: a multiple of 512, at most 8 TiB.
    static func pageBlobSize(_ size: UInt64, _ blob: BlobAddress) throws {
        guard size % pageSize == 0, size <= maxPageBlobSize else {
            throw StorageError.badRequest(
                .invalidHeaderValue,
                "page blob size \(size) for \(blob) is invalid: use a multiple of 512 up to 8 TiB")
        }
    }

    static func sequenceNumber(_ value: Int64, _ blob: BlobAddress) throws {
        guard value >= 0 else {
            throw StorageError.badRequest(
                .invalidHeaderValue, "sequence number \(value) for \(blob) is negative; use 0…2^63-1")
        }
    }

    /// A page range: 512-aligned at both ends and not empty (`416 InvalidPageRange`).
    static func pageRange(_ range: ByteRange, _ blob: BlobAddress) throws {
        guard range.length > 0, range.offset % pageSize == 0, range.length % pageSize == 0,
            range.length <= UInt64.max - range.offset
        else {
            throw StorageError(
                .invalidPageRange, status: 416,
                "page range \(range) of \(blob) is invalid: start and length must be non-zero multiples of 512")
        }
    }

    /// A page range must lie inside the blob (`416 InvalidPageRange`).
    static func pageRange(_ range: ByteRange, inside size: UInt64, _ blob: BlobAddress) throws {
        guard range.end <= size else {
            throw StorageError(
                .invalidPageRange, status: 416,
                "page range \(range) is past the end of \(blob) (\(size) bytes); resize the blob first")
        }
    }
}
