import RelayShared

/// `connection-string`: the bytes as a connection string (`--connection-string`, the environment).
enum FuzzConnectionString {
    static func run(_ bytes: UnsafeRawBufferPointer) {
        _ = try? ConnectionString(String(decoding: bytes, as: UTF8.self))
    }
}
