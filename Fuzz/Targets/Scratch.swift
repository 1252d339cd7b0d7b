import Foundation

/// One directory per fuzzing process for the targets that need files (a VHD to open, a local store),
/// in memory when /dev/shm exists; removed at exit.
enum FuzzScratch {
    static let directory: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = base + "/relay-fuzz-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            fatalError("relay-fuzz: cannot create \(path): \(error)")
        }
        atexit { try? FileManager.default.removeItem(atPath: FuzzScratch.directory) }
        return path
    }()
}
