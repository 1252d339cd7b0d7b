import ArgumentParser
import Foundation
import RelayShared

extension StoreProbeCommand {
    /// The two transactional checksums a Put Page can carry, computed as the worker computes them over
    /// 4 MiB Put Page bodies: Content-MD5 (swift-crypto) and `x-ms-content-crc64` (`CRC64`), rounds
    /// alternating, one thread (scripts/bench-worker). Prints one JSON line: MB/s of each, per round.
    struct BenchChecksums: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench-checksums", abstract: "Measure Content-MD5 against CRC-64 over 4 MiB bodies (MB/s).")

        @Option(help: "Mebibytes checksummed per round.") var mib = 256
        @Option(help: "Rounds of each.") var rounds = 5

        func validate() throws {
            guard (4...(1 << 16)).contains(mib) else { throw ValidationError("--mib must be between 4 and 65536") }
            guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be between 1 and 100") }
        }

        func run() async throws {
            let chunk = 4 << 20
            var generator = SplitMix64(seed: 0xC4C5_0B10_B000)
            let chunks = (0..<mib / 4).map { _ in generator.bytes(chunk) }
            let total = Double(chunks.count * chunk)
            let (md5, crc64) = try await onThread {
                var md5: [Double] = []
                var crc64: [Double] = []
                var sink: UInt64 = 0
                for _ in 0..<rounds {
                    var start = ContinuousClock.now
                    for bytes in chunks { sink &+= UInt64(MD5.digest(bytes)[0]) }
                    md5.append(total / 1e6 / (ContinuousClock.now - start).seconds)
                    start = ContinuousClock.now
                    for bytes in chunks { sink &+= CRC64.checksum(bytes) }
                    crc64.append(total / 1e6 / (ContinuousClock.now - start).seconds)
                }
                // Keeps the results alive, so that the compiler cannot drop the work.
                if sink == 42 { print("") }
                return (md5, crc64)
            }
            let line = try JSONSerialization.data(withJSONObject: ["md5MBps": md5, "crc64MBps": crc64])
            print(String(decoding: line, as: UTF8.self))
        }
    }
}
