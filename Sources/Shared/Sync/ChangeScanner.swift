import Foundation
import Synchronization

/// One extent of a batch: a write whose bytes are `data[dataOffset ..< dataOffset + length]`, or a clear.
public struct PlannedExtent: Hashable, Sendable {
    public var offset: UInt64
    public var length: Int
    public var operation: ExtentOperation
    public var dataOffset: Int
}

/// The plain bytes of a batch's writes. A class, so that the pipeline can hand the buffer back to the
/// scanner once the batch's segment is built (`ChangeScanner.recycle`) and the next batch fills pages
/// already mapped: a fresh 8 MiB buffer per segment faulted in 438 MB of new memory over the 438 MB
/// sample of `scripts/bench-sync` (docs/replication-contract.md, "Client pipeline").
/// `@unchecked Sendable`: handed from stage to stage, never used by two at once.
public final class BatchBytes: @unchecked Sendable {
    public var bytes: [UInt8] = []

    public init() {}
}

/// The extents of one future segment, in disk order, with their plain bytes.
public struct SyncBatch: Sendable {
    /// The batch's position in its generation: its seq is the generation's first seq plus this.
    public var index: UInt64
    public var extents: [PlannedExtent] = []
    public var data = BatchBytes()
    /// Every block before this index is decided, and its changes are in this batch or earlier ones.
    public var scanEnd: Int = 0
    public var isLast = false

    var plainBytes: Int { data.bytes.count }
}

/// What the scanner compares each block with.
public enum SyncBaseline: Sendable {
    /// The manifest of the last generation: only blocks whose digest moved are sent.
    case manifest(Manifest)
    /// A full sync: every non-zero block is sent, and every zero block that may be non-zero on the
    /// target once everything before is applied is cleared: one that overlaps a target page range, or
    /// is non-zero in `manifest` (the last generation's, which may not be applied yet). A new target has
    /// neither, so generation 1 skips zero blocks.
    case full(pages: [ByteRange], manifest: Manifest?)
}

/// Counters the pipeline's stages update and a progress display reads.
public final class SyncCounters: Sendable {
    public struct Snapshot: Sendable, Hashable {
        /// Bytes of allocated source data read, and in all.
        public var scannedBytes: UInt64 = 0
        public var totalBytes: UInt64 = 0
        /// Plain bytes of changed blocks (writes), and bytes cleared.
        public var changedBytes: UInt64 = 0
        public var clearedBytes: UInt64 = 0
        /// Segment bytes uploaded (compressed), and segments enqueued.
        public var sentBytes: UInt64 = 0
        public var segments: UInt64 = 0
        /// When the first upload started and the last one ended (nil before any).
        public var firstUpload: ContinuousClock.Instant?
        public var lastUpload: ContinuousClock.Instant?
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }
}

/// Reads the source block by block in disk order, decides what changed against the baseline, writes the
/// new digests to the next manifest and groups the changes into batches (docs/replication-contract.md,
/// "Client pipeline"). Extents never exceed 4 MiB; a batch holds at most `segmentPlainBytes` of writes
/// and `SegmentFormat.maxExtents` extents, so its segment fits whatever the codec does.
///
/// Blocking I/O: call `nextBatch()` from a dedicated thread, one call at a time; `recycle` from any.
/// `@unchecked Sendable`: it is handed between calls on the reader pool, never used concurrently, but
/// for `free`, which its mutex guards.
public final class ChangeScanner: @unchecked Sendable {
    private let disk: any VirtualDisk
    private let blockSize: Int
    private let blockCount: Int
    /// The disk's size rounded up to a sector: the last block ends here.
    private let dataEnd: UInt64
    private let allocated: [ByteRange]
    private let baseline: SyncBaseline
    private let next: Manifest
    private let segmentPlainBytes: Int
    private let counters: SyncCounters

    private var block: Int
    private var allocatedIndex = 0
    private var pageIndex = 0
    private var batch: SyncBatch
    private var emitted: SyncBatch?
    /// Buffers of batches whose segments are built, for the next batches. A buffer is made only when
    /// none is free, so there are never more than the batches in flight at once.
    private let free = Mutex<[BatchBytes]>([])
    private var finished = false

    /// The extent being gathered; a write's bytes are already in `batch.data` from `dataOffset` on.
    private var run: (operation: ExtentOperation, offset: UInt64, length: Int, dataOffset: Int)?

    private let window: UnsafeMutableRawBufferPointer
    private var windowStart: UInt64 = 0
    private var windowLength = 0

    private var oldDigests: [UInt64] = []
    private var oldDigestsStart = 0
    private var newDigests: [UInt64] = []
    private var newDigestsStart: Int

    static let readWindow = 4 << 20
    static let digestWindow = 1 << 16

    public init(
        disk: any VirtualDisk, allocated: [ByteRange], baseline: SyncBaseline, next: Manifest, startBlock: Int,
        startIndex: UInt64, segmentPlainBytes: Int, counters: SyncCounters
    ) {
        self.disk = disk
        blockSize = next.header.blockSize
        blockCount = next.header.blockCount
        dataEnd = (disk.virtualSize + 511) / 512 * 512
        self.allocated = allocated
        self.baseline = baseline
        self.next = next
        self.segmentPlainBytes = segmentPlainBytes
        self.counters = counters
        block = startBlock
        newDigestsStart = startBlock
        batch = SyncBatch(index: startIndex)
        window = .allocate(byteCount: max(Self.readWindow, blockSize), alignment: 4096)
        batch.data.bytes.reserveCapacity(segmentPlainBytes)
    }

    deinit { window.deallocate() }

    /// The next batch, or nil after the last one (which has `isLast` set, and may have no extents when
    /// nothing changed).
    public func nextBatch() throws -> SyncBatch? {
        while emitted == nil, !finished {
            if block == blockCount {
                closeRun()
                try flushDigests()
                batch.scanEnd = blockCount
                batch.isLast = true
                emitted = batch
                finished = true
            } else {
                try process(block)
                block += 1
            }
        }
        defer { emitted = nil }
        return emitted
    }

    private func process(_ index: Int) throws {
        let offset = UInt64(index) * UInt64(blockSize)
        let length = Int(min(UInt64(blockSize), dataEnd - offset))
        var digest = Manifest.zeroDigest
        var bytes: UnsafeRawBufferPointer?
        if isAllocated(offset, length) {
            let view = try read(offset, length)
            digest = Manifest.digest(of: view)
            bytes = view
            counters.update { $0.scannedBytes += UInt64(length) }
        }
        let operation: ExtentOperation?
        switch baseline {
        case .manifest:
            let old = try oldDigest(index)
            operation = old == digest ? nil : digest == Manifest.zeroDigest ? .clear : .write
        case .full(let pages, let manifest):
            var mayHoldData = targetHasPages(pages, offset, length)
            if !mayHoldData, manifest != nil { mayHoldData = try oldDigest(index) != Manifest.zeroDigest }
            operation = digest != Manifest.zeroDigest ? .write : mayHoldData ? .clear : nil
        }
        newDigests.append(digest)
        if newDigests.count >= Self.digestWindow { try flushDigests() }

        if let current = run, operation != current.operation || current.length + length > SegmentFormat.maxExtentLength
        {
            closeRun()
        }
        guard let operation else { return }
        // The block goes into the batch being gathered unless the batch is full: then the batch is handed
        // out first (so a batch is only handed out once it is known not to be the last) and the block
        // starts the next one, ending its extent here if it was in the middle of one.
        let full = operation == .write && batch.plainBytes + length > segmentPlainBytes
        if full || (run == nil && batch.extents.count == SegmentFormat.maxExtents) {
            closeRun()
            try emit(scanEnd: index)
        }
        if run == nil { run = (operation, offset, 0, batch.plainBytes) }
        run!.length += length
        if operation == .write, let bytes { batch.data.bytes.append(contentsOf: bytes) }
        counters.update {
            if operation == .write { $0.changedBytes += UInt64(length) } else { $0.clearedBytes += UInt64(length) }
        }
    }

    /// Ends the pending run as an extent of the batch (its bytes are there already).
    private func closeRun() {
        guard let current = run else { return }
        run = nil
        batch.extents.append(
            PlannedExtent(
                offset: current.offset, length: current.length, operation: current.operation,
                dataOffset: current.dataOffset))
    }

    /// Hands out the batch (every block before `scanEnd` is in it or an earlier one) and starts the next.
    private func emit(scanEnd: Int) throws {
        try flushDigests()
        batch.scanEnd = scanEnd
        emitted = batch
        batch = newBatch(index: batch.index + 1)
    }

    /// Takes back the buffer of a batch this scanner handed out, once nothing reads it any more.
    public func recycle(_ data: BatchBytes) {
        data.bytes.removeAll(keepingCapacity: true)
        free.withLock { $0.append(data) }
    }

    private func newBatch(index: UInt64) -> SyncBatch {
        var batch = SyncBatch(index: index)
        if let data = free.withLock({ $0.popLast() }) {
            batch.data = data
        } else {
            // Sized once: grown by appends, the buffer would be reallocated and copied on its way up.
            batch.data.bytes.reserveCapacity(segmentPlainBytes)
        }
        return batch
    }

    private func isAllocated(_ offset: UInt64, _ length: Int) -> Bool {
        while allocatedIndex < allocated.count, allocated[allocatedIndex].end <= offset { allocatedIndex += 1 }
        return allocatedIndex < allocated.count && allocated[allocatedIndex].offset < offset + UInt64(length)
    }

    private func targetHasPages(_ pages: [ByteRange], _ offset: UInt64, _ length: Int) -> Bool {
        while pageIndex < pages.count, pages[pageIndex].end <= offset { pageIndex += 1 }
        return pageIndex < pages.count && pages[pageIndex].offset < offset + UInt64(length)
    }

    /// The block's bytes from the read window, refilled from the disk (zeros past its end) when needed.
    private func read(_ offset: UInt64, _ length: Int) throws -> UnsafeRawBufferPointer {
        if offset < windowStart || offset + UInt64(length) > windowStart + UInt64(windowLength) {
            windowStart = offset
            windowLength = Int(min(UInt64(window.count), dataEnd - offset))
            let readable = Int(min(UInt64(windowLength), disk.virtualSize - offset))
            try disk.read(into: UnsafeMutableRawBufferPointer(rebasing: window[..<readable]), at: offset)
            if readable < windowLength {
                UnsafeMutableRawBufferPointer(rebasing: window[readable..<windowLength]).initializeMemory(
                    as: UInt8.self, repeating: 0)
            }
        }
        let start = Int(offset - windowStart)
        return UnsafeRawBufferPointer(rebasing: window[start..<(start + length)])
    }

    private func oldDigest(_ index: Int) throws -> UInt64 {
        let manifest: Manifest
        switch baseline {
        case .manifest(let old), .full(_, let old?): manifest = old
        case .full(_, nil): return Manifest.zeroDigest
        }
        if index < oldDigestsStart || index >= oldDigestsStart + oldDigests.count {
            oldDigestsStart = index
            oldDigests = try manifest.digests(index..<min(blockCount, index + Self.digestWindow))
        }
        return oldDigests[index - oldDigestsStart]
    }

    private func flushDigests() throws {
        guard !newDigests.isEmpty else { return }
        try next.write(newDigests, from: newDigestsStart)
        newDigestsStart += newDigests.count
        newDigests.removeAll(keepingCapacity: true)
    }
}
