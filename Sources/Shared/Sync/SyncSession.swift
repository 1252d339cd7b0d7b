import Foundation

/// One `relay-client sync` of a source into a target: takes the locks, creates or checks the target,
/// starts or resumes a generation, and runs the pipeline (docs/replication-contract.md, "Client pipeline"):
///
/// ```
/// read + hash + diff (1 thread) ─▶ compress (N threads) ─▶ upload temp blobs (M connections) ─▶ enqueue in seq order
/// ```
/// A task group with a fixed window bounds the segments in flight (and so the memory); reading and
/// compressing run on dedicated threads, never on Swift's cooperative pool.
public final class SyncSession: Sendable {
    public struct Request: Sendable {
        public var source: String
        public var target: TargetName
        public var options: SyncOptions
        /// The state directory root and the store's folder in it (`ClientState`).
        public var stateRoot: String
        public var storeFolder: String

        public init(source: String, target: TargetName, options: SyncOptions, stateRoot: String, storeFolder: String) {
            self.source = source
            self.target = target
            self.options = options
            self.stateRoot = stateRoot
            self.storeFolder = storeFolder
        }
    }

    public let request: Request
    public let control: TargetControl
    public let counters = SyncCounters()
    /// Notes for people (warnings, the reason for a full sync), one line each.
    let note: @Sendable (String) -> Void

    /// Seqs reserved in the `target` row at a time; the unused ones are given back when the generation ends.
    static let reservationChunk: UInt64 = 16

    public init(services: StorageServices, request: Request, note: @escaping @Sendable (String) -> Void = { _ in }) {
        self.request = request
        control = TargetControl(
            services: services, target: request.target, table: request.options.table,
            queue: request.options.queue, segmentsContainer: request.options.segmentsContainer)
        self.note = note
    }

    public func run() async throws -> SyncSummary {
        try request.options.validate()
        let started = ContinuousClock.now
        let statePool = try BlockingPool<Void>(name: "relay-sync-state", threads: 1) { () }
        defer { statePool.shutdown() }
        let request = request
        let (disk, stamp) = try await statePool.run { _ in
            let disk = try DiskImage.open(request.source)
            return (disk, try SourceStamp(path: request.source))
        }
        for warning in disk.warnings { note("warning: \(warning)") }
        guard disk.virtualSize > 0, disk.virtualSize <= SyncOptions.maxVirtualSize else {
            throw SyncError(
                .invalidArgument,
                "\(request.source): a virtual size of \(disk.virtualSize) bytes cannot be a page blob "
                    + "(1 byte to 8 TiB)")
        }
        let state = try await statePool.run { _ in
            try ClientState.open(root: request.stateRoot, store: request.storeFolder, target: request.target)
        }
        defer { state.close() }
        try await control.ensureResources()
        let sourceID: UUID
        if let id = disk.uniqueID {
            sourceID = id
        } else {
            let existing = try await control.blobIdentity()?.identity.sourceID
            sourceID = try await statePool.run { _ in try state.rawSourceID(adopting: existing) }
        }
        let identity = TargetIdentity(sourceID: sourceID, virtualSize: disk.virtualSize)
        let leaseID = try await statePool.run { _ in try state.leaseID() }
        let holder = ClientLockHolder(host: ProcessInfo.processInfo.hostName, processID: getpid(), startedAt: Date())
        let lock = try await ClientLock.acquire(
            service: control.services.blob, container: request.options.segmentsContainer,
            target: request.target, leaseID: leaseID, holder: holder,
            renewInterval: request.options.lockRenewInterval)
        do {
            var summary = try await runLocked(
                disk: disk, stamp: stamp, identity: identity, state: state, statePool: statePool,
                lock: lock, host: holder.host)
            await lock.release()
            summary.seconds = (ContinuousClock.now - started).seconds
            return summary
        } catch {
            await lock.release()
            throw error
        }
    }

    // MARK: Target and generation

    /// The `target` row, after creating the target or checking that it was made from this source.
    private func prepareTarget(identity: TargetIdentity) async throws -> TargetRow {
        let target = request.target
        let expectedSize = VHDFooter.targetSize(forVirtualSize: identity.virtualSize) + UInt64(VHDFooter.size)
        if let existing = try await control.blobIdentity() {
            try existing.identity.check(matches: identity, target: target)
            guard existing.size == expectedSize else {
                throw SyncError(
                    .targetMismatch,
                    "\(target): the page blob is \(existing.size) bytes, a target of this source is "
                        + "\(expectedSize); it was resized by someone else: use another target")
            }
        } else {
            if try await control.targetRow() != nil {
                throw SyncError(
                    .targetMismatch,
                    "\(target): the control table knows this target but its page blob is gone; "
                        + "use another target (or delete the target's rows in table \(control.table))")
            }
            try await control.createBlob(identity: identity)
        }
        if let row = try await control.targetRow() {
            try row.identity.check(matches: identity, target: target)
            return row
        }
        // No row yet: the blob is new, or an earlier attempt stopped before the row; the footer goes
        // first, so that a stored row always means a complete target.
        try await control.writeFooter(identity: identity)
        var row = TargetRow(target: target, identity: identity)
        do {
            let entity = row.entity
            row.etag = try await retryingTransient { try await control.services.table.insert(control.table, entity) }
            return row
        } catch let error as StorageError where error.code == .entityAlreadyExists {
            guard let stored = try await control.targetRow() else { throw error }
            try stored.identity.check(matches: identity, target: target)
            return stored
        }
    }

    /// Why the next generation must be full, or nil when the manifest allows an incremental one.
    private func fullSyncReason(
        row: TargetRow, lastRow: GenerationRow?, manifest: Result<Manifest?, any Error>,
        identity: TargetIdentity
    ) -> String? {
        if row.lastGeneration == 0 { return "first generation" }
        if request.options.full { return "--full was given" }
        if row.fullSyncRequired || lastRow?.state == .abandoned { return "the last generation was abandoned" }
        switch manifest {
        case .failure(let error): return "the local manifest is unusable (\(error))"
        case .success(nil): return "no local manifest for this target in the state directory"
        case .success(let manifest?):
            let header = manifest.header
            if header.generation != row.lastGeneration {
                return
                    "the local manifest describes generation \(header.generation), the target is at generation \(row.lastGeneration)"
            }
            if header.sourceID != identity.sourceID || header.virtualSize != identity.virtualSize
                || header.targetID != request.target.segmentTargetID
            {
                return "the local manifest describes another source or target"
            }
            if header.blockSize != request.options.blockSize {
                return "--block-size \(request.options.blockSize) differs from the manifest's \(header.blockSize)"
            }
            return nil
        }
    }

    // MARK: The generation

    private struct Plan: Sendable {
        var generation: UInt64
        var firstSeq: UInt64
        var full: Bool
        var fullReason: String?
        var resumed: Bool
        var journal: SyncJournal
        var writer: JournalWriter
        /// nil only when a resumed generation has its manifest committed already.
        var nextManifest: Manifest?
        var baselineManifest: Manifest?
    }

    private func runLocked(
        disk: any VirtualDisk, stamp: SourceStamp, identity: TargetIdentity, state: ClientState,
        statePool: BlockingPool<Void>, lock: ClientLock, host: String
    ) async throws -> SyncSummary {
        let options = request.options
        let target = request.target
        var targetRow = try await prepareTarget(identity: identity)
        try await control.list()
        let (journal, manifest) = try await statePool.run { _ in
            (try? SyncJournal.read(state.journalPath), Result { try Manifest.open(state.manifestPath) })
        }
        let lastGeneration = targetRow.lastGeneration
        let lastRow = lastGeneration > 0 ? try await control.generationRow(lastGeneration) : nil
        if let lastRow, lastRow.state == .sent {
            // The target cannot move past a poisoned seq: resend it before anything new.
            let poisoned = try await control.segmentRows().filter { $0.poisonReason != nil }
            if !poisoned.isEmpty {
                return try await resendPoisoned(
                    poisoned, of: lastRow, disk: disk, identity: identity, state: state,
                    statePool: statePool, lock: lock)
            }
        }

        var plan: Plan
        if let journal = journal ?? nil, let lastRow, journal.begin.generation == lastGeneration,
            journal.begin.firstSeq == lastRow.firstSeq, lastRow.state != .abandoned
        {
            plan = try await statePool.run { _ in
                let next =
                    journal.planned.last?.last == true
                        && !FileManager.default.fileExists(atPath: state.nextManifestPath)
                    ? nil : try? Manifest.open(state.nextManifestPath)
                return Plan(
                    generation: journal.begin.generation, firstSeq: journal.begin.firstSeq, full: journal.begin.full,
                    fullReason: journal.begin.full ? "resumed full generation" : nil, resumed: true, journal: journal,
                    writer: try JournalWriter(path: state.journalPath, truncate: false), nextManifest: next,
                    baselineManifest: try? manifest.get())
            }
            note(
                "resuming generation \(plan.generation) of \(target) from seq \(plan.firstSeq + UInt64(journal.planned.count))"
            )
        } else {
            if let lastRow, lastRow.state == .sending {
                throw SyncError(
                    .generationInProgress,
                    "\(target): generation \(lastGeneration) was started by host \(lastRow.host) at "
                        + "\(ISO8601DateFormatter().string(from: lastRow.startedAt)) and never finished; run sync there again "
                        + "with the same state directory to resume it, or `relay-client abandon --target \(target)`")
            }
            guard lastGeneration < ControlNames.maxGeneration else {
                throw SyncError(.targetMismatch, "\(target): the target has used every generation number")
            }
            let reason = fullSyncReason(row: targetRow, lastRow: lastRow, manifest: manifest, identity: identity)
            // A manifest that describes the last generation also bounds what a full sync must clear.
            let usableManifest = (try? manifest.get() ?? nil).flatMap { candidate in
                let header = candidate.header
                return header.generation == lastGeneration && header.sourceID == identity.sourceID
                    && header.virtualSize == identity.virtualSize && header.targetID == target.segmentTargetID
                    && lastRow?.state != .abandoned && !targetRow.fullSyncRequired ? candidate : nil
            }
            let begin = SyncJournal.Begin(
                generation: lastGeneration + 1, firstSeq: targetRow.nextSeq, full: reason != nil,
                blockSize: options.blockSize, sourceSize: stamp.size, sourceModified: stamp.modified)
            let header = Manifest.Header(
                blockSize: options.blockSize, virtualSize: identity.virtualSize, generation: begin.generation,
                sourceID: identity.sourceID, targetID: target.segmentTargetID)
            let (writer, next) = try await statePool.run { _ in
                let writer = try JournalWriter(path: state.journalPath, truncate: true)
                try writer.append(SyncJournal.line(begin: begin), sync: true)
                return (writer, try Manifest.create(state.nextManifestPath, header: header))
            }
            var row = targetRow
            row.lastGeneration = begin.generation
            let generationRow = GenerationRow(
                target: target, generation: begin.generation, firstSeq: begin.firstSeq,
                full: begin.full, host: host, startedAt: Date())
            let expected = row
            row.etag = try await retryingTransient {
                do {
                    let etags = try await control.services.table.transact(
                        control.table,
                        [
                            .update(expected.entity, .replace, ifMatch: targetRow.etag.map(ETagCondition.etag) ?? .any),
                            .insert(generationRow.entity),
                        ])
                    return etags.first ?? nil
                } catch let error as StorageError where error.status == 412 || error.status == 409 || error.isRetryable
                {
                    // Landed already if both rows read back as written (an attempt whose answer was lost).
                    let stored = try await control.targetRow()
                    let storedGeneration = try await control.generationRow(begin.generation)
                    if let stored, stored.entity.properties == expected.entity.properties,
                        storedGeneration?.firstSeq == begin.firstSeq,
                        storedGeneration?.host == host, storedGeneration?.state == .sending
                    {
                        return stored.etag
                    }
                    if error.isRetryable { throw error }
                    throw SyncError(
                        .lockLost,
                        "\(target): the control rows changed while this client held the lock (\(error)); sync again")
                }
            }
            targetRow = row
            if let reason { note("full sync of \(target): \(reason)") }
            plan = Plan(
                generation: begin.generation, firstSeq: begin.firstSeq, full: begin.full, fullReason: reason,
                resumed: false,
                journal: SyncJournal(begin: begin), writer: writer, nextManifest: next,
                baselineManifest: usableManifest)
        }

        var pipeline = Pipeline(session: self, plan: plan, targetRow: targetRow, statePool: statePool, lock: lock)
        try await pipeline.resend()
        if plan.journal.planned.last?.last != true {
            try await pipeline.send(disk: disk, state: state)
        }
        return try await finish(pipeline: pipeline, state: state, statePool: statePool, stamp: stamp)
    }

    private func finish(pipeline: Pipeline, state: ClientState, statePool: BlockingPool<Void>, stamp: SourceStamp)
        async throws -> SyncSummary
    {
        let plan = pipeline.plan
        let journal = pipeline.plan.journal
        guard let last = journal.planned.last, last.last else {
            preconditionFailure("a sent generation ends with its last segment")
        }
        let lastSeq = last.seq
        // The manifest moves forward only now that every segment of the generation is enqueued.
        let next = plan.nextManifest
        try await statePool.run { _ in
            if let next {
                try next.file.sync()
                try state.rename(state.nextManifestPath, to: state.manifestPath)
            }
        }
        var targetRow = pipeline.targetRow
        if targetRow.nextSeq != lastSeq + 1 || (plan.full && targetRow.fullSyncRequired) {
            let etag = targetRow.etag
            targetRow.nextSeq = lastSeq + 1
            if plan.full { targetRow.fullSyncRequired = false }
            targetRow.etag = try await control.replaceTargetRow(targetRow, ifMatch: etag)
        }
        var plainBytes: UInt64 = 0
        var storedBytes: UInt64 = 0
        for planned in journal.planned {
            let message = try ControlMessage(parsing: planned.message)
            plainBytes += message.plainBytes
            storedBytes += UInt64(message.segmentBytes)
        }
        let now = try await statePool.run { [request] _ in try SourceStamp(path: request.source) }
        let begin = journal.begin
        let sourceChanged = now != stamp || now.size != begin.sourceSize || now.modified != begin.sourceModified
        if sourceChanged {
            note(
                "warning: \(request.source) changed while it was read (size or modification time moved): generation "
                    + "\(begin.generation) is only crash-consistent; sync again from a quiesced disk or a snapshot")
        }
        let (plain, stored) = (plainBytes, storedBytes)
        try await control.updateGeneration(begin.generation) { row in
            if row.state == .sending { row.state = .sent }
            row.lastSeq = lastSeq
            row.sentAt = Date()
            row.plainBytes = plain
            row.storedBytes = stored
            row.sourceChanged = sourceChanged
        }
        // Kept for a resend of a seq of this generation that the worker refuses (`PoisonResend`).
        try await statePool.run { _ in try state.rename(state.journalPath, to: state.sentJournalPath) }
        let counts = counters.snapshot
        return SyncSummary(
            target: request.target.description, generation: begin.generation, firstSeq: begin.firstSeq,
            lastSeq: lastSeq,
            segments: lastSeq - begin.firstSeq + 1, full: plan.full, fullReason: plan.fullReason, resumed: plan.resumed,
            sourceChanged: sourceChanged, scannedBytes: counts.scannedBytes, changedBytes: counts.changedBytes,
            clearedBytes: counts.clearedBytes, plainBytes: plainBytes, sentBytes: storedBytes, seconds: 0,
            uploadSeconds: counts.firstUpload.flatMap { first in counts.lastUpload.map { ($0 - first).seconds } } ?? 0,
            snapshot: nil, applied: false)
    }

    // MARK: Pipeline

    /// The sending half of a generation; its state lives in one task (the sync's), the stages in children
    /// (the enqueue stage works on a copy and hands back the journal and `target` row it moved on).
    private struct Pipeline: Sendable {
        let session: SyncSession
        var plan: Plan
        var targetRow: TargetRow
        let statePool: BlockingPool<Void>
        let lock: ClientLock

        struct Uploaded: Sendable {
            var message: ControlMessage
            var scanEnd: Int
            var last: Bool
            var extents: [PlannedExtent]
        }

        /// Puts again every message planned by an earlier run but not known to be enqueued.
        mutating func resend() async throws {
            for planned in plan.journal.planned where !plan.journal.enqueued.contains(planned.seq) {
                try await put(seq: planned.seq, text: planned.message)
            }
        }

        /// Scans the source from where the journal ends and sends the rest of the generation.
        mutating func send(disk: any VirtualDisk, state: ClientState) async throws {
            let options = session.request.options
            let control = session.control
            let counters = session.counters
            let plan = plan
            let startIndex = UInt64(plan.journal.planned.count)
            var startBlock = plan.journal.planned.last?.scanEnd ?? 0
            let header = Manifest.Header(
                blockSize: plan.journal.begin.blockSize, virtualSize: disk.virtualSize,
                generation: plan.generation, sourceID: targetRow.identity.sourceID,
                targetID: control.target.segmentTargetID)
            var next = plan.nextManifest
            if next?.header != header {
                // The next manifest is missing or foreign (state damaged mid-generation): hash every block again.
                next = try await statePool.run { _ in try Manifest.create(state.nextManifestPath, header: header) }
                startBlock = 0
            }
            self.plan.nextManifest = next
            let baseline: SyncBaseline
            let manifest = plan.baselineManifest.flatMap { manifest in
                manifest.header.blockSize == header.blockSize && manifest.header.generation == plan.generation - 1
                    ? manifest : nil
            }
            if !plan.full, let manifest {
                baseline = .manifest(manifest)
            } else {
                if manifest == nil, plan.firstSeq > 1 {
                    // Without the last manifest, only the target tells what may hold data, and only once
                    // every earlier seq is applied to it.
                    try await control.waitForCursor(atLeast: plan.firstSeq - 1, note: session.note)
                }
                baseline = .full(
                    pages: try await control.dataPageRanges(virtualSize: disk.virtualSize), manifest: manifest)
            }
            let allocated = try await statePool.run { _ in try disk.allocatedExtents() }
            counters.update { $0.totalBytes = allocated.reduce(0) { $0 + $1.length } }
            let scanner = ChangeScanner(
                disk: disk, allocated: allocated, baseline: baseline, next: next!, startBlock: startBlock,
                startIndex: startIndex, segmentPlainBytes: options.segmentPlainBytes, counters: counters)
            let readerPool = try BlockingPool<Void>(name: "relay-sync-read", threads: 1) { () }
            defer { readerPool.shutdown() }
            let codec = options.codec
            let compressPool = try BlockingPool<SegmentWriter>(name: "relay-sync-compress", threads: options.threads) {
                SegmentWriter(compressor: try FrameCompressor(codec: codec))
            }
            defer { compressPool.shutdown() }
            let limiter = AsyncLimiter(limit: options.connections)
            let bucket = options.maxBandwidth.map { TokenBucket(bytesPerSecond: $0) }
            let target = control.target
            let blob = control.services.blob
            let segments = options.segmentsContainer

            let window = options.window
            try await withThrowingTaskGroup(of: Event.self) { group in
                // One scan, the compressions and uploads of at most `window` segments and one enqueue
                // run at once, each stage as soon as its input is there.
                var scanning = true
                var scanDone = false
                var inFlight = 0
                var uploaded: [UInt64: Uploaded] = [:]
                var nextSeq = plan.firstSeq + startIndex
                var enqueuing = false
                group.addTask { .scanned(try await readerPool.run { _ in try scanner.nextBatch() }) }
                while let event = try await group.next() {
                    switch event {
                    case .scanned(let batch):
                        scanning = false
                        guard let batch else {
                            scanDone = true
                            break
                        }
                        scanDone = batch.isLast
                        inFlight += 1
                        let seq = plan.firstSeq + batch.index
                        group.addTask {
                            .compressed(
                                try await compressPool.run { writer in
                                    defer { scanner.recycle(batch.data) }
                                    return try writer.build(
                                        batch, target: target, generation: plan.generation, seq: seq,
                                        firstSeq: plan.firstSeq)
                                })
                        }
                    case .compressed(let built):
                        group.addTask {
                            // The upload span starts where the first segment's bytes start being paid for.
                            let start = ContinuousClock.now
                            counters.update { $0.firstUpload = min($0.firstUpload ?? start, start) }
                            if let bucket { try await bucket.take(built.bytes.count) }
                            try await limiter.run {
                                try await blob.putBlockBlob(
                                    BlobAddress(container: segments, name: built.message.blob), data: built.bytes,
                                    metadata: [:], conditions: .none)
                            }
                            let end = ContinuousClock.now
                            counters.update {
                                $0.sentBytes += UInt64(built.bytes.count)
                                $0.lastUpload = max($0.lastUpload ?? end, end)
                            }
                            return .uploaded(
                                Uploaded(
                                    message: built.message, scanEnd: built.scanEnd,
                                    last: built.message.generationSegmentCount != nil, extents: built.extents))
                        }
                    case .uploaded(let segment):
                        inFlight -= 1
                        uploaded[segment.message.seq] = segment
                    case .enqueued(let journal, let row):
                        enqueuing = false
                        self.plan.journal = journal
                        targetRow = row
                    }
                    if !scanning, !scanDone, inFlight < window {
                        scanning = true
                        group.addTask { .scanned(try await readerPool.run { _ in try scanner.nextBatch() }) }
                    }
                    if !enqueuing {
                        // Every segment ready in seq order goes in one enqueue: one journal sync for them all.
                        var ready: [Uploaded] = []
                        while let segment = uploaded.removeValue(forKey: nextSeq) {
                            ready.append(segment)
                            nextSeq += 1
                        }
                        if !ready.isEmpty {
                            enqueuing = true
                            let pipeline = self
                            group.addTask {
                                var enqueuer = pipeline
                                try await enqueuer.enqueue(ready)
                                return .enqueued(enqueuer.plan.journal, enqueuer.targetRow)
                            }
                        }
                    }
                }
            }
        }

        /// What the pipeline's stages hand back to it.
        enum Event: Sendable {
            case scanned(SyncBatch?)
            case compressed(BuiltSegment)
            case uploaded(Uploaded)
            /// The journal and `target` row after an enqueue.
            case enqueued(SyncJournal, TargetRow)
        }

        /// Reserves the seqs of `ready` (consecutive, in order), journals them as planned (with the next
        /// manifest, durably: one sync for them all), then puts their messages on the queue.
        private mutating func enqueue(_ ready: [Uploaded]) async throws {
            guard let last = ready.last?.message.seq else { return }
            if last >= targetRow.nextSeq { try await reserve(through: last) }
            let planned = ready.map {
                SyncJournal.Planned(
                    seq: $0.message.seq, scanEnd: $0.scanEnd, message: $0.message.encoded(), last: $0.last,
                    extents: $0.extents.map { [$0.offset, UInt64($0.length), UInt64($0.operation.rawValue)] })
            }
            let writer = plan.writer
            let next = plan.nextManifest
            try await statePool.run { _ in
                try next?.file.sync()
                try writer.append(planned.flatMap { SyncJournal.line(planned: $0) }, sync: true)
            }
            plan.journal.planned += planned
            for segment in planned { try await put(seq: segment.seq, text: segment.message) }
        }

        private mutating func put(seq: UInt64, text: String) async throws {
            if let reason = lock.lostReason {
                throw SyncError(.lockLost, "\(session.request.target): \(reason); sync again to resume")
            }
            let queue = session.control.services.queue
            let name = session.control.queue
            // A repeated message is harmless: the worker keeps one row per seq.
            _ = try await retryingTransient {
                try await queue.putMessage(name, text: text, visibilityTimeout: 0, timeToLive: -1)
            }
            let writer = plan.writer
            try await statePool.run { _ in try writer.append(SyncJournal.line(enqueued: seq), sync: false) }
            plan.journal.enqueued.insert(seq)
            session.counters.update { $0.segments += 1 }
        }

        /// Moves `nextSeq` in the `target` row past `seq` (and a few more, given back at the end),
        /// guarded by the row's ETag: a client that lost the lock fails here instead of reusing a seq.
        private mutating func reserve(through seq: UInt64) async throws {
            var row = targetRow
            row.nextSeq = min(seq + SyncSession.reservationChunk, ControlNames.maxSeq)
            row.etag = try await session.control.replaceTargetRow(row, ifMatch: targetRow.etag)
            targetRow = row
        }
    }
}
