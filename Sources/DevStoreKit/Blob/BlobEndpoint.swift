import Foundation
import Hummingbird
import RelayShared

/// The Blob service REST API (docs/azure-rest.md, "Blob service") over an account's `BlobService`:
/// containers (listed and deleted over the local store: docs/azure-rest.md, "Operators' calls"), block blobs, page blobs, page ranges with diffs and markers, sequence numbers, leases,
/// snapshots, metadata.
struct BlobEndpoint: StorageEndpoint {
    let kind = StorageKind.blob

    /// Put Blob of a block blob in one request; the SDKs switch to blocks above their single-put size (64 MiB).
    static let maxBlockBlobBytes = 64 << 20
    static let maxPageWriteBytes = 4 << 20

    func route(_ request: StorageRequest) throws -> Route {
        let comp = request.query["comp"]
        let method = request.method
        guard let container = request.segments.first else {
            guard method == "GET", comp == "list" else {
                throw StorageError.unsupported("the account-level operation \(method) comp=\(comp ?? "-")")
            }
            return Route(
                name: "List Containers", permission: "l", resourceType: "s", bodyLimit: 0, allowsServiceSAS: false
            ) { request, account in
                try await Self.listContainers(request, account: account)
            }
        }
        if request.segments.count == 1 {
            guard request.query["restype"] == "container" else {
                throw StorageError(
                    .invalidQueryParameterValue, status: 400, "a container request needs restype=container")
            }
            switch (method, comp) {
            case ("PUT", nil):
                return Route(
                    name: "Create Container", permission: "c", resourceType: "c", bodyLimit: 0, allowsServiceSAS: false
                ) { _, account in
                    try await account.blob.createContainer(container)
                    // The store keeps no container ETag; one from the time has Azure's form.
                    var response = StorageResponse(status: 201)
                    response.add("etag", Self.containerETag(Date()))
                    response.add("last-modified", AzureDate.rfc1123(Date()))
                    return response
                }
            case ("GET", nil), ("HEAD", nil):
                return Route(name: "Get Container Properties", permission: "r", resourceType: "c", bodyLimit: 0) {
                    _, account in
                    // The protocol has no container properties; listing one blob proves the container exists.
                    _ = try await account.blob.listBlobs(container: container, prefix: "", marker: nil, maxResults: 1)
                    var response = StorageResponse(status: 200)
                    response.add("x-ms-lease-state", "available")
                    response.add("x-ms-lease-status", "unlocked")
                    response.add("x-ms-has-immutability-policy", "false")
                    response.add("x-ms-has-legal-hold", "false")
                    return response
                }
            case ("GET", "list"):
                return Route(name: "List Blobs", permission: "l", resourceType: "c", bodyLimit: 0) { request, account in
                    try await Self.listBlobs(request, container: container, account: account)
                }
            case ("DELETE", nil):
                return Route(
                    name: "Delete Container", permission: "d", resourceType: "c", bodyLimit: 0, allowsServiceSAS: false
                ) { request, account in
                    try await Self.deleteContainer(request, container: container, account: account)
                }
            default:
                throw StorageError.unsupported("the container operation \(method) comp=\(comp ?? "-")")
            }
        }
        let blob = BlobAddress(container: container, name: request.segments.dropFirst().joined(separator: "/"))
        switch (method, comp) {
        case ("PUT", nil):
            return Route(name: "Put Blob", permission: "w", resourceType: "o", bodyLimit: Self.maxBlockBlobBytes) {
                request, account in
                try await Self.putBlob(request, blob: blob, account: account)
            }
        case ("GET", nil):
            return Route(name: "Get Blob", permission: "r", resourceType: "o", bodyLimit: 0) { request, account in
                try await Self.getBlob(request, blob: blob, account: account)
            }
        case ("HEAD", nil), ("GET", "metadata"), ("HEAD", "metadata"):
            return Route(name: "Get Blob Properties", permission: "r", resourceType: "o", bodyLimit: 0) {
                request, account in
                let properties = try await Self.properties(request, blob: blob, account: account)
                var response = StorageResponse(status: 200)
                Self.addProperties(properties, to: &response, metadataOnly: comp == "metadata")
                response.headLength = comp == "metadata" ? 0 : properties.size
                return response
            }
        case ("DELETE", nil):
            return Route(name: "Delete Blob", permission: "d", resourceType: "o", bodyLimit: 0) { request, account in
                let deleteSnapshots = try request.header("x-ms-delete-snapshots").map { text in
                    guard let value = DeleteSnapshots(rawValue: text) else {
                        throw StorageError(
                            .invalidHeaderValue, status: 400,
                            "x-ms-delete-snapshots must be include or only, not '\(text)'")
                    }
                    return value
                }
                try await Self.checkTimeConditions(request, blob: blob, account: account)
                try await account.blob.deleteBlob(
                    blob, snapshot: request.query["snapshot"], deleteSnapshots: deleteSnapshots,
                    conditions: try Self.conditions(request))
                var response = StorageResponse(status: 202)
                response.add("x-ms-delete-type-permanent", "true")
                return response
            }
        case ("PUT", "metadata"):
            return Route(name: "Set Blob Metadata", permission: "w", resourceType: "o", bodyLimit: 0) {
                request, account in
                try await Self.checkTimeConditions(request, blob: blob, account: account)
                let result = try await account.blob.setMetadata(
                    blob, request.metadata, conditions: try Self.conditions(request))
                var response = StorageResponse(status: 200)
                Self.addWriteResult(result, to: &response)
                return response
            }
        case ("PUT", "page"):
            return Route(name: "Put Page", permission: "w", resourceType: "o", bodyLimit: Self.maxPageWriteBytes) {
                request, account in
                try await Self.putPage(request, blob: blob, account: account)
            }
        case ("GET", "pagelist"):
            return Route(name: "Get Page Ranges", permission: "r", resourceType: "o", bodyLimit: 0) {
                request, account in
                try await Self.pageRanges(request, blob: blob, account: account)
            }
        case ("PUT", "properties"):
            return Route(name: "Set Blob Properties", permission: "w", resourceType: "o", bodyLimit: 0) {
                request, account in
                try await Self.setProperties(request, blob: blob, account: account)
            }
        case ("PUT", "lease"):
            return Route(name: "Lease Blob", permission: "w", resourceType: "o", bodyLimit: 0) { request, account in
                try await Self.lease(request, blob: blob, account: account)
            }
        case ("PUT", "snapshot"):
            return Route(name: "Snapshot Blob", permission: "w", resourceType: "o", bodyLimit: 0) { request, account in
                try await Self.checkTimeConditions(request, blob: blob, account: account)
                let id = try await account.blob.snapshot(
                    blob, metadata: request.hasMetadata ? request.metadata : nil,
                    conditions: try Self.conditions(request))
                let properties = try await account.blob.blobProperties(blob, snapshot: id, conditions: .none)
                var response = StorageResponse(status: 201)
                response.add("x-ms-snapshot", id)
                response.add("etag", properties.etag)
                response.add("last-modified", AzureDate.rfc1123(properties.lastModified))
                response.add("x-ms-request-server-encrypted", "false")
                return response
            }
        default:
            throw StorageError.unsupported("the blob operation \(method) comp=\(comp ?? "-")")
        }
    }

    // MARK: Conditions and headers

    static func conditions(_ request: StorageRequest, includeLease: Bool = true) throws -> BlobConditions {
        BlobConditions(
            leaseID: includeLease ? request.header("x-ms-lease-id") : nil,
            ifMatch: request.header("if-match"),
            ifNoneMatch: request.header("if-none-match"),
            ifSequenceNumberLessThanOrEqual: try request.intHeader("x-ms-if-sequence-number-le"),
            ifSequenceNumberLessThan: try request.intHeader("x-ms-if-sequence-number-lt"),
            ifSequenceNumberEqual: try request.intHeader("x-ms-if-sequence-number-eq"))
    }

    /// `If-Modified-Since` / `If-Unmodified-Since`, which the protocol does not carry: checked against the
    /// blob's Last-Modified (whole seconds, as the header has) before the operation.
    static func checkTimeConditions(_ request: StorageRequest, blob: BlobAddress, account: Account) async throws {
        let modifiedSince = try request.dateHeader("if-modified-since")
        let unmodifiedSince = try request.dateHeader("if-unmodified-since")
        guard modifiedSince != nil || unmodifiedSince != nil else { return }
        let properties = try await account.blob.blobProperties(
            blob, snapshot: request.query["snapshot"], conditions: .none)
        let lastModified = properties.lastModified.timeIntervalSince1970.rounded(.down)
        if let modifiedSince, lastModified <= modifiedSince.timeIntervalSince1970 { throw conditionFailed }
        if let unmodifiedSince, lastModified > unmodifiedSince.timeIntervalSince1970 { throw conditionFailed }
    }

    static func properties(_ request: StorageRequest, blob: BlobAddress, account: Account) async throws
        -> BlobProperties
    {
        try await checkTimeConditions(request, blob: blob, account: account)
        return try await account.blob.blobProperties(
            blob, snapshot: request.query["snapshot"], conditions: try conditions(request))
    }

    static func addProperties(
        _ properties: BlobProperties, to response: inout StorageResponse, metadataOnly: Bool = false
    ) {
        response.add("etag", properties.etag)
        response.add("last-modified", AzureDate.rfc1123(properties.lastModified))
        for (name, value) in properties.metadata.sorted(by: { $0.key < $1.key }) {
            response.add("x-ms-meta-\(name)", value)
        }
        guard !metadataOnly else { return }
        response.add("content-type", "application/octet-stream")
        response.add("accept-ranges", "bytes")
        response.add("x-ms-creation-time", AzureDate.rfc1123(properties.creationTime))
        response.add("x-ms-blob-type", properties.type.rawValue)
        response.add("x-ms-blob-sequence-number", properties.sequenceNumber.map(String.init))
        response.add("x-ms-lease-state", properties.lease.state.rawValue)
        response.add("x-ms-lease-status", properties.lease.isLocked ? "locked" : "unlocked")
        if properties.lease.state == .leased {
            response.add("x-ms-lease-duration", (properties.lease.duration ?? .fixed).rawValue)
        }
        response.add("x-ms-server-encrypted", "false")
    }

    static func addWriteResult(_ result: BlobWriteResult, to response: inout StorageResponse) {
        response.add("etag", result.etag)
        response.add("last-modified", AzureDate.rfc1123(result.lastModified))
        response.add("x-ms-blob-sequence-number", result.sequenceNumber.map(String.init))
        response.add("x-ms-request-server-encrypted", "false")
    }

    /// Checks `x-ms-content-crc64` (and that it does not come with `Content-MD5`); answers the CRC of the
    /// body in header form, or nil when the request carried none.
    static func checkCRC64(_ request: StorageRequest) throws -> [UInt8]? {
        guard let text = request.header("x-ms-content-crc64") else { return nil }
        guard let sent = Data(base64Encoded: text), sent.count == 8 else {
            throw StorageError(
                .invalidHeaderValue, status: 400, "x-ms-content-crc64 must be the Base64 of 8 bytes, not '\(text)'")
        }
        guard request.header("content-md5") == nil else {
            throw StorageError(.invalidHeaderValue, status: 400, "send Content-MD5 or x-ms-content-crc64, not both")
        }
        let crc = CRC64.headerBytes(request.body)
        guard [UInt8](sent) == crc else {
            throw StorageError(.crc64Mismatch, status: 400, "the x-ms-content-crc64 does not match the body's CRC-64")
        }
        return crc
    }

    static func md5Header(_ request: StorageRequest) throws -> [UInt8]? {
        guard let text = request.header("content-md5") else { return nil }
        guard let bytes = Data(base64Encoded: text), bytes.count == 16 else {
            throw StorageError(
                .invalidHeaderValue, status: 400, "Content-MD5 must be the Base64 of 16 bytes, not '\(text)'")
        }
        return [UInt8](bytes)
    }

    // MARK: Operations

    static func putBlob(_ request: StorageRequest, blob: BlobAddress, account: Account) async throws -> StorageResponse
    {
        let type = try request.requiredHeader("x-ms-blob-type")
        try await checkTimeConditions(request, blob: blob, account: account)
        var response = StorageResponse(status: 201)
        switch type {
        case BlobType.blockBlob.rawValue:
            let crc = try checkCRC64(request)
            let md5 = MD5.digest(request.body)
            if let sent = try md5Header(request), sent != md5 {
                throw StorageError(.md5Mismatch, status: 400, "Put Blob: the Content-MD5 does not match the body's MD5")
            }
            let result = try await account.blob.putBlockBlob(
                blob, data: request.body, metadata: request.metadata, conditions: try conditions(request))
            addWriteResult(result, to: &response)
            response.add("content-md5", Data(md5).base64EncodedString())
            response.add("x-ms-content-crc64", crc.map { Data($0).base64EncodedString() })
        case BlobType.pageBlob.rawValue:
            guard request.body.isEmpty else {
                throw StorageError(
                    .invalidHeaderValue, status: 400, "Put Blob of a page blob takes no body (Content-Length must be 0)"
                )
            }
            guard let size = try request.intHeader("x-ms-blob-content-length") else {
                throw StorageError(
                    .missingRequiredHeader, status: 400, "Put Blob of a page blob needs x-ms-blob-content-length")
            }
            guard size >= 0 else {
                throw StorageError(.invalidHeaderValue, status: 400, "x-ms-blob-content-length must not be negative")
            }
            let sequenceNumber = try request.intHeader("x-ms-blob-sequence-number") ?? 0
            let result = try await account.blob.createPageBlob(
                blob, size: UInt64(size), sequenceNumber: sequenceNumber, metadata: request.metadata,
                conditions: try conditions(request))
            addWriteResult(result, to: &response)
            // Put Blob answers no sequence number; only page writes and property changes do.
            response.headers.removeAll { $0.name == "x-ms-blob-sequence-number" }
        default:
            throw StorageError(
                .invalidHeaderValue, status: 400,
                "x-ms-blob-type '\(type)' is not supported here (BlockBlob or PageBlob)")
        }
        return response
    }

    /// Reads larger than this are streamed in chunks of this size, so no read holds a whole blob.
    static let readChunkBytes = 4 << 20

    static func getBlob(_ request: StorageRequest, blob: BlobAddress, account: Account) async throws -> StorageResponse
    {
        try await checkTimeConditions(request, blob: blob, account: account)
        let requested = try request.byteRange()
        let conditions = try conditions(request)
        let snapshot = request.query["snapshot"]
        let properties = try await account.blob.blobProperties(blob, snapshot: snapshot, conditions: conditions)
        // The bytes to send: the whole blob, or the range clipped to its end (a start past the end is
        // left to the service, which answers 416 InvalidRange).
        let start = requested?.start ?? 0
        let end = min(requested?.end.map { $0 + 1 } ?? properties.size, properties.size)
        if start >= end || end - start <= UInt64(readChunkBytes) {
            let range = requested.map {
                ByteRange(offset: $0.start, length: ($0.end.map { $0 + 1 } ?? UInt64.max) - $0.start)
            }
            let content = try await account.blob.getBlob(blob, range: range, snapshot: snapshot, conditions: conditions)
            var response = StorageResponse(status: requested == nil ? 200 : 206, body: content.data)
            addProperties(content.properties, to: &response)
            if requested != nil {
                try addRangeHeaders(
                    request, start: start, data: content.data, size: content.properties.size, to: &response)
            }
            return response
        }
        // Large: stream chunk by chunk, each read pinned to the ETag the headers announce, so a blob that
        // changes meanwhile breaks the connection instead of mixing two versions.
        if request.header("x-ms-range-get-content-md5") == "true" {
            throw StorageError(
                .outOfRangeInput, status: 400, "x-ms-range-get-content-md5 needs a range of at most 4 MiB")
        }
        var response = StorageResponse(status: requested == nil ? 200 : 206)
        addProperties(properties, to: &response)
        if requested != nil { response.add("content-range", "bytes \(start)-\(end - 1)/\(properties.size)") }
        var pinned = conditions
        pinned.ifMatch = properties.etag
        let chunkConditions = pinned
        let service = account.blob
        response.stream = StorageResponse.Stream(length: end - start) { emit in
            var offset = start
            while offset < end {
                let length = min(UInt64(readChunkBytes), end - offset)
                let chunk = try await service.getBlob(
                    blob, range: ByteRange(offset: offset, length: length), snapshot: snapshot,
                    conditions: chunkConditions)
                guard UInt64(chunk.data.count) == length else {
                    throw StorageError(.internalError, status: 500, "\(blob) shrank while it was being read")
                }
                try await emit(ByteBuffer(bytes: chunk.data))
                offset += length
            }
        }
        return response
    }

    static func addRangeHeaders(
        _ request: StorageRequest, start: UInt64, data: [UInt8], size: UInt64, to response: inout StorageResponse
    ) throws {
        let last = data.isEmpty ? start : start + UInt64(data.count) - 1
        response.add("content-range", "bytes \(start)-\(last)/\(size)")
        if request.header("x-ms-range-get-content-md5") == "true" {
            guard data.count <= maxPageWriteBytes else {
                throw StorageError(
                    .outOfRangeInput, status: 400, "x-ms-range-get-content-md5 needs a range of at most 4 MiB")
            }
            response.add("content-md5", Data(MD5.digest(data)).base64EncodedString())
        }
    }

    static func putPage(_ request: StorageRequest, blob: BlobAddress, account: Account) async throws -> StorageResponse
    {
        let write = try request.requiredHeader("x-ms-page-write")
        guard let range = try request.byteRange() else {
            throw StorageError(
                .missingRequiredHeader, status: 400, "Put Page needs x-ms-range (or Range) bytes=START-END")
        }
        guard let end = range.end, range.start % 512 == 0, (end + 1) % 512 == 0 else {
            throw StorageError(
                .invalidPageRange, status: 416,
                "The page range specified is invalid: \(range.start)-\(range.end.map(String.init) ?? "") must start and end on 512-byte page boundaries"
            )
        }
        let length = end - range.start + 1
        try await checkTimeConditions(request, blob: blob, account: account)
        var response = StorageResponse(status: 201)
        switch write {
        case "update":
            guard UInt64(request.body.count) == length else {
                throw StorageError(
                    .invalidHeaderValue, status: 400,
                    "Put Page: Content-Length \(request.body.count) differs from the range's length \(length)")
            }
            let crc = try checkCRC64(request)
            let md5 = try md5Header(request)
            let result = try await account.blob.putPages(
                blob, offset: range.start, data: request.body, checksum: md5.map(PageChecksum.md5),
                conditions: try conditions(request))
            addWriteResult(result, to: &response)
            if let md5 { response.add("content-md5", Data(md5).base64EncodedString()) }
            // Azure also answers a CRC-64 it computes when none was sent; no client needs that one, and it
            // would cost a pass over every 4 MiB written, so only a checked CRC is echoed (as Content-MD5 is).
            response.add("x-ms-content-crc64", crc.map { Data($0).base64EncodedString() })
        case "clear":
            guard request.body.isEmpty, request.header("content-md5") == nil else {
                throw StorageError(
                    .invalidHeaderValue, status: 400,
                    "Put Page with x-ms-page-write: clear takes no body and no Content-MD5")
            }
            let result = try await account.blob.clearPages(
                blob, range: ByteRange(offset: range.start, length: length), conditions: try conditions(request))
            addWriteResult(result, to: &response)
        default:
            throw StorageError(
                .invalidHeaderValue, status: 400, "x-ms-page-write must be update or clear, not '\(write)'")
        }
        return response
    }

    static func pageRanges(_ request: StorageRequest, blob: BlobAddress, account: Account) async throws
        -> StorageResponse
    {
        let range = try request.byteRange().map { requested in
            ByteRange(offset: requested.start, length: (requested.end.map { $0 + 1 } ?? UInt64.max) - requested.start)
        }
        let maxResults = try request.intQuery("maxresults", default: 10_000, range: 1...Int.max)
        let marker: UInt64
        if let text = request.query["marker"], !text.isEmpty {
            guard let value = UInt64(text) else {
                throw StorageError(
                    .invalidQueryParameterValue, status: 400, "marker '\(text)' is not a marker this server issued")
            }
            marker = value
        } else {
            marker = 0
        }
        try await checkTimeConditions(request, blob: blob, account: account)
        let snapshot = request.query["snapshot"]
        let list = try await account.blob.pageRanges(
            blob, range: range, snapshot: snapshot, previousSnapshot: request.query["prevsnapshot"],
            conditions: try conditions(request))
        let properties = try await account.blob.blobProperties(blob, snapshot: snapshot, conditions: .none)
        // One sorted list of both kinds, paged by offset: the marker is where the next page starts.
        let all =
            (list.pageRanges.map { (clear: false, range: $0) } + list.clearRanges.map { (clear: true, range: $0) })
            .filter { $0.range.offset >= marker }
            .sorted { $0.range.offset < $1.range.offset }
        let page = all.prefix(min(maxResults, 10_000))
        var xml = XMLText.declaration + "<PageList>"
        for item in page {
            let element = item.clear ? "ClearRange" : "PageRange"
            xml += "<\(element)><Start>\(item.range.offset)</Start><End>\(item.range.end - 1)</End></\(element)>"
        }
        if all.count > page.count {
            xml += "<NextMarker>\(all[page.count].range.offset)</NextMarker>"
        } else {
            xml += "<NextMarker />"
        }
        xml += "</PageList>"
        var response = StorageResponse(status: 200, body: Array(xml.utf8))
        response.add("content-type", "application/xml")
        response.add("etag", properties.etag)
        response.add("last-modified", AzureDate.rfc1123(properties.lastModified))
        response.add("x-ms-blob-content-length", String(properties.size))
        return response
    }

    static func setProperties(_ request: StorageRequest, blob: BlobAddress, account: Account) async throws
        -> StorageResponse
    {
        try await checkTimeConditions(request, blob: blob, account: account)
        let conditions = try conditions(request)
        var result: BlobWriteResult?
        if let size = try request.intHeader("x-ms-blob-content-length") {
            guard size >= 0 else {
                throw StorageError(.invalidHeaderValue, status: 400, "x-ms-blob-content-length must not be negative")
            }
            result = try await account.blob.resizePageBlob(blob, size: UInt64(size), conditions: conditions)
        }
        if let actionText = request.header("x-ms-sequence-number-action") {
            let value = try request.intHeader("x-ms-blob-sequence-number")
            let action: SequenceNumberAction
            switch (actionText, value) {
            case ("max", let value?): action = .max(value)
            case ("update", let value?): action = .update(value)
            case ("increment", nil): action = .increment
            case ("increment", _?):
                throw StorageError(
                    .invalidHeaderValue, status: 400,
                    "x-ms-blob-sequence-number is not allowed with x-ms-sequence-number-action: increment")
            case ("max", nil), ("update", nil):
                throw StorageError(
                    .missingRequiredHeader, status: 400,
                    "x-ms-sequence-number-action: \(actionText) needs x-ms-blob-sequence-number")
            default:
                throw StorageError(
                    .invalidHeaderValue, status: 400,
                    "x-ms-sequence-number-action must be max, update or increment, not '\(actionText)'")
            }
            result = try await account.blob.setSequenceNumber(blob, action, conditions: conditions)
        }
        var response = StorageResponse(status: 200)
        if let result {
            addWriteResult(result, to: &response)
        } else {
            // Only content headers, which this server does not keep: the blob is unchanged.
            let properties = try await account.blob.blobProperties(blob, snapshot: nil, conditions: conditions)
            response.add("etag", properties.etag)
            response.add("last-modified", AzureDate.rfc1123(properties.lastModified))
            response.add("x-ms-blob-sequence-number", properties.sequenceNumber.map(String.init))
        }
        return response
    }

    static func lease(_ request: StorageRequest, blob: BlobAddress, account: Account) async throws -> StorageResponse {
        let actionText = try request.requiredHeader("x-ms-lease-action")
        let id = request.header("x-ms-lease-id")
        func requireID() throws -> String {
            guard let id else {
                throw StorageError(
                    .missingRequiredHeader, status: 400, "x-ms-lease-action: \(actionText) needs x-ms-lease-id")
            }
            return id
        }
        let action: LeaseAction
        var status = 200
        switch actionText {
        case "acquire":
            let duration = try request.intHeader("x-ms-lease-duration") ?? -1
            guard duration == -1 || (15...60).contains(duration) else {
                throw StorageError(
                    .invalidHeaderValue, status: 400, "x-ms-lease-duration must be -1 or 15…60, not \(duration)")
            }
            action = .acquire(
                duration == -1 ? .infinite : .seconds(Int(duration)),
                proposedID: request.header("x-ms-proposed-lease-id"))
            status = 201
        case "renew": action = .renew(id: try requireID())
        case "release": action = .release(id: try requireID())
        case "change":
            action = .change(id: try requireID(), proposedID: try request.requiredHeader("x-ms-proposed-lease-id"))
        case "break":
            let period = try request.intHeader("x-ms-lease-break-period")
            if let period, !(0...60).contains(period) {
                throw StorageError(
                    .invalidHeaderValue, status: 400, "x-ms-lease-break-period must be 0…60, not \(period)")
            }
            action = .break(period: period.map { Int($0) })
            status = 202
        default:
            throw StorageError(
                .invalidHeaderValue, status: 400,
                "x-ms-lease-action must be acquire, renew, change, release or break, not '\(actionText)'")
        }
        try await checkTimeConditions(request, blob: blob, account: account)
        let result = try await account.blob.lease(
            blob, action, conditions: try conditions(request, includeLease: false))
        var response = StorageResponse(status: status)
        response.add("etag", result.etag)
        response.add("last-modified", AzureDate.rfc1123(Date()))
        if case .release = action {} else { response.add("x-ms-lease-id", result.leaseID) }
        response.add("x-ms-lease-time", result.leaseTime.map(String.init))
        return response
    }

    static func listBlobs(_ request: StorageRequest, container: String, account: Account) async throws
        -> StorageResponse
    {
        guard request.query["delimiter"] == nil else { throw StorageError.unsupported("List Blobs with a delimiter") }
        let query = try ListingQuery(request)
        let listing = try await account.blob.listBlobs(
            container: container, prefix: query.prefix, marker: query.marker, maxResults: query.maxResults)
        var items = ""
        for item in listing.items {
            let p = item.properties
            items += "<Blob><Name>\(XMLText.escape(item.name))</Name><Properties>"
            items +=
                "<Creation-Time>\(AzureDate.rfc1123(p.creationTime))</Creation-Time><Last-Modified>\(AzureDate.rfc1123(p.lastModified))</Last-Modified>"
            items +=
                "<Etag>\(XMLText.escape(p.etag))</Etag><Content-Length>\(p.size)</Content-Length><Content-Type>application/octet-stream</Content-Type>"
            if let sequenceNumber = p.sequenceNumber {
                items += "<x-ms-blob-sequence-number>\(sequenceNumber)</x-ms-blob-sequence-number>"
            }
            items +=
                "<BlobType>\(p.type.rawValue)</BlobType><LeaseStatus>\(p.lease.isLocked ? "locked" : "unlocked")</LeaseStatus>"
            items += "<LeaseState>\(p.lease.state.rawValue)</LeaseState>"
            if p.lease.state == .leased {
                items += "<LeaseDuration>\((p.lease.duration ?? .fixed).rawValue)</LeaseDuration>"
            }
            items += "<ServerEncrypted>false</ServerEncrypted></Properties>"
            if query.includeMetadata {
                items +=
                    "<Metadata>"
                    + p.metadata.sorted { $0.key < $1.key }.map { "<\($0.key)>\(XMLText.escape($0.value))</\($0.key)>" }
                    .joined() + "</Metadata>"
            }
            items += "</Blob>"
        }
        return query.answer(
            account: account.name, container: container, collection: "Blobs", items: items, next: listing.nextMarker)
    }

    // MARK: Containers

    /// List Containers (`GET /?comp=list`): `prefix`, `marker`, `maxresults` (1–5000, default 5000) and
    /// `include=metadata` (containers keep none here, so each lists an empty `<Metadata />`).
    static func listContainers(_ request: StorageRequest, account: Account) async throws -> StorageResponse {
        let query = try ListingQuery(request)
        let page = try await account.local.blob.listContainers(
            prefix: query.prefix, marker: query.marker, maxResults: query.maxResults)
        var items = ""
        for item in page.items {
            items += "<Container><Name>\(XMLText.escape(item.name))</Name><Properties>"
            items +=
                "<Last-Modified>\(AzureDate.rfc1123(item.created))</Last-Modified><Etag>\(containerETag(item.created))</Etag>"
            items += "<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>"
            items += "<HasImmutabilityPolicy>false</HasImmutabilityPolicy>"
            items += "<HasLegalHold>false</HasLegalHold></Properties>"
            if query.includeMetadata { items += "<Metadata />" }
            items += "</Container>"
        }
        return query.answer(account: account.name, collection: "Containers", items: items, next: page.next)
    }

    /// Delete Container: `202`, its blobs gone with it whatever their leases. The container itself is
    /// never leased here, so a lease id is refused as Azure refuses one for an unleased container;
    /// If-Modified-Since and If-Unmodified-Since compare with its creation, its only change.
    static func deleteContainer(_ request: StorageRequest, container: String, account: Account) async throws
        -> StorageResponse
    {
        if request.header("x-ms-lease-id") != nil {
            throw StorageError(
                .leaseNotPresentWithContainerOperation, status: 412,
                "There is currently no lease on the container \(container).")
        }
        if request.header("if-match") != nil || request.header("if-none-match") != nil {
            throw StorageError(
                .invalidHeaderValue, status: 400,
                "Delete Container takes If-Modified-Since and If-Unmodified-Since, not ETag conditions")
        }
        let modifiedSince = try request.dateHeader("if-modified-since")
        let unmodifiedSince = try request.dateHeader("if-unmodified-since")
        try await account.local.blob.deleteContainer(container) { created in
            let lastModified = created.timeIntervalSince1970.rounded(.down)
            if let modifiedSince, lastModified <= modifiedSince.timeIntervalSince1970 { throw conditionFailed }
            if let unmodifiedSince, lastModified > unmodifiedSince.timeIntervalSince1970 { throw conditionFailed }
        }
        return StorageResponse(status: 202)
    }

    /// A container's ETag, from the time it changed (its creation), in Azure's form.
    static func containerETag(_ time: Date) -> String {
        "\"0x\(String(UInt64(time.timeIntervalSince1970 * 1000), radix: 16, uppercase: true))\""
    }

    static let conditionFailed = StorageError(
        .conditionNotMet, status: 412, "The condition specified using HTTP conditional header(s) is not met.")
}
