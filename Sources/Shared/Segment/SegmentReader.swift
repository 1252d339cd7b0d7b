/// A received segment whose every structure has been checked (see `SegmentFormat`); frames are decoded
/// one at a time with `decode`, which bounds the output by the extent's length and verifies its digest.
public struct SegmentReader: Sendable {
    public let bytes: [UInt8]
    public let header: SegmentHeader
    public let extents: [SegmentExtent]
    /// The sum of the write extents' lengths.
    public let plainBytes: UInt64
    /// The verified segment digest from the trailer, to compare with the control message's.
    public let digest: XXH128

    /// Checks `bytes` as a segment for a target of `diskSize` bytes: sizes, magic, version, flags, the
    /// segment digest, then every table entry and frame bound. Throws the first violation found.
    public init(_ bytes: [UInt8], diskSize: UInt64) throws(SegmentError) {
        let parsed = bytes.withUnsafeBytes { buffer in
            Result { () throws(SegmentError) in try Parser(buffer: buffer, diskSize: diskSize).parse() }
        }
        (header, extents, plainBytes, digest) = try parsed.get()
        self.bytes = bytes
    }

    /// Decodes extent `index` into `output`, whose count must be the extent's length: the frame is
    /// decompressed bounded by that length and its XXH3-128 compared with the table's. A clear extent
    /// decodes to zeros.
    public func decode(
        extentAt index: Int, using decompressor: FrameDecompressor, into output: UnsafeMutableRawBufferPointer
    ) throws(SegmentError) {
        guard extents.indices.contains(index) else {
            throw SegmentError(
                .invalidArgument, field: "extent[\(index)]", offset: nil, "the segment has \(extents.count) extents")
        }
        let extent = extents[index]
        guard output.count == extent.length else {
            throw SegmentError(
                .invalidArgument, field: "extent[\(index)]", offset: nil,
                "output buffer holds \(output.count) bytes, the extent \(extent.length)")
        }
        guard extent.operation == .write else {
            output.initializeMemory(as: UInt8.self, repeating: 0)
            return
        }
        let result = bytes.withUnsafeBytes { segment in
            Result { () throws(CodecError) in
                let frame = UnsafeRawBufferPointer(
                    rebasing: segment[extent.frameOffset..<(extent.frameOffset + extent.storedLength)])
                try decompressor.decompress(frame, codec: extent.codec, into: output)
            }
        }
        if case .failure(let error) = result {
            throw SegmentError(
                .frameCorrupt, field: "extent[\(index)].frame", offset: extent.frameOffset, error.description)
        }
        let digest = Digest.xxh3_128(UnsafeRawBufferPointer(output))
        guard digest == extent.digest else {
            let entry = SegmentFormat.headerSize + index * SegmentFormat.extentEntrySize
            throw SegmentError(
                .plainDigestMismatch, field: "extent[\(index)].digest", offset: entry + SegmentFormat.Entry.digestHigh,
                "decoded bytes hash to \(digest), the table says \(extent.digest)")
        }
    }
}

/// The checks of `SegmentReader.init`, over a buffer that lives only during parsing. Every read goes
/// through `load`, which refuses to read past the end, so no check can be skipped into a bad read.
private struct Parser {
    typealias H = SegmentFormat.Header
    typealias E = SegmentFormat.Entry

    let buffer: UnsafeRawBufferPointer
    let diskSize: UInt64

    func parse() throws(SegmentError) -> (SegmentHeader, [SegmentExtent], UInt64, XXH128) {
        let size = buffer.count
        let minimum = SegmentFormat.headerSize + SegmentFormat.trailerSize
        guard size >= minimum else {
            throw SegmentError(
                .truncated, field: "header", offset: 0,
                "\(size) bytes cannot hold a header and trailer (\(minimum) bytes)")
        }
        guard SegmentFormat.magic.elementsEqual(buffer[H.magic..<(H.magic + 8)]) else {
            throw SegmentError(.badMagic, field: "header.magic", offset: H.magic, "not a vhd-relay segment")
        }
        let version: UInt16 = try load(H.version, "header.version")
        guard version == SegmentFormat.version else {
            throw SegmentError(
                .unsupportedVersion, field: "header.version", offset: H.version,
                "version \(version); this program reads version \(SegmentFormat.version)")
        }
        let declaredSize: UInt64 = try load(H.segmentSize, "header.segmentSize")
        guard declaredSize == UInt64(size) else {
            throw SegmentError(
                .sizeMismatch, field: "header.segmentSize", offset: H.segmentSize,
                "declares \(declaredSize) bytes but \(size) were received")
        }
        guard size <= SegmentFormat.maxSegmentSize else {
            throw SegmentError(
                .segmentTooLarge, field: "header.segmentSize", offset: H.segmentSize,
                "\(size) bytes exceed the limit of \(SegmentFormat.maxSegmentSize)")
        }
        let trailer = size - SegmentFormat.trailerSize
        guard let stored = SegmentFormat.trailerDigest(of: buffer) else {
            throw SegmentError(.truncated, field: "trailer.digest", offset: trailer, "no room for the trailer")
        }
        let actual = Digest.xxh3_128(UnsafeRawBufferPointer(rebasing: buffer[..<trailer]))
        guard stored == actual else {
            throw SegmentError(
                .segmentDigestMismatch, field: "trailer.digest", offset: trailer,
                "the segment hashes to \(actual), its trailer says \(stored)")
        }
        let flags = SegmentFlags(rawValue: try load(H.flags, "header.flags"))
        guard SegmentFlags.known.isSuperset(of: flags) else {
            throw SegmentError(
                .unknownFlags, field: "header.flags", offset: H.flags,
                "flags 0x\(String(flags.rawValue, radix: 16)) include bits this version does not define")
        }
        try expectZero(UInt64.self, at: H.reserved, "header.reserved")
        let count: UInt32 = try load(H.extentCount, "header.extentCount")
        guard count <= SegmentFormat.maxExtents else {
            throw SegmentError(
                .tooManyExtents, field: "header.extentCount", offset: H.extentCount,
                "\(count) extents exceed the limit of \(SegmentFormat.maxExtents)")
        }
        let tableEnd = SegmentFormat.headerSize + Int(count) * SegmentFormat.extentEntrySize
        guard tableEnd <= trailer else {
            throw SegmentError(
                .truncated, field: "extentTable", offset: SegmentFormat.headerSize,
                "\(count) entries end at byte \(tableEnd), past the trailer at \(trailer)")
        }
        var extents: [SegmentExtent] = []
        extents.reserveCapacity(Int(count))
        var framePosition = tableEnd
        var previousEnd: UInt64 = 0
        var plainBytes: UInt64 = 0
        for index in 0..<Int(count) {
            let extent = try entry(index, framePosition: framePosition, trailer: trailer, previousEnd: previousEnd)
            extents.append(extent)
            framePosition += extent.storedLength
            previousEnd = extent.offset + UInt64(extent.length)
            if extent.operation == .write { plainBytes += UInt64(extent.length) }
        }
        guard framePosition == trailer else {
            throw SegmentError(
                .sizeMismatch, field: "frames", offset: framePosition,
                "\(trailer - framePosition) bytes lie between the last frame and the trailer")
        }
        let declaredPlain: UInt64 = try load(H.plainBytes, "header.plainBytes")
        guard declaredPlain == plainBytes else {
            throw SegmentError(
                .plainBytesMismatch, field: "header.plainBytes", offset: H.plainBytes,
                "declares \(declaredPlain) plain bytes, the write extents hold \(plainBytes)")
        }
        let header = SegmentHeader(
            targetID: try load(H.targetID, "header.targetID"), generation: try load(H.generation, "header.generation"),
            seq: try load(H.seq, "header.seq"), flags: flags)
        return (header, extents, plainBytes, actual)
    }

    /// Reads and checks table entry `index`, whose frame (if any) starts at `framePosition`.
    private func entry(_ index: Int, framePosition: Int, trailer: Int, previousEnd: UInt64) throws(SegmentError)
        -> SegmentExtent
    {
        let base = SegmentFormat.headerSize + index * SegmentFormat.extentEntrySize
        let name = "extent[\(index)]"
        let operationID: UInt8 = try load(base + E.operation, name + ".operation")
        guard let operation = ExtentOperation(rawValue: operationID) else {
            throw SegmentError(
                .unknownOperation, field: name + ".operation", offset: base + E.operation,
                "operation \(operationID) is neither write (1) nor clear (2)")
        }
        let codecID: UInt8 = try load(base + E.codec, name + ".codec")
        guard let codec = Codec(wireID: codecID), operation == .write || codec == .none else {
            throw SegmentError(
                .unknownCodec, field: name + ".codec", offset: base + E.codec,
                operation == .write
                    ? "codec \(codecID) is not one of 0...3" : "a clear extent has codec \(codecID), not 0")
        }
        try expectZero(UInt16.self, at: base + E.reserved16, name + ".reserved")
        try expectZero(UInt32.self, at: base + E.reserved32, name + ".reserved")

        let offset: UInt64 = try load(base + E.offset, name + ".offset")
        let length = Int(try load(base + E.length, name + ".length") as UInt32)
        let sector = SegmentFormat.sectorSize
        guard offset % UInt64(sector) == 0 else {
            throw SegmentError(
                .misaligned, field: name + ".offset", offset: base + E.offset,
                "disk offset \(offset) is not a multiple of \(sector)")
        }
        guard length > 0, length <= SegmentFormat.maxExtentLength, length % sector == 0 else {
            throw SegmentError(
                .lengthOutOfRange, field: name + ".length", offset: base + E.length,
                "length \(length) is not a multiple of \(sector) in \(sector)...\(SegmentFormat.maxExtentLength)")
        }
        guard offset <= UInt64.max - UInt64(length) else {
            throw SegmentError(
                .offsetOverflow, field: name + ".offset", offset: base + E.offset,
                "offset \(offset) + length \(length) overflows")
        }
        guard offset + UInt64(length) <= diskSize else {
            throw SegmentError(
                .beyondDiskEnd, field: name + ".offset", offset: base + E.offset,
                "extent [\(offset), \(offset + UInt64(length))) ends past the disk's \(diskSize) bytes")
        }
        guard offset >= previousEnd else {
            throw SegmentError(
                .overlap, field: name + ".offset", offset: base + E.offset,
                "disk offset \(offset) is before the end \(previousEnd) of the previous extent")
        }

        let storedLength = Int(try load(base + E.storedLength, name + ".storedLength") as UInt32)
        let storedValid =
            switch (operation, codec) {
            case (.clear, _): storedLength == 0
            case (.write, .none): storedLength == length
            case (.write, _): storedLength >= 1 && storedLength < length
            }
        guard storedValid else {
            throw SegmentError(
                .storedLengthInvalid, field: name + ".storedLength", offset: base + E.storedLength,
                "stored length \(storedLength) is invalid for a \(operation) of \(length) bytes with codec \(codecID)")
        }
        guard storedLength <= trailer - framePosition else {
            throw SegmentError(
                .truncated, field: name + ".frame", offset: framePosition,
                "frame of \(storedLength) bytes runs past the trailer at \(trailer)")
        }
        let digest = XXH128(
            high: try load(base + E.digestHigh, name + ".digest"), low: try load(base + E.digestLow, name + ".digest"))
        if operation == .clear {
            guard digest == XXH128(high: 0, low: 0) else {
                throw SegmentError(
                    .reservedNotZero, field: name + ".digest", offset: base + E.digestHigh,
                    "a clear extent's digest must be zero")
            }
        }
        return SegmentExtent(
            offset: offset, length: length, operation: operation, codec: codec,
            storedLength: storedLength, frameOffset: framePosition, digest: digest)
    }

    /// The little-endian integer at `offset`, refusing to read outside the buffer.
    private func load<T: FixedWidthInteger>(_ offset: Int, _ field: @autoclosure () -> String) throws(SegmentError) -> T
    {
        let width = MemoryLayout<T>.size
        guard offset >= 0, offset <= buffer.count - width else {
            throw SegmentError(
                .truncated, field: field(), offset: offset,
                "\(width)-byte field ends past the segment's \(buffer.count) bytes")
        }
        return T(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    private func expectZero<T: FixedWidthInteger>(_ type: T.Type, at offset: Int, _ field: String) throws(SegmentError)
    {
        let value: T = try load(offset, field)
        guard value == 0 else {
            throw SegmentError(.reservedNotZero, field: field, offset: offset, "reserved field holds \(value), not 0")
        }
    }
}
