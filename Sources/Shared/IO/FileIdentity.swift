import Glibc

/// A file as the kernel knows it (device and inode), whatever name or link reaches it: two paths name
/// the same file exactly when their identities are equal.
public struct FileIdentity: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64
    public let isDirectory: Bool

    /// The file `path` names, following symbolic links; nil if nothing is there.
    public static func of(_ path: String) -> FileIdentity? { identity(path, follow: true) }

    /// The directory entry itself: a symbolic link's own identity, not its target's.
    public static func ofLink(_ path: String) -> FileIdentity? { identity(path, follow: false) }

    private static func identity(_ path: String, follow: Bool) -> FileIdentity? {
        var info = stat()
        guard (follow ? stat(path, &info) : lstat(path, &info)) == 0 else { return nil }
        return FileIdentity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), isDirectory: info.st_mode & S_IFMT == S_IFDIR)
    }
}
