import RelayShared

extension LinkSpeed {
    /// Seconds to ship `plainBytes` that compress to `compressedBytes` at `compressBytesPerSecond`
    /// (plain bytes per second, all cores) over this link. Compression and upload overlap in the
    /// client's pipeline, so the slower of the two sets the pace.
    public func shipSeconds(plainBytes: Double, compressedBytes: Double, compressBytesPerSecond: Double) -> Double {
        max(plainBytes / compressBytesPerSecond, compressedBytes * 8 / bitsPerSecond)
    }
}
