import Foundation

/// How a sync runs: change-detection granularity, codec and the pipeline's bounds
/// (docs/replication-contract.md, "Client pipeline").
public struct SyncOptions: Sendable {
    /// Block sizes the manifest may use: powers of two from 4 KiB (the smallest useful file-system
    /// block) to one extent (4 MiB).
    public static let blockSizes = 4096...SegmentFormat.maxExtentLength
    /// The largest page blob Azure creates (8 TiB); a larger source cannot have a target.
    public static let maxVirtualSize: UInt64 = 8 << 40

    public var blockSize: Int
    public var codec: Codec
    /// Compression threads.
    public var threads: Int
    /// Concurrent temp blob uploads.
    public var connections: Int
    /// Plain bytes per segment (a segment may be a little larger: extent table, raw frames).
    public var segmentPlainBytes: Int
    /// Bytes of segments being built or uploaded at once, plain and compressed together.
    public var maxInFlightBytes: Int
    /// Upload cap in bytes per second; nil for none.
    public var maxBandwidth: Double?
    /// Send every non-zero block and clear every other target range, whatever the manifest says.
    public var full: Bool
    /// Names of the queue, table and segments container.
    public var queue: String
    public var table: String
    public var segmentsContainer: String

    public init(
        blockSize: Int = 64 << 10, codec: Codec = .zstd(level: 1),
        threads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount),
        connections: Int = 4, segmentPlainBytes: Int = 8 << 20, maxInFlightBytes: Int = 256 << 20,
        maxBandwidth: Double? = nil, full: Bool = false, queue: String = ControlNames.defaultQueue,
        table: String = ControlNames.defaultTable, segmentsContainer: String = ControlNames.defaultContainer
    ) {
        self.blockSize = blockSize
        self.codec = codec
        self.threads = threads
        self.connections = connections
        self.segmentPlainBytes = segmentPlainBytes
        self.maxInFlightBytes = maxInFlightBytes
        self.maxBandwidth = maxBandwidth
        self.full = full
        self.queue = queue
        self.table = table
        self.segmentsContainer = segmentsContainer
    }

    /// Throws `SyncError.invalidArgument` naming the first unusable option.
    public func validate() throws(SyncError) {
        guard Self.blockSizes.contains(blockSize), blockSize.nonzeroBitCount == 1 else {
            throw SyncError(.invalidArgument, "--block-size \(blockSize): use a power of two from 4K to 4M")
        }
        guard (1...256).contains(threads) else { throw SyncError(.invalidArgument, "--threads \(threads): use 1-256") }
        guard (1...64).contains(connections) else {
            throw SyncError(.invalidArgument, "--connections \(connections): use 1-64")
        }
        guard segmentPlainBytes >= SegmentFormat.maxExtentLength, segmentPlainBytes <= SegmentFormat.maxSegmentSize / 2
        else {
            throw SyncError(.invalidArgument, "segment size \(segmentPlainBytes): use 4-32 MiB")
        }
        guard maxInFlightBytes >= 4 * segmentPlainBytes else {
            throw SyncError(
                .invalidArgument,
                "in-flight bound \(maxInFlightBytes) is below four segments of \(segmentPlainBytes) bytes")
        }
        if let maxBandwidth, !(maxBandwidth >= 1000) {
            throw SyncError(.invalidArgument, "--max-bandwidth: give at least 8Kbit")
        }
    }

    /// Segments in flight at once: enough to keep every compression thread and connection busy, and
    /// within the memory bound, counting for each its plain bytes, as many compressed and as much again
    /// of allocator slack (measured: `scripts/bench-sync`, peak RSS).
    var window: Int {
        max(2, min(threads + connections, maxInFlightBytes / (3 * (segmentPlainBytes + SegmentFormat.maxExtentLength))))
    }
}
