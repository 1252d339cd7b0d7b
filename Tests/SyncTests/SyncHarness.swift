import Foundation
import RelayShared
import TestSupport
import Testing

/// A local store, a state directory and the oracle of one target: syncs run through `SyncSession`,
/// then the control messages are drained from the queue and their segments fed in seq order to the
/// `ReferenceApplier`, whose file must equal the source (docs/replication-contract.md).
final class SyncHarness {
    let directory: TemporaryDirectory
    let services: StorageServices
    let target: TargetName
    let stateRoot: String
    /// The state folder of the local store, as `relay-client --store file:…` names it, so that the
    /// executable and the in-process sessions share the client state.
    let storeFolder: String
    private(set) var oracle: ReferenceApplier?
    /// Every control message drained so far, by seq.
    private(set) var messages: [UInt64: ControlMessage] = [:]

    /// The local store in the harness's directory unless `configuration` names another store.
    init(
        target: String = "disks/vm1.vhd", configuration: StorageConfiguration? = nil,
        directory: TemporaryDirectory? = nil
    ) async throws {
        let directory = try directory ?? TemporaryDirectory()
        self.directory = directory
        let configuration = configuration ?? .local(path: directory.file("store"))
        services = try await configuration.services()
        self.target = try TargetName(target)
        stateRoot = directory.file("state")
        storeFolder = ClientState.storeFolder(configuration)
    }

    func request(_ source: String, _ options: SyncOptions = SyncOptions(threads: 2)) -> SyncSession.Request {
        SyncSession.Request(
            source: source, target: target, options: options, stateRoot: stateRoot, storeFolder: storeFolder)
    }

    @discardableResult
    func sync(_ source: String, _ options: SyncOptions = SyncOptions(threads: 2)) async throws -> SyncSummary {
        try await SyncSession(services: services, request: request(source, options)).run()
    }

    /// Drains the control queue: each seq's messages must all name the same segment. With `through`,
    /// keeps polling (messages may be invisible for a while after a lost answer) until every seq up to
    /// it has arrived.
    func drainQueue(through: UInt64? = nil) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let batch = try await services.queue.getMessages(ControlNames.defaultQueue, count: 32, visibilityTimeout: 2)
            if batch.isEmpty {
                guard let through, ContinuousClock.now < deadline,
                    (1...through).contains(where: { messages[$0] == nil })
                else { return }
                try await Task.sleep(for: .milliseconds(500))
            }
            for received in batch {
                let message = try ControlMessage(parsing: received.text)
                if let earlier = messages[message.seq] {
                    #expect(earlier == message, "seq \(message.seq) was enqueued with two different segments")
                }
                messages[message.seq] = message
                do {
                    try await services.queue.deleteMessage(
                        ControlNames.defaultQueue, id: received.id, popReceipt: received.popReceipt)
                } catch let error as StorageError where error.status == 404 {
                    // Deleted by an attempt whose answer was lost.
                }
            }
        }
    }

    /// Drains the queue and applies every new seq, in order, to the oracle; seqs must be contiguous.
    func applyEnqueued(virtualSize: UInt64, through: UInt64? = nil) async throws {
        try await drainQueue(through: through)
        let oracle =
            try oracle
            ?? ReferenceApplier(
                path: directory.file("oracle"), target: target,
                diskSize: VHDFooter.targetSize(forVirtualSize: virtualSize))
        self.oracle = oracle
        let highest = messages.keys.max() ?? 0
        guard highest > oracle.appliedSeq else { return }
        for seq in (oracle.appliedSeq + 1)...highest {
            let message = try #require(messages[seq], "seq \(seq) was skipped: never enqueued")
            let segment = try await services.blob.getBlob(
                BlobAddress(container: ControlNames.defaultContainer, name: message.blob), range: nil, snapshot: nil,
                conditions: .none)
            #expect(segment.data.count == message.segmentBytes)
            try oracle.apply(segment.data)
        }
    }

    /// The oracle's bytes must be the source's, and zeros up to the target size.
    func expectOracleMatches(_ source: String) throws {
        let disk = try DiskImage.open(source)
        let oracle = try #require(oracle)
        let chunk: UInt64 = 1 << 20
        var offset: UInt64 = 0
        var differing: [UInt64] = []
        while offset < oracle.diskSize {
            let length = min(chunk, oracle.diskSize - offset)
            var expected = [UInt8](repeating: 0, count: Int(length))
            let readable = offset < disk.virtualSize ? min(length, disk.virtualSize - offset) : 0
            if readable > 0 {
                try expected.withUnsafeMutableBytes {
                    try disk.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<Int(readable)]), at: offset)
                }
            }
            if try oracle.read(ByteRange(offset: offset, length: length)) != expected { differing.append(offset) }
            offset += length
        }
        #expect(differing.isEmpty, "the oracle differs from \(source) in the MiB at \(differing.prefix(5))")
    }

    /// The target page blob exists with the source's identity and ends with a valid fixed footer.
    func expectTargetBlob(virtualSize: UInt64) async throws {
        let size = VHDFooter.targetSize(forVirtualSize: virtualSize)
        let properties = try await services.blob.blobProperties(target.address, snapshot: nil, conditions: .none)
        #expect(properties.size == size + 512)
        #expect(properties.metadata["relayvirtualsize"] == String(virtualSize))
        let tail = try await services.blob.getBlob(
            target.address, range: ByteRange(offset: size, length: 512), snapshot: nil, conditions: .none)
        let footer = try VHDFooter(parsing: tail.data, path: target.description, structure: .footer, offset: size)
        #expect(footer.diskType == .fixed)
        #expect(footer.currentSize == size)
    }
}

/// The sizes of the non-zero `blockSize` blocks of a raw image: what generation 1 must send.
func nonZeroBytes(ofRaw path: String, blockSize: Int) throws -> UInt64 {
    let bytes = try contents(of: path)
    var total: UInt64 = 0
    var offset = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + blockSize)
        if bytes[offset..<end].contains(where: { $0 != 0 }) { total += UInt64((end - offset + 511) / 512 * 512) }
        offset = end
    }
    return total
}
