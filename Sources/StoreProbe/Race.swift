import ArgumentParser
import Foundation
import RelayShared

extension StoreProbeCommand {
    /// Races other probes for the rounds of one row: read the row, then update it with the ETag read,
    /// advancing its `Round`. Prints `win R` for each round R this process advanced; a 412 is a loss.
    struct Race: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Race ETag-guarded updates of one row, printing each round won.")

        @OptionGroup var options: ProbeOptions
        @Option(help: "The table holding the row.") var table: String
        @Option(help: "Stop when the row's Round reaches this.") var rounds: Int
        @Option(help: "This racer's name, stored in the row when it wins.") var name: String
        @Option(help: "Pause up to this many microseconds between read and update, widening the race window.")
        var think = 0

        func run() async throws {
            let (store, deadline) = try await options.open()
            let tables = try await LocalTableService(store: store)
            var losses = 0
            while true {
                try deadline.check()
                let row = try await tables.get(table, partitionKey: "race", rowKey: "row")
                guard case .int64(let round) = row["Round"], let etag = row.etag else {
                    throw ValidationError("the race row has no Int64 Round: \(row)")
                }
                if round >= rounds { break }
                if think > 0 { try await Task.sleep(for: .microseconds(Int.random(in: 0...think))) }
                let next = TableEntity(
                    partitionKey: "race", rowKey: "row",
                    properties: ["Round": .int64(round + 1), "Winner": .string(name)])
                do {
                    try await tables.update(table, next, mode: .replace, ifMatch: .etag(etag))
                    emit("win \(round)")
                } catch let error as StorageError where error.code == .updateConditionNotSatisfied {
                    losses += 1
                }
            }
            emit("losses \(losses)")
        }
    }
}
