import Foundation
import RelayShared

/// Progress of long work on stderr: a line rewritten in place on a terminal, at most every half
/// second; silent when stderr is not a terminal, so logs and pipes get only the final result.
final class ProgressMeter {
    private let label: String
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let start = ContinuousClock.now
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private var drewSomething = false

    init(label: String) {
        self.label = label
    }

    func update(done: UInt64, total: UInt64) {
        guard isTerminal else { return }
        let now = ContinuousClock.now
        guard now - lastDraw >= .milliseconds(500) || done == total else { return }
        lastDraw = now
        let seconds = max((now - start).seconds, 0.001)
        let rate = Double(done) / seconds
        let percent = total == 0 ? 100 : Double(done) * 100 / Double(total)
        var line = String(
            format: "\r%@: %5.1f%%  %@ of %@  %.1f MB/s", label, percent,
            ByteCount.binary(done), ByteCount.binary(total), rate / 1e6)
        if rate > 0, done < total {
            line += String(format: "  ETA %.0f s", Double(total - done) / rate)
        }
        FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
        drewSomething = true
    }

    func finish() {
        if drewSomething { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
