import Glibc

/// Writes the Azure-ready fixed VHD of a source disk: the virtual disk's bytes, zero padding to a whole
/// MiB, then the target footer. What Add-AzVhd does with Hyper-V, here on any Linux.
///
/// The output is sparse: only non-zero runs inside allocated extents are written, the rest is a hole.
/// Memory is one chunk buffer whatever the disk size. The file is written under a temporary name (each
/// chunk's writeback started at once), synced, then renamed, so a crash never leaves a truncated VHD
/// under the final name. The output is never one of the inputs, and the temporary file is always a new
/// one.
public struct FixedVHDConverter: Sendable {
    public struct Configuration: Sendable {
        /// Bytes read per call; also the memory the conversion uses.
        public var chunkSize: Int
        /// The granularity at which zero runs are skipped (a file-system block).
        public var holeGranularity: Int

        public init(chunkSize: Int = 4 << 20, holeGranularity: Int = 4096) {
            precondition(chunkSize > 0 && holeGranularity > 0 && chunkSize % holeGranularity == 0)
            self.chunkSize = chunkSize
            self.holeGranularity = holeGranularity
        }
    }

    public struct Progress: Sendable {
        /// Bytes of allocated extents read so far, and in all.
        public var scannedBytes: UInt64
        public var totalBytes: UInt64
        /// Non-zero bytes written so far.
        public var writtenBytes: UInt64
    }

    public struct Summary: Sendable, Codable {
        public var output: String
        public var virtualSize: UInt64
        public var targetSize: UInt64
        public var fileSize: UInt64
        public var scannedBytes: UInt64
        public var writtenBytes: UInt64

        enum CodingKeys: String, CodingKey {
            case output
            case virtualSize = "virtual_size"
            case targetSize = "target_size"
            case fileSize = "file_size"
            case scannedBytes = "scanned_bytes"
            case writtenBytes = "written_bytes"
        }
    }

    public var configuration: Configuration

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// Converts `source` into a fixed VHD at `outputPath`, replacing any file there.
    /// `footer` is the target footer (see `VHDFooter.fixedTarget`); its current size sets the data size.
    public func convert(
        _ source: any VirtualDisk,
        footer: VHDFooter,
        to outputPath: String,
        progress: (Progress) -> Void = { _ in }
    ) throws -> Summary {
        let targetSize = footer.currentSize
        precondition(targetSize >= source.virtualSize, "the target footer must cover the whole source")
        try Self.checkOutput(outputPath, against: source)
        let extents = try source.allocatedExtents()
        let (output, partialPath) = try Self.createPartial(for: outputPath)
        var finished = false
        defer { if !finished { unlink(partialPath) } }

        try output.truncate(to: targetSize + UInt64(VHDFooter.size))
        var state = Progress(
            scannedBytes: 0, totalBytes: extents.reduce(0) { $0 + $1.length }, writtenBytes: 0)
        let buffer = UnsafeMutableRawBufferPointer.allocate(
            byteCount: configuration.chunkSize, alignment: 4096)
        defer { buffer.deallocate() }

        for extent in extents {
            var offset = extent.offset
            while offset < extent.end {
                let count = Int(min(UInt64(configuration.chunkSize), extent.end - offset))
                let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
                try source.read(into: chunk, at: offset)
                let written = try writeNonZeroRuns(of: UnsafeRawBufferPointer(chunk), at: offset, to: output)
                // The disk writes while the next chunks are read: the final sync waited 0.3 s for 440 MB
                // written only then (docs/vhdx.md, "Performance").
                if written > 0 { output.startWriteback(ByteRange(offset: offset, length: UInt64(count))) }
                state.writtenBytes += written
                state.scannedBytes += UInt64(count)
                offset += UInt64(count)
                progress(state)
            }
        }
        try footer.serialized().withUnsafeBytes { try output.write($0, at: targetSize) }
        try output.sync()
        guard rename(partialPath, outputPath) == 0 else {
            throw FileError(path: outputPath, operation: "rename from \(partialPath)", offset: nil, errno: errno)
        }
        finished = true
        return Summary(
            output: outputPath, virtualSize: source.virtualSize, targetSize: targetSize,
            fileSize: targetSize + UInt64(VHDFooter.size), scannedBytes: state.scannedBytes,
            writtenBytes: state.writtenBytes)
    }

    /// Refuses an output that would overwrite an input (the source or any parent, through any name, link
    /// or hard link), that is a directory or whose directory is missing, before any work: nothing the user gave as input is written.
    static func checkOutput(_ outputPath: String, against source: any VirtualDisk) throws {
        let outputIdentities = [FileIdentity.of(outputPath), FileIdentity.ofLink(outputPath)].compactMap { $0 }
        if outputIdentities.first?.isDirectory == true { throw ConvertError.outputIsDirectory(outputPath) }
        let directory =
            outputPath.lastIndex(of: "/").map { String(outputPath[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        if FileIdentity.of(directory)?.isDirectory != true {
            throw ConvertError.outputDirectoryMissing(outputPath, directory: directory)
        }
        var disk: (any VirtualDisk)? = source
        while let input = disk {
            let inputIdentities = [FileIdentity.of(input.path), FileIdentity.ofLink(input.path)].compactMap { $0 }
            if outputIdentities.contains(where: inputIdentities.contains) {
                throw ConvertError.outputIsInput(outputPath, input: input.path)
            }
            disk = input.parent
        }
    }

    /// A new file `OUT.partial.RANDOM` beside the output, created exclusively: never an existing file or a
    /// symbolic link planted under the name.
    static func createPartial(for outputPath: String) throws -> (SystemFile, String) {
        var generator = SystemRandomNumberGenerator()
        var attempts = 0
        while true {
            attempts += 1
            let path = outputPath + ".partial." + String(generator.next() as UInt64, radix: 36)
            do {
                return (try SystemFile.createNew(path), path)
            } catch let error as FileError where error.errno == EEXIST && attempts < 8 {
                continue
            }
        }
    }

    /// Writes the runs of `chunk` that hold a non-zero byte, in `holeGranularity` steps, merging
    /// adjacent runs into one write. Returns the bytes written.
    private func writeNonZeroRuns(
        of chunk: UnsafeRawBufferPointer, at offset: UInt64, to output: SystemFile
    ) throws -> UInt64 {
        let step = configuration.holeGranularity
        var written: UInt64 = 0
        var runStart: Int?
        var position = 0
        while position <= chunk.count {
            let blockEnd = min(position + step, chunk.count)
            let isData =
                position < chunk.count
                && !UnsafeRawBufferPointer(rebasing: chunk[position..<blockEnd]).isAllZero
            if isData, runStart == nil { runStart = position }
            if !isData, let start = runStart {
                try output.write(UnsafeRawBufferPointer(rebasing: chunk[start..<position]), at: offset + UInt64(start))
                written += UInt64(position - start)
                runStart = nil
            }
            if position == chunk.count { break }
            position = blockEnd
        }
        return written
    }
}
