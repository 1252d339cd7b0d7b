import Crypto

/// MD5, only for Azure's transactional `Content-MD5`: a checksum against corruption in transit, not a
/// security measure. swift-crypto (already linked for Shared Key's HMAC) computes it.
public enum MD5 {
    /// The 16-byte digest of `bytes`.
    public static func digest(_ bytes: [UInt8]) -> [UInt8] {
        Array(Insecure.MD5.hash(data: bytes))
    }
}
