import Foundation
import RelayShared

/// Draws a sync's progress on stderr every half second when it is a terminal (scanned, changed, sent
/// compressed, ratio, rate, ETA); silent otherwise.
final class SyncProgressDisplay: Sendable {
    private let task: Task<Void, Never>?

    init(counters: SyncCounters) {
        guard isatty(STDERR_FILENO) == 1 else {
            task = nil
            return
        }
        task = Task.detached {
            let start = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                let counts = counters.snapshot
                let seconds = max((ContinuousClock.now - start).seconds, 0.001)
                let rate = Double(counts.scannedBytes) / seconds
                let ratio = counts.changedBytes == 0 ? 0 : Double(counts.sentBytes) * 100 / Double(counts.changedBytes)
                var line = String(
                    format: "\rsync: scanned %@ of %@, changed %@, sent %@ (%.0f%%), %.1f MB/s",
                    ByteCount.binary(counts.scannedBytes), ByteCount.binary(counts.totalBytes),
                    ByteCount.binary(counts.changedBytes), ByteCount.binary(counts.sentBytes), ratio, rate / 1e6)
                if rate > 0, counts.totalBytes > counts.scannedBytes {
                    line += String(format: ", ETA %.0f s", Double(counts.totalBytes - counts.scannedBytes) / rate)
                }
                FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
            }
            FileHandle.standardError.write(Data("\n".utf8))
        }
    }

    func stop() {
        task?.cancel()
    }
}
