import Logging
import Synchronization

/// Keeps what a library logs through `logger`, for tests that check which events are logged and
/// with which metadata. Nothing is bootstrapped: the logger is made with this recorder's handler.
public final class LogRecorder: Sendable {
    public struct Record: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
    }

    private let stored = Mutex<[Record]>([])

    public init() {}

    /// A logger at `trace` whose every record lands here.
    public var logger: Logger {
        Logger(label: "test") { _ in Handler(recorder: self) }
    }

    public var records: [Record] { stored.withLock { $0 } }

    /// The records whose message contains `text`.
    public func records(containing text: String) -> [Record] { records.filter { $0.message.contains(text) } }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let record = Record(level: event.level, message: "\(event.message)", metadata: all.mapValues { "\($0)" })
            recorder.stored.withLock { $0.append(record) }
        }
    }
}
