/// Builds segments in memory, one extent at a time, compressing each write with one reused compressor.
///
/// Extents must come in increasing disk order without overlap. After `finish` the writer is empty and
/// ready for the next segment; its buffers keep their capacity, so a long run allocates little.
/// Not thread-safe and not `Sendable` (it owns a `FrameCompressor`): one writer per thread or task.
public final class SegmentWriter {
    public let compressor: FrameCompressor
    private var entries: [SegmentExtent] = []
    private var frames: [UInt8] = []
    private var plainBytes: UInt64 = 0
    /// Where the next extent may start: the end of the last one.
    private var nextOffset: UInt64 = 0
    /// Compressed output lands here first, since its size is known only afterwards.
    private let scratch: UnsafeMutableRawBufferPointer

    public init(compressor: FrameCompressor) {
        self.compressor = compressor
        let bound = FrameCompressor.maxCompressedSize(
            codec: compressor.codec, plainCount: SegmentFormat.maxExtentLength)
        scratch = .allocate(byteCount: bound, alignment: 16)
        entries.reserveCapacity(SegmentFormat.maxExtents)
    }

    deinit { scratch.deallocate() }

    public var extentCount: Int { entries.count }

    /// The size `finish` would return now.
    public var encodedSize: Int {
        SegmentFormat.segmentSize(extentCount: entries.count, framesSize: frames.count)
    }

    /// Whether an extent of `length` bytes is sure to fit, even if its frame does not shrink.
    public func canAppend(length: Int) -> Bool {
        entries.count < SegmentFormat.maxExtents
            && encodedSize + SegmentFormat.extentEntrySize + length <= SegmentFormat.maxSegmentSize
    }

    /// Appends a write of `bytes` at disk `offset`; the frame is stored raw if compressing does not shrink it.
    public func appendWrite(offset: UInt64, bytes: UnsafeRawBufferPointer) throws(SegmentError) {
        let field = "extent[\(entries.count)]"
        try checkExtent(offset: offset, length: bytes.count, field: field)
        try checkRoom(length: bytes.count, field: field)
        var codec = compressor.codec
        var stored = bytes
        if codec != .none {
            let written: Int
            do {
                written = try compressor.compress(bytes, into: scratch)
            } catch {
                throw SegmentError(.compressionFailed, field: field, offset: nil, error.description)
            }
            if written < bytes.count {
                stored = UnsafeRawBufferPointer(rebasing: scratch[..<written])
            } else {
                codec = .none
            }
        }
        entries.append(
            SegmentExtent(
                offset: offset, length: bytes.count, operation: .write, codec: codec,
                storedLength: stored.count, frameOffset: frames.count, digest: Digest.xxh3_128(bytes)))
        frames.append(contentsOf: stored)
        plainBytes += UInt64(bytes.count)
        nextOffset = offset + UInt64(bytes.count)
    }

    /// Appends a clear (the range became zero) of `length` bytes at disk `offset`.
    public func appendClear(offset: UInt64, length: Int) throws(SegmentError) {
        let field = "extent[\(entries.count)]"
        try checkExtent(offset: offset, length: length, field: field)
        try checkRoom(length: 0, field: field)
        entries.append(
            SegmentExtent(
                offset: offset, length: length, operation: .clear, codec: .none,
                storedLength: 0, frameOffset: frames.count, digest: XXH128(high: 0, low: 0)))
        nextOffset = offset + UInt64(length)
    }

    /// Returns the segment of every extent appended since the last `finish` or `reset`, then empties the writer.
    public func finish(header: SegmentHeader) -> [UInt8] {
        let size = encodedSize
        let segment = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            let out = UnsafeMutableRawBufferPointer(buffer)
            encode(header: header, size: size, into: out)
            initialized = size
        }
        reset()
        return segment
    }

    /// Discards the extents appended since the last `finish`.
    public func reset() {
        entries.removeAll(keepingCapacity: true)
        frames.removeAll(keepingCapacity: true)
        plainBytes = 0
        nextOffset = 0
    }

    private func encode(header: SegmentHeader, size: Int, into out: UnsafeMutableRawBufferPointer) {
        typealias H = SegmentFormat.Header
        typealias E = SegmentFormat.Entry
        out.copyBytes(from: SegmentFormat.magic)
        out.storeLittleEndian(SegmentFormat.version, at: H.version)
        out.storeLittleEndian(header.flags.rawValue, at: H.flags)
        out.storeLittleEndian(UInt32(entries.count), at: H.extentCount)
        out.storeLittleEndian(header.targetID, at: H.targetID)
        out.storeLittleEndian(header.generation, at: H.generation)
        out.storeLittleEndian(header.seq, at: H.seq)
        out.storeLittleEndian(UInt64(size), at: H.segmentSize)
        out.storeLittleEndian(plainBytes, at: H.plainBytes)
        out.storeLittleEndian(UInt64(0), at: H.reserved)
        var position = SegmentFormat.headerSize
        for entry in entries {
            out.storeLittleEndian(entry.offset, at: position + E.offset)
            out.storeLittleEndian(UInt32(entry.length), at: position + E.length)
            out.storeLittleEndian(entry.operation.rawValue, at: position + E.operation)
            out.storeLittleEndian(entry.codec.wireID, at: position + E.codec)
            out.storeLittleEndian(UInt16(0), at: position + E.reserved16)
            out.storeLittleEndian(UInt32(entry.storedLength), at: position + E.storedLength)
            out.storeLittleEndian(UInt32(0), at: position + E.reserved32)
            out.storeLittleEndian(entry.digest.high, at: position + E.digestHigh)
            out.storeLittleEndian(entry.digest.low, at: position + E.digestLow)
            position += SegmentFormat.extentEntrySize
        }
        frames.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[position...]).copyMemory(from: $0) }
        position += frames.count
        let digest = Digest.xxh3_128(UnsafeRawBufferPointer(rebasing: out[..<position]))
        out.storeLittleEndian(digest.high, at: position)
        out.storeLittleEndian(digest.low, at: position + 8)
    }

    private func checkExtent(offset: UInt64, length: Int, field: String) throws(SegmentError) {
        let sector = UInt64(SegmentFormat.sectorSize)
        guard offset % sector == 0 else {
            throw SegmentError(
                .misaligned, field: field + ".offset", offset: nil,
                "disk offset \(offset) is not a multiple of \(sector)")
        }
        guard length > 0, length <= SegmentFormat.maxExtentLength, length % SegmentFormat.sectorSize == 0 else {
            throw SegmentError(
                .lengthOutOfRange, field: field + ".length", offset: nil,
                "length \(length) is not a multiple of \(sector) in 512...\(SegmentFormat.maxExtentLength)")
        }
        guard offset <= UInt64.max - UInt64(length) else {
            throw SegmentError(
                .offsetOverflow, field: field + ".offset", offset: nil, "offset \(offset) + length \(length) overflows")
        }
        guard offset >= nextOffset else {
            throw SegmentError(
                .overlap, field: field + ".offset", offset: nil,
                "disk offset \(offset) is before the end \(nextOffset) of the previous extent")
        }
    }

    private func checkRoom(length: Int, field: String) throws(SegmentError) {
        guard canAppend(length: length) else {
            throw SegmentError(
                .segmentFull, field: field, offset: nil,
                "\(entries.count) extents and \(encodedSize) bytes leave no room for \(length) more bytes")
        }
    }
}
