import ArgumentParser
import RelayShared

extension StoreProbeCommand {
    /// Writes page after page of an existing page blob, printing `ack N` after each acknowledged write,
    /// until killed (or the blob is full): the writer that the kill -9 test of page blobs kills.
    struct WritePages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "write-pages", abstract: "Put Page in a loop, printing each acknowledged page.")

        @OptionGroup var options: ProbeOptions
        @Option(help: "The page blob, container/name; it must exist.") var blob: String
        @Option(help: "Bytes per Put Page, a multiple of 512.") var pageBytes = 4096

        func run() async throws {
            let (store, deadline) = try await options.open()
            let parts = blob.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--blob must be container/name") }
            let address = BlobAddress(container: parts[0], name: parts[1])
            let service = try await LocalBlobService(store: store)
            let size = try await service.blobProperties(address, snapshot: nil, conditions: .none).size
            for index in 0..<Int(size) / pageBytes {
                try deadline.check()
                try await service.putPages(
                    address, offset: UInt64(index * pageBytes), data: Self.page(index, bytes: pageBytes),
                    checksum: nil, conditions: .none)
                emit("ack \(index)")
            }
        }

        /// Page `index`'s content: its number in the first 8 bytes, then a byte pattern of it.
        static func page(_ index: Int, bytes: Int) -> [UInt8] {
            var page = [UInt8](repeating: UInt8(truncatingIfNeeded: index &* 31 &+ 7), count: bytes)
            withUnsafeBytes(of: UInt64(index).littleEndian) { page.replaceSubrange(0..<8, with: $0) }
            return page
        }
    }
}
