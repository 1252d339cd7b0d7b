import Foundation
import RelayShared
import TestSupport

/// The client's side of the replication contract, for worker tests that do not wait for relay-client:
/// creates the target page blob (identity metadata, fixed VHD footer) and its `target` row, builds
/// segments with `SegmentWriter`, records `gen-` rows, uploads temp blobs and enqueues control messages
/// exactly as docs/replication-contract.md says.
struct Producer {
    /// One extent of a test segment: bytes to write, or a length to clear.
    enum Extent {
        case write(UInt64, [UInt8])
        case clear(UInt64, Int)
    }

    /// A built segment and its control message.
    struct Sent {
        var message: ControlMessage
        var bytes: [UInt8]
    }

    let services: StorageServices
    let target: TargetName
    let identity: TargetIdentity
    var queue = ControlNames.defaultQueue
    var table = ControlNames.defaultTable
    var container = ControlNames.defaultContainer
    private(set) var nextSeq: UInt64 = 1
    private(set) var generation: UInt64 = 0

    var diskSize: UInt64 { VHDFooter.targetSize(forVirtualSize: identity.virtualSize) }
    var footer: [UInt8] {
        VHDFooter.fixedTarget(
            virtualSize: identity.virtualSize, uniqueID: identity.sourceID,
            timestamp: Date(timeIntervalSince1970: 1_700_000_000)
        ).serialized()
    }

    /// Creates the storage, the target page blob with its footer and identity, and the `target` row.
    static func create(services: StorageServices, target: TargetName, virtualSize: UInt64, sourceID: UUID = UUID())
        async throws -> Producer
    {
        let producer = Producer(
            services: services, target: target, identity: TargetIdentity(sourceID: sourceID, virtualSize: virtualSize))
        for container in [target.container, producer.container] {
            do { try await services.blob.createContainer(container) } catch let error as StorageError
                where error.status == 409
            {}
        }
        do { try await services.table.createTable(producer.table) } catch let error as StorageError
            where error.status == 409
        {}
        try await services.queue.createQueue(producer.queue)
        try await services.blob.createPageBlob(
            target.address, size: producer.diskSize + 512, sequenceNumber: 0,
            metadata: producer.identity.metadata, conditions: .none)
        try await services.blob.putPages(
            target.address, offset: producer.diskSize, data: producer.footer, checksum: nil, conditions: .none)
        try await services.table.insert(producer.table, TargetRow(target: target, identity: producer.identity).entity)
        try await services.table.insert(producer.table, KnownTargetRow(target: target).entity)
        return producer
    }

    /// Builds one generation of `segments` (each a list of extents in disk order), reserves their seqs
    /// in the `target` row and records the `gen-` row. Nothing is uploaded or enqueued yet.
    mutating func generation(_ segments: [[Extent]], codec: Codec = .zstd(level: 1)) async throws -> [Sent] {
        precondition(!segments.isEmpty, "a generation has at least one segment")
        generation += 1
        let first = nextSeq
        var sent: [Sent] = []
        for (index, extents) in segments.enumerated() {
            let last = index == segments.count - 1
            sent.append(
                try build(
                    extents, generation: generation, seq: first + UInt64(index),
                    generationSegmentCount: last ? UInt64(segments.count) : nil, codec: codec))
        }
        nextSeq = first + UInt64(segments.count)
        let row = try await services.table.get(table, partitionKey: target.key, rowKey: ControlNames.targetRow)
        var targetRow = try TargetRow(entity: row)
        targetRow.nextSeq = nextSeq
        targetRow.lastGeneration = generation
        try await services.table.update(table, targetRow.entity, mode: .replace, ifMatch: .etag(row.etag!))
        try await services.table.insert(
            table,
            GenerationRow(
                target: target, generation: generation, firstSeq: first, full: generation == 1,
                host: "test", startedAt: Date()
            ).entity)
        return sent
    }

    /// Builds the segment of `seq` in `generation` from `extents` (disk order), with its message; a
    /// resend of a seq builds it again, with another codec for other bytes.
    func build(
        _ extents: [Extent], generation: UInt64, seq: UInt64, generationSegmentCount: UInt64?,
        codec: Codec = .zstd(level: 1)
    ) throws -> Sent {
        let writer = SegmentWriter(compressor: try FrameCompressor(codec: codec))
        for extent in extents {
            switch extent {
            case .write(let offset, let bytes):
                try bytes.withUnsafeBytes { try writer.appendWrite(offset: offset, bytes: $0) }
            case .clear(let offset, let length): try writer.appendClear(offset: offset, length: length)
            }
        }
        let bytes = writer.finish(
            header: SegmentHeader(
                targetID: target.segmentTargetID, generation: generation, seq: seq,
                flags: generationSegmentCount != nil ? .lastOfGeneration : []))
        let reader = try SegmentReader(bytes, diskSize: diskSize)
        let span =
            reader.extents.first.map {
                ByteRange(offset: $0.offset, length: reader.extents.last!.range.end - $0.offset)
            }
            ?? ByteRange(offset: 0, length: 0)
        let message = ControlMessage(
            target: target, generation: generation, seq: seq, segmentBytes: bytes.count, segmentDigest: reader.digest,
            plainBytes: reader.plainBytes, extentCount: reader.extents.count, span: span,
            generationSegmentCount: generationSegmentCount)
        return Sent(message: message, bytes: bytes)
    }

    /// Uploads the temp blob of `segment`, then enqueues its message (the client's order).
    func send(_ segment: Sent) async throws {
        try await upload(segment)
        try await enqueue(segment.message.encoded())
    }

    func upload(_ segment: Sent) async throws {
        try await services.blob.putBlockBlob(
            BlobAddress(container: container, name: segment.message.blob), data: segment.bytes,
            metadata: [:], conditions: .none)
    }

    func enqueue(_ text: String) async throws {
        try await services.queue.putMessage(queue, text: text, visibilityTimeout: 0, timeToLive: nil)
    }

    /// The target blob: its data area and its footer.
    func readTarget() async throws -> (data: [UInt8], footer: [UInt8]) {
        let blob = try await services.blob.getBlob(target.address, range: nil, snapshot: nil, conditions: .none).data
        return (Array(blob[..<Int(diskSize)]), Array(blob[Int(diskSize)...]))
    }
}

/// The reference applier over a temporary file, fed in seq order.
struct Oracle {
    let directory: TemporaryDirectory
    let applier: ReferenceApplier

    init(target: TargetName, diskSize: UInt64) throws {
        directory = try TemporaryDirectory()
        applier = try ReferenceApplier(path: directory.file("oracle"), target: target, diskSize: diskSize)
    }

    func apply(_ segments: [Producer.Sent]) throws {
        for segment in segments.sorted(by: { $0.message.seq < $1.message.seq }) { try applier.apply(segment.bytes) }
    }

    var bytes: [UInt8] { get throws { try applier.read(ByteRange(offset: 0, length: applier.diskSize)) } }
}
