import RelayShared

/// `segment`: the bytes as a downloaded segment, checked by `SegmentReader` as the worker checks one,
/// then each extent decoded (decompressed into a buffer of its declared length, digest compared).
enum FuzzSegment {
    /// Used only from libFuzzer's one thread.
    nonisolated(unsafe) static let decompressor: FrameDecompressor = {
        do { return try FrameDecompressor() } catch { fatalError("relay-fuzz: \(error)") }
    }()

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let reader = try? SegmentReader(Array(bytes), diskSize: 1 << 40) else { return }
        for (index, extent) in reader.extents.enumerated().prefix(16) {
            var output = [UInt8](repeating: 0, count: extent.length)
            output.withUnsafeMutableBytes { buffer in
                _ = try? reader.decode(extentAt: index, using: decompressor, into: buffer)
            }
        }
    }
}
