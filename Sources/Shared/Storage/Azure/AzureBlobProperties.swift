import Foundation

/// The service spells a blob's properties two ways: as Get Blob Properties' response headers and as a
/// List Blobs `<Properties>` element. One reader serves both, given the names of each spelling.
struct AzureBlobPropertyNames: Sendable {
    var size, etag, lastModified, creationTime, sequenceNumber, leaseState, leaseDuration: String

    static let headers = AzureBlobPropertyNames(
        size: "content-length", etag: "etag", lastModified: "last-modified", creationTime: "x-ms-creation-time",
        sequenceNumber: "x-ms-blob-sequence-number", leaseState: "x-ms-lease-state",
        leaseDuration: "x-ms-lease-duration")

    static let listing = AzureBlobPropertyNames(
        size: "Content-Length", etag: "Etag", lastModified: "Last-Modified", creationTime: "Creation-Time",
        sequenceNumber: "x-ms-blob-sequence-number", leaseState: "LeaseState", leaseDuration: "LeaseDuration")

    /// Reads the properties through `value`, which answers a field's text by its name in this spelling.
    func properties(type: BlobType, metadata: [String: String], _ value: (String) -> String?) -> BlobProperties {
        let leaseState = value(leaseState).flatMap(LeaseInfo.State.init(rawValue:)) ?? .available
        return BlobProperties(
            type: type,
            size: value(size).flatMap { UInt64($0) } ?? 0,
            etag: value(etag) ?? "",
            lastModified: value(lastModified).flatMap(AzureDate.parseRFC1123) ?? Date(timeIntervalSince1970: 0),
            creationTime: value(creationTime).flatMap(AzureDate.parseRFC1123) ?? Date(timeIntervalSince1970: 0),
            sequenceNumber: value(sequenceNumber).flatMap { Int64($0) },
            lease: LeaseInfo(
                state: leaseState,
                duration: leaseState == .leased ? value(leaseDuration).flatMap(LeaseInfo.Duration.init(rawValue:)) : nil
            ),
            metadata: metadata)
    }
}
