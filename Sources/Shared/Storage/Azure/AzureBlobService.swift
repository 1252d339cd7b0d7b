import Foundation
import Logging

/// `BlobService` over the Azure Blob REST API (docs/azure-rest.md, "Blob service"): Azure itself, Azurite
/// or relay-devstore.
public struct AzureBlobService: BlobService {
    public struct Configuration: Sendable {
        public var retryPolicy: RetryPolicy
        /// The most bytes one Get Blob may return (a whole-blob read of anything larger fails rather than
        /// growing memory; read large blobs by ranges).
        public var maxDownloadBytes: Int
        /// Put Page calls in flight to one page blob at most, before any `503 ServerBusy` narrows it.
        public var maxPageWritesPerBlob: Int

        public init(
            retryPolicy: RetryPolicy = .init(), maxDownloadBytes: Int = 256 << 20, maxPageWritesPerBlob: Int = 64
        ) {
            self.retryPolicy = retryPolicy
            self.maxDownloadBytes = maxDownloadBytes
            self.maxPageWritesPerBlob = maxPageWritesPerBlob
        }
    }

    let client: AzureClient
    let configuration: Configuration
    let pacers: PagePacers
    let logger: Logger

    /// - Parameter logger: receives the retries, the page writes' fences and 412s on sequence-number
    ///   conditions, and the pacers' window changes; the default label is `vhd-relay.azure.blob`.
    public init(
        connectionString: ConnectionString, transport: any HTTPTransport, configuration: Configuration = .init(),
        logger: Logger = Logger(label: "vhd-relay.azure.blob"), observer: StorageAttemptObserver? = nil
    ) throws {
        guard let endpoint = connectionString.blobEndpoint else {
            throw ConnectionStringError("no blob endpoint: give AccountName or BlobEndpoint")
        }
        client = AzureClient(
            endpoint: endpoint, credential: connectionString.credential, service: .blobOrQueue,
            transport: transport, retryPolicy: configuration.retryPolicy, logger: logger, observer: observer)
        self.configuration = configuration
        self.logger = logger
        pacers = PagePacers(maxWindow: configuration.maxPageWritesPerBlob, logger: logger)
    }

    public func createContainer(_ container: String) async throws {
        _ = try await client.send(
            AzureRequest(
                "PUT", "/" + AzurePath.encode(container), query: [("restype", "container")],
                safety: .idempotent, successAfterUnknownOutcome: [.containerAlreadyExists],
                subject: "container \(container)"))
    }

    // MARK: Block blobs

    @discardableResult
    public func putBlockBlob(_ blob: BlobAddress, data: [UInt8], metadata: [String: String], conditions: BlobConditions)
        async throws -> BlobWriteResult
    {
        let headers = [("x-ms-blob-type", "BlockBlob")] + Self.headers(metadata) + Self.headers(conditions)
        let response = try await client.send(
            AzureRequest(
                "PUT", AzurePath.blob(blob), headers: headers, body: data, contentType: "application/octet-stream",
                safety: conditions.ifNoneMatch == nil && conditions.ifMatch == nil ? .idempotent : .unsafe,
                subject: "blob \(blob)"))
        return try Self.writeResult(response, blob)
    }

    public func getBlob(_ blob: BlobAddress, range: ByteRange?, snapshot: String?, conditions: BlobConditions)
        async throws -> BlobContent
    {
        var headers = Self.headers(conditions)
        var limit = configuration.maxDownloadBytes
        if let range {
            guard range.length > 0 else {
                throw StorageError.badRequest(
                    .invalidRange, "Get Blob of \(blob): the range \(range) is empty; ask for at least one byte")
            }
            headers.append(("x-ms-range", "bytes=\(range.offset)-\(range.end - 1)"))
            // Room for an error body (416 InvalidRange) even when the range is tiny.
            limit = Int(min(UInt64(limit), max(range.length, 64 << 10)))
        }
        let response = try await client.send(
            AzureRequest(
                "GET", AzurePath.blob(blob), query: snapshot.map { [("snapshot", $0)] } ?? [], headers: headers,
                maxResponseBytes: limit, safety: .idempotent, subject: "blob \(blob)"))
        var properties = try Self.properties(response, blob)
        // A ranged answer's Content-Length is the range's; the blob's size is after the '/' of Content-Range.
        if let contentRange = response.header("content-range"),
            let total = contentRange.split(separator: "/").last.flatMap({ UInt64($0) })
        {
            properties.size = total
        }
        return BlobContent(data: response.body, properties: properties)
    }

    public func blobProperties(_ blob: BlobAddress, snapshot: String?, conditions: BlobConditions) async throws
        -> BlobProperties
    {
        let response = try await client.send(
            AzureRequest(
                "HEAD", AzurePath.blob(blob), query: snapshot.map { [("snapshot", $0)] } ?? [],
                headers: Self.headers(conditions),
                safety: .idempotent, subject: "blob \(blob)"))
        return try Self.properties(response, blob)
    }

    public func deleteBlob(
        _ blob: BlobAddress, snapshot: String?, deleteSnapshots: DeleteSnapshots?, conditions: BlobConditions
    ) async throws {
        var headers = Self.headers(conditions)
        if let deleteSnapshots { headers.append(("x-ms-delete-snapshots", deleteSnapshots.rawValue)) }
        _ = try await client.send(
            AzureRequest(
                "DELETE", AzurePath.blob(blob), query: snapshot.map { [("snapshot", $0)] } ?? [], headers: headers,
                safety: .idempotent, successAfterUnknownOutcome: [.blobNotFound], subject: "blob \(blob)"))
    }

    public func listBlobs(container: String, prefix: String, marker: String?, maxResults: Int) async throws
        -> BlobListing
    {
        var query = [
            ("restype", "container"), ("comp", "list"), ("include", "metadata"), ("maxresults", String(maxResults)),
        ]
        if !prefix.isEmpty { query.append(("prefix", prefix)) }
        if let marker, !marker.isEmpty { query.append(("marker", marker)) }
        let response = try await client.send(
            AzureRequest(
                "GET", "/" + AzurePath.encode(container), query: query, maxResponseBytes: 64 << 20,
                safety: .idempotent, subject: "container \(container)"))
        return try AzureBlobXML.listing(response.body, container: container)
    }

    @discardableResult
    public func setMetadata(_ blob: BlobAddress, _ metadata: [String: String], conditions: BlobConditions) async throws
        -> BlobWriteResult
    {
        let response = try await client.send(
            AzureRequest(
                "PUT", AzurePath.blob(blob), query: [("comp", "metadata")],
                headers: Self.headers(metadata) + Self.headers(conditions),
                safety: .idempotent, subject: "blob \(blob)"))
        return try Self.writeResult(response, blob)
    }

    // MARK: Page blobs

    @discardableResult
    public func createPageBlob(
        _ blob: BlobAddress, size: UInt64, sequenceNumber: Int64, metadata: [String: String], conditions: BlobConditions
    ) async throws -> BlobWriteResult {
        let headers =
            [
                ("x-ms-blob-type", "PageBlob"), ("x-ms-blob-content-length", String(size)),
                ("x-ms-blob-sequence-number", String(sequenceNumber)),
            ]
            + Self.headers(metadata) + Self.headers(conditions)
        let response = try await client.send(
            AzureRequest(
                "PUT", AzurePath.blob(blob), headers: headers,
                safety: conditions.ifNoneMatch == nil && conditions.ifMatch == nil ? .idempotent : .unsafe,
                subject: "blob \(blob)"))
        var result = try Self.writeResult(response, blob)
        // Put Blob does not echo the sequence number; the new blob has the one it was created with.
        result.sequenceNumber = result.sequenceNumber ?? sequenceNumber
        return result
    }

    @discardableResult
    public func putPages(
        _ blob: BlobAddress, offset: UInt64, data: [UInt8], checksum: PageChecksum?, conditions: BlobConditions
    ) async throws -> BlobWriteResult {
        guard !data.isEmpty else {
            throw StorageError(
                .invalidPageRange, status: 416, "Put Page to \(blob) at \(offset): no data; write 512 bytes to 4 MiB")
        }
        var headers = [
            ("x-ms-page-write", "update"), ("x-ms-range", "bytes=\(offset)-\(offset + UInt64(data.count) - 1)"),
        ]
        switch checksum {
        case .md5(let digest): headers.append(("Content-MD5", Data(digest).base64EncodedString()))
        case .crc64(let crc):
            let bytes = (0..<8).map { UInt8(truncatingIfNeeded: crc >> (8 * UInt64($0))) }
            headers.append(("x-ms-content-crc64", Data(bytes).base64EncodedString()))
        case nil: break
        }
        return try await fencedPageWrite(blob, headers: headers, body: data, conditions: conditions)
    }

    @discardableResult
    public func clearPages(_ blob: BlobAddress, range: ByteRange, conditions: BlobConditions) async throws
        -> BlobWriteResult
    {
        guard range.length > 0 else {
            throw StorageError(.invalidPageRange, status: 416, "Clear Pages of \(blob): the range \(range) is empty")
        }
        let headers = [("x-ms-page-write", "clear"), ("x-ms-range", "bytes=\(range.offset)-\(range.end - 1)")]
        return try await fencedPageWrite(blob, headers: headers, body: [], conditions: conditions)
    }

    /// Put Page is not safe to repeat blindly: a delayed first copy could land after a later write to the
    /// same pages (docs/azure-rest.md, "Retries and idempotency"). So an attempt whose fate is unknown is
    /// repeated only under the sequence-number fence: when the write carries `x-ms-if-sequence-number-lt: N`,
    /// the blob's sequence number is first raised to N (`max`, itself idempotent), which makes any stale copy
    /// fail with 412, and the write is repeated with `lt: N+1`. Otherwise the unknown outcome is thrown to
    /// the caller: a write fenced with `x-ms-if-sequence-number-eq` (the worker's epoch, docs/worker.md
    /// "Apply") is not repeated under the same epoch, since its stale copy would pass that fence too; the
    /// worker raises its epoch first. Throttled (503/429) or unsent attempts are retried inside
    /// `AzureClient` as usual.
    private func fencedPageWrite(
        _ blob: BlobAddress, headers: [(String, String)], body: [UInt8], conditions: BlobConditions
    ) async throws -> BlobWriteResult {
        let pacer = pacers.pacer(for: blob)
        var conditions = conditions
        var fences = 0
        while true {
            let request = AzureRequest(
                "PUT", AzurePath.blob(blob), query: [("comp", "page")], headers: headers + Self.headers(conditions),
                body: body, contentType: body.isEmpty ? nil : "application/octet-stream", safety: .unsafe,
                subject: "blob \(blob)")
            do {
                return try Self.writeResult(try await client.send(request, pacer: pacer), blob)
            } catch let error as StorageError where error.code == .sequenceNumberConditionNotMet {
                logger.pageWriteFenced(blob, conditions)
                throw error
            } catch let error as StorageError where RetryDecision.needsIdempotence(AttemptFailure(error)) {
                guard let fence = conditions.ifSequenceNumberLessThan, fence < Int64.max,
                    fences < configuration.retryPolicy.maxRetries
                else { throw error }
                fences += 1
                logger.info(
                    "raising the blob's sequence number before repeating a page write of unknown outcome",
                    metadata: [
                        "blob.name": "\(blob)", "blob.sequence_number": "\(fence)", "storage.status": "\(error.status)",
                        "storage.error_code": "\(error.code.rawValue)", "fence.attempt": "\(fences)",
                    ])
                _ = try await setSequenceNumber(
                    blob, .max(fence), conditions: BlobConditions(leaseID: conditions.leaseID))
                conditions.ifSequenceNumberLessThan = fence + 1
            }
        }
    }

    public func pageRanges(
        _ blob: BlobAddress, range: ByteRange?, snapshot: String?, previousSnapshot: String?, conditions: BlobConditions
    ) async throws -> PageRangeList {
        var headers = Self.headers(conditions)
        if let range {
            guard range.length > 0 else {
                throw StorageError(
                    .invalidPageRange, status: 416, "Get Page Ranges of \(blob): the range \(range) is empty")
            }
            headers.append(("x-ms-range", "bytes=\(range.offset)-\(range.end - 1)"))
        }
        var result = PageRangeList(pageRanges: [], clearRanges: [])
        var marker: String?
        repeat {
            var query = [("comp", "pagelist")]
            if let snapshot { query.append(("snapshot", snapshot)) }
            if let previousSnapshot { query.append(("prevsnapshot", previousSnapshot)) }
            if let marker { query.append(("marker", marker)) }
            let response = try await client.send(
                AzureRequest(
                    "GET", AzurePath.blob(blob), query: query, headers: headers, maxResponseBytes: 32 << 20,
                    safety: .idempotent, subject: "blob \(blob)"))
            let page = try AzureBlobXML.pageList(response.body, blob: blob)
            result.pageRanges += page.list.pageRanges
            result.clearRanges += page.list.clearRanges
            marker = page.nextMarker
        } while marker != nil
        return result
    }

    @discardableResult
    public func resizePageBlob(_ blob: BlobAddress, size: UInt64, conditions: BlobConditions) async throws
        -> BlobWriteResult
    {
        let response = try await client.send(
            AzureRequest(
                "PUT", AzurePath.blob(blob), query: [("comp", "properties")],
                headers: [("x-ms-blob-content-length", String(size))] + Self.headers(conditions), safety: .idempotent,
                subject: "blob \(blob)"))
        return try Self.writeResult(response, blob)
    }

    @discardableResult
    public func setSequenceNumber(_ blob: BlobAddress, _ action: SequenceNumberAction, conditions: BlobConditions)
        async throws -> BlobWriteResult
    {
        var headers: [(String, String)]
        let safety: RetrySafety
        switch action {
        case .max(let value):
            headers = [("x-ms-sequence-number-action", "max"), ("x-ms-blob-sequence-number", String(value))]
            safety = .idempotent
        case .update(let value):
            headers = [("x-ms-sequence-number-action", "update"), ("x-ms-blob-sequence-number", String(value))]
            safety = .idempotent
        case .increment:
            headers = [("x-ms-sequence-number-action", "increment")]
            safety = .unsafe
        }
        headers += Self.headers(conditions)
        let response = try await client.send(
            AzureRequest(
                "PUT", AzurePath.blob(blob), query: [("comp", "properties")], headers: headers, safety: safety,
                subject: "blob \(blob)"))
        return try Self.writeResult(response, blob)
    }

    // MARK: Leases and snapshots

    public func lease(_ blob: BlobAddress, _ action: LeaseAction, conditions: BlobConditions) async throws
        -> LeaseResult
    {
        var headers: [(String, String)]
        var tolerated: Set<StorageError.Code> = []
        switch action {
        case .acquire(let duration, let proposedID):
            let seconds =
                switch duration {
                case .seconds(let seconds): seconds
                case .infinite: -1
                }
            // A proposed id of our own makes a retried acquire succeed instead of 409 LeaseAlreadyPresent.
            headers = [
                ("x-ms-lease-action", "acquire"), ("x-ms-lease-duration", String(seconds)),
                ("x-ms-proposed-lease-id", proposedID ?? UUID().uuidString.lowercased()),
            ]
        case .renew(let id): headers = [("x-ms-lease-action", "renew"), ("x-ms-lease-id", id)]
        case .change(let id, let proposedID):
            headers = [("x-ms-lease-action", "change"), ("x-ms-lease-id", id), ("x-ms-proposed-lease-id", proposedID)]
        case .release(let id):
            headers = [("x-ms-lease-action", "release"), ("x-ms-lease-id", id)]
            tolerated = [.leaseNotPresentWithLeaseOperation]
        case .break(let period):
            headers = [("x-ms-lease-action", "break")]
            if let period { headers.append(("x-ms-lease-break-period", String(period))) }
        }
        var conditionHeaders = Self.headers(conditions)
        conditionHeaders.removeAll { $0.0 == "x-ms-lease-id" }
        let response = try await client.send(
            AzureRequest(
                "PUT", AzurePath.blob(blob), query: [("comp", "lease")], headers: headers + conditionHeaders,
                safety: .idempotent, successAfterUnknownOutcome: tolerated, subject: "blob \(blob)"))
        return LeaseResult(
            leaseID: response.header("x-ms-lease-id"),
            leaseTime: response.header("x-ms-lease-time").flatMap { Int($0) },
            etag: response.header("etag") ?? "")
    }

    public func snapshot(_ blob: BlobAddress, metadata: [String: String]?, conditions: BlobConditions) async throws
        -> String
    {
        let response = try await client.send(
            AzureRequest(
                "PUT", AzurePath.blob(blob), query: [("comp", "snapshot")],
                headers: Self.headers(metadata ?? [:]) + Self.headers(conditions),
                safety: .unsafe, subject: "blob \(blob)"))
        guard let snapshot = response.header("x-ms-snapshot") else {
            throw StorageError(
                .invalidHeaderValue, status: response.status,
                "Snapshot Blob of \(blob): the response has no x-ms-snapshot header")
        }
        return snapshot
    }

    // MARK: Headers

    static func headers(_ metadata: [String: String]) -> [(String, String)] {
        metadata.sorted { $0.key < $1.key }.map { ("x-ms-meta-\($0.key)", $0.value) }
    }

    static func headers(_ conditions: BlobConditions) -> [(String, String)] {
        var headers: [(String, String)] = []
        if let value = conditions.leaseID { headers.append(("x-ms-lease-id", value)) }
        if let value = conditions.ifMatch { headers.append(("If-Match", value)) }
        if let value = conditions.ifNoneMatch { headers.append(("If-None-Match", value)) }
        if let value = conditions.ifSequenceNumberLessThanOrEqual {
            headers.append(("x-ms-if-sequence-number-le", String(value)))
        }
        if let value = conditions.ifSequenceNumberLessThan {
            headers.append(("x-ms-if-sequence-number-lt", String(value)))
        }
        if let value = conditions.ifSequenceNumberEqual {
            headers.append(("x-ms-if-sequence-number-eq", String(value)))
        }
        return headers
    }

    static func writeResult(_ response: HTTPResponse, _ blob: BlobAddress) throws -> BlobWriteResult {
        BlobWriteResult(
            etag: response.header("etag") ?? "",
            lastModified: response.header("last-modified").flatMap(AzureDate.parseRFC1123)
                ?? Date(timeIntervalSince1970: 0),
            sequenceNumber: response.header("x-ms-blob-sequence-number").flatMap { Int64($0) })
    }

    static func properties(_ response: HTTPResponse, _ blob: BlobAddress) throws -> BlobProperties {
        guard let type = response.header("x-ms-blob-type").flatMap(BlobType.init(rawValue:)) else {
            throw StorageError(
                .invalidHeaderValue, status: response.status, "properties of \(blob): missing or unknown x-ms-blob-type"
            )
        }
        var metadata: [String: String] = [:]
        for header in response.headers where header.name.hasPrefix("x-ms-meta-") {
            metadata[String(header.name.dropFirst("x-ms-meta-".count))] = header.value
        }
        return AzureBlobPropertyNames.headers.properties(type: type, metadata: metadata) { response.header($0) }
    }
}
