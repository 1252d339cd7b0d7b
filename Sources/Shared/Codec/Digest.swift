import CXXHash

/// A 128-bit XXH3 hash. `description` is the canonical hex form that `xxhsum -H2` prints
/// (high half first, big-endian digits).
public struct XXH128: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    init(_ hash: XXH128_hash_t) {
        self.init(high: hash.high64, low: hash.low64)
    }

    public var description: String { Self.hex(high) + Self.hex(low) }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// One-shot XXH3 hashes (seed 0), as `xxhsum -H3` (64-bit) and `-H2` (128-bit) compute them. On x86-64
/// they go through libxxhash's run-time dispatch to AVX2 or AVX-512 (`Sources/CXXHash/shim.h`).
public enum Digest {
    // swift-format-ignore: AlwaysUseLowerCamelCase
    // Named after the algorithm, as xxHash names it.
    public static func xxh3_64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        #if arch(x86_64)
            XXH3_64bits_dispatch(bytes.baseAddress, bytes.count)
        #else
            XXH3_64bits(bytes.baseAddress, bytes.count)
        #endif
    }

    // swift-format-ignore: AlwaysUseLowerCamelCase
    public static func xxh3_128(_ bytes: UnsafeRawBufferPointer) -> XXH128 {
        #if arch(x86_64)
            XXH128(XXH3_128bits_dispatch(bytes.baseAddress, bytes.count))
        #else
            XXH128(XXH3_128bits(bytes.baseAddress, bytes.count))
        #endif
    }
}

/// A streaming XXH3-128 (seed 0) over bytes given in pieces; equals `Digest.xxh3_128` of their concatenation.
///
/// Not thread-safe and not `Sendable`: one owner feeds it.
public final class XXH3Hasher128 {
    private let state: OpaquePointer

    public init() {
        // XXH3_createState only fails when malloc does; there is nothing sensible to do then.
        guard let state = XXH3_createState() else { fatalError("XXH3_createState: out of memory") }
        self.state = state
        XXH3_128bits_reset(state)
    }

    deinit { XXH3_freeState(state) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        #if arch(x86_64)
            XXH3_128bits_update_dispatch(state, bytes.baseAddress, bytes.count)
        #else
            XXH3_128bits_update(state, bytes.baseAddress, bytes.count)
        #endif
    }

    /// The hash of everything fed since creation or the last `reset()`; feeding may continue afterwards.
    public func finalize() -> XXH128 {
        XXH128(XXH3_128bits_digest(state))
    }

    public func reset() {
        XXH3_128bits_reset(state)
    }
}
