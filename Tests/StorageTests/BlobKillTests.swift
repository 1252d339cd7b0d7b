import Foundation
import Testing
@testable import RelayShared

/// kill -9 of a process in the middle of page blob writes loses nothing it acknowledged, and leaves a
/// store that other processes keep using. The writer is this test bundle run again as a child process
/// with only `childWritesUntilKilled` enabled.
struct BlobKillTests {
    static let childStore = ProcessInfo.processInfo.environment["RELAY_BLOB_KILL_CHILD_STORE"]
    static let blob = BlobAddress(container: "disks", name: "killed.vhd")
    static let pageBytes = 4096
    static let blobSize: UInt64 = 1 << 30

    /// Page `index`'s content: its number in the first 8 bytes, then a byte pattern of it.
    static func page(_ index: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: index &* 31 &+ 7), count: pageBytes)
        withUnsafeBytes(of: UInt64(index).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
        return bytes
    }

    @Test func killingAWriterLosesNothingAcknowledged() async throws {
        let directory = try makeTemporaryDirectory("blob-kill")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let parent = try await LocalBlobService(store: LocalStore(path: directory))
        try await parent.createContainer("disks")
        try await parent.createPageBlob(Self.blob, size: Self.blobSize, sequenceNumber: 0, metadata: [:], conditions: .none)

        let output = directory + "/child.out"
        let child = try ChildProcess(
            executable: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
            arguments: ["--testing-library", "swift-testing", "--filter", "BlobKillTests/childWritesUntilKilled"],
            environment: ["RELAY_BLOB_KILL_CHILD_STORE": directory], output: output)
        // Let it acknowledge a few hundred writes, then kill it mid-stream.
        var acknowledged: [Int] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while acknowledged.count < 300, ContinuousClock.now < deadline, !child.hasExited {
            try await Task.sleep(for: .milliseconds(20))
            acknowledged = Self.acknowledgements(in: output)
        }
        child.kill9()
        let status = await child.exitStatus()
        #expect(status == SIGKILL, "the child ended before the kill; its output: \(String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: output))) ?? Data(), as: UTF8.self).suffix(2000))")
        acknowledged = Self.acknowledgements(in: output)
        #expect(acknowledged.count >= 300)

        // Every acknowledged page is there, with its bytes and its page range.
        let ranges = PageRangeSet(try await parent.pageRanges(Self.blob, range: nil, snapshot: nil, previousSnapshot: nil, conditions: .none).pageRanges)
        for index in acknowledged {
            let offset = UInt64(index * Self.pageBytes)
            let data = try await parent.getBlob(Self.blob, range: ByteRange(offset: offset, length: UInt64(Self.pageBytes)), snapshot: nil, conditions: .none).data
            #expect(data == Self.page(index), "page \(index) lost its bytes")
            #expect(ranges.intersection(PageRangeSet([ByteRange(offset: offset, length: UInt64(Self.pageBytes))])).ranges
                    == [ByteRange(offset: offset, length: UInt64(Self.pageBytes))], "page \(index) lost its range")
        }
        // The store still takes writes.
        try await parent.putPages(Self.blob, offset: 0, data: Self.page(0), contentMD5: nil, conditions: .none)
    }

    /// The child: writes page after page, printing `ack N` after each acknowledged write, until killed.
    @Test(.enabled(if: childStore != nil)) func childWritesUntilKilled() async throws {
        let service = try await LocalBlobService(store: LocalStore(path: try #require(Self.childStore)))
        for index in 0..<Int(Self.blobSize) / Self.pageBytes {
            try await service.putPages(Self.blob, offset: UInt64(index * Self.pageBytes), data: Self.page(index), contentMD5: nil, conditions: .none)
            FileHandle.standardOutput.write(Data("ack \(index)\n".utf8))
        }
    }

    /// The indexes the child acknowledged: complete `ack N` lines only (a kill may cut the last one).
    static func acknowledgements(in path: String) -> [Int] {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)) else { return [] }
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().compactMap { line in
            line.hasPrefix("ack ") ? Int(line.dropFirst(4)) : nil
        }
    }
}

/// A child process with its output in a file, whose exit is awaited without blocking a thread.
///
/// `@unchecked Sendable`: `process` is only started in `init` and then only signalled; the exit status
/// is guarded by `lock`.
private final class ChildProcess: @unchecked Sendable {
    private let process = Process()
    private let lock = NSLock()
    private var status: Int32?
    private var waiters: [CheckedContinuation<Int32, Never>] = []

    init(executable: String, arguments: [String], environment: [String: String], output: String) throws {
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardOutput = handle
        process.standardError = handle
        process.terminationHandler = { [weak self] process in self?.finished(process.terminationStatus) }
        try process.run()
    }

    var hasExited: Bool { lock.withLock { status != nil } }

    func kill9() { kill(process.processIdentifier, SIGKILL) }

    func exitStatus() async -> Int32 {
        await withCheckedContinuation { continuation in
            let known: Int32? = lock.withLock {
                if status == nil { waiters.append(continuation) }
                return status
            }
            if let known { continuation.resume(returning: known) }
        }
    }

    private func finished(_ code: Int32) {
        let waiting = lock.withLock {
            status = code
            defer { waiters = [] }
            return waiters
        }
        for waiter in waiting { waiter.resume(returning: code) }
    }
}
