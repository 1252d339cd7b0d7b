import Foundation
import Logging
import RelayShared

/// What one heartbeat saw of the instances sharing the control table (docs/worker.md, "Claim").
struct InstanceCensus: Equatable, Sendable {
    /// Instances whose heartbeat is recent, this one included.
    var live: Int
    /// Targets known to any live instance (the largest count any of them reported).
    var targets: Int

    /// How many targets one instance holds when they are shared out evenly: ⌈targets / live⌉.
    var share: Int { max(1, (targets + live - 1) / max(live, 1)) }
}

/// This instance's heartbeat row and the census of the others (docs/worker.md, "Claim").
struct Instances: Sendable {
    let id: String
    let table: String
    let control: ControlTable
    let services: StorageServices
    let calls: StorageCalls
    /// An instance whose row the table has not rewritten for this long is not counted.
    let staleAfter: Duration

    /// Rewrites this instance's row, then counts the live instances. The table's `Timestamp` of this
    /// row, just written, stands for "now", so that the instances' clocks never matter. Rows of
    /// instances gone for much longer than `staleAfter` are deleted (they stopped without leaving).
    func beat(claimed: Int, known: Int) async throws -> InstanceCensus {
        let row = InstanceRow(
            id: id, host: ProcessInfo.processInfo.hostName, pid: UInt64(ProcessInfo.processInfo.processIdentifier),
            claimed: UInt64(claimed), known: UInt64(known))
        _ = try await calls("Insert Or Replace Entity") {
            try await services.table.upsert(table, row.entity, mode: .replace)
        }
        let rows = try await control.query(InstanceRow.partition, from: nil, to: nil).compactMap {
            try? InstanceRow(entity: $0)
        }
        var census = InstanceCensus(live: 1, targets: known)
        guard let now = rows.first(where: { $0.id == id })?.timestamp else { return census }
        for other in rows where other.id != id {
            guard let stamp = other.timestamp else { continue }
            let age = now.timeIntervalSince(stamp)
            if age < staleAfter.seconds {
                census.live += 1
                census.targets = max(census.targets, Int(clamping: other.known))
            } else if age > staleAfter.seconds * 10 {
                try? await services.table.delete(
                    table, partitionKey: InstanceRow.partition, rowKey: other.id, ifMatch: .any)
            }
        }
        return census
    }

    /// Deletes this instance's row on a graceful stop, so that the others take its share at once.
    func leave() async {
        try? await services.table.delete(table, partitionKey: InstanceRow.partition, rowKey: id, ifMatch: .any)
    }
}
