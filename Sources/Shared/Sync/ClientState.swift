import Foundation
import Glibc

/// The client's local state for one target of one store: a folder under the state directory
/// (default `$XDG_STATE_HOME/vhd-relay`) holding the manifest, the next manifest being written, the
/// journal of the generation being sent, the client lock's lease id and, for a raw image, its
/// generated source id (docs/replication-contract.md, "Client state").
///
/// Opening it takes an exclusive `flock` on the folder's `lock` file, held until `close()` or the
/// process ends (also by kill -9), so that two syncs of one target on one machine never share it.
/// Blocking file I/O: use from a dedicated thread.
public final class ClientState: @unchecked Sendable {
    // @unchecked Sendable: the paths are immutable and the lock descriptor is only closed by `close()`.
    public let directory: String
    private var lockDescriptor: Int32

    public var manifestPath: String { directory + "/manifest" }
    public var nextManifestPath: String { directory + "/manifest.next" }
    public var journalPath: String { directory + "/journal" }

    /// `$XDG_STATE_HOME/vhd-relay`, else `~/.local/state/vhd-relay`.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/vhd-relay" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.local/state/vhd-relay"
    }

    /// The folder name of a store: readable, plus a hash that keeps different stores apart.
    public static func storeFolder(_ configuration: StorageConfiguration) -> String {
        switch configuration {
        case .local(let path):
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            return "file-" + hashed(absolute)
        case .azure(let connectionString):
            let endpoint = connectionString.blobEndpoint?.absoluteString ?? ""
            return "azure-" + sanitized(connectionString.accountName ?? "account") + "-" + hashed(endpoint)
        }
    }

    /// Opens (creating) the state of `target` in `store` under `root`.
    public static func open(root: String, store: String, target: TargetName) throws -> ClientState {
        let directory = root + "/" + store + "/" + sanitized(target.description) + "-" + hashed(target.description)
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let lockPath = directory + "/lock"
        let descriptor = Glibc.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FileError(path: lockPath, operation: "open", offset: nil, errno: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder =
                (try? String(contentsOfFile: lockPath, encoding: .utf8))?.trimmingCharacters(
                    in: .whitespacesAndNewlines) ?? "?"
            Glibc.close(descriptor)
            throw SyncError(
                .locked,
                "another relay-client on this machine (pid \(holder)) is using the state of \(target) "
                    + "in \(directory); wait for it to finish")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return ClientState(directory: directory, lockDescriptor: descriptor)
    }

    private init(directory: String, lockDescriptor: Int32) {
        self.directory = directory
        self.lockDescriptor = lockDescriptor
    }

    deinit { close() }

    public func close() {
        guard lockDescriptor >= 0 else { return }
        Glibc.close(lockDescriptor)
        lockDescriptor = -1
    }

    /// The lease id of the client lock, made once per state folder: a client restarted after a crash
    /// takes its own lease back at once instead of waiting for it to expire.
    public func leaseID() throws -> String {
        try stored("lease-id") { UUID().uuidString.lowercased() }
    }

    /// The source id of a raw image (which has none of its own): made on the first sync, kept here.
    /// A state folder without one adopts `existing` (the id of a target made elsewhere): such a folder
    /// holds no manifest of the target either, so its first sync is full and merges nothing.
    public func rawSourceID(adopting existing: UUID?) throws -> UUID {
        let text = try stored("raw-source-id") { (existing ?? UUID()).uuidString.lowercased() }
        guard let id = UUID(uuidString: text) else {
            throw SyncError(
                .badState,
                "\(directory)/raw-source-id does not hold a UUID; restore it from a backup of the state directory")
        }
        return id
    }

    /// The contents of `name`, written from `make()` first if missing.
    private func stored(_ name: String, make: () -> String) throws -> String {
        let path = directory + "/" + name
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !value.isEmpty { return value }
        }
        let value = make()
        try write(Array((value + "\n").utf8), to: path)
        return value
    }

    /// Writes a small file atomically: a temporary file, synced, renamed over `path`.
    func write(_ bytes: [UInt8], to path: String) throws {
        let partial = path + ".partial"
        let file = try SystemFile.create(partial, mode: 0o600)
        try bytes.withUnsafeBytes { try file.write($0, at: 0) }
        try file.sync()
        try rename(partial, to: path)
    }

    func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            throw FileError(path: from, operation: "rename to \(to)", offset: nil, errno: errno)
        }
    }

    func remove(_ path: String) {
        unlink(path)
    }

    static func hashed(_ text: String) -> String {
        var text = text
        let value = text.withUTF8 { Digest.xxh3_64(UnsafeRawBufferPointer($0)) }
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Letters, digits, `.`, `-` and `_` kept, the rest `_`, at most 60 characters.
    static func sanitized(_ text: String) -> String {
        String(
            text.unicodeScalars.prefix(60).map { scalar in
                scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "._-".unicodeScalars.contains(scalar))
                    ? Character(scalar) : "_"
            })
    }
}
