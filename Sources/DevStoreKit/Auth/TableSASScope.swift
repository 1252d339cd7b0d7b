import RelayShared

/// What a table service SAS confines its holder to, once `SASVerifier` has checked the signature over
/// these fields: one table (`tn`) and an inclusive range of keys from (`spk`, `srk`) to (`epk`, `erk`)
/// (Microsoft's "Create a service SAS", table section). Keys compare as Azure orders them, by code unit
/// (UTF-8 byte order here, as the local store sorts). Entities outside the range are refused with
/// `403 AuthorizationFailure` and left out of query results.
struct TableSASScope: Sendable {
    var table: String?
    var startPartitionKey: String?
    var startRowKey: String?
    var endPartitionKey: String?
    var endRowKey: String?

    /// The scope of a request authenticated by a SAS, nil for Shared Key (the authenticator prefers the
    /// Authorization header when both are present) or an account SAS without table fields.
    init?(_ request: StorageRequest) {
        guard request.isAuthenticatedBySAS else { return nil }
        let q = request.query
        table = q["tn"]
        startPartitionKey = q["spk"]
        startRowKey = q["srk"]
        endPartitionKey = q["epk"]
        endRowKey = q["erk"]
        guard table != nil || startPartitionKey != nil || endPartitionKey != nil else { return nil }
    }

    /// Throws unless `table` is the SAS's table.
    func check(table name: String) throws {
        if let table, table.lowercased() != name.lowercased() {
            throw StorageError(
                .authorizationFailure, status: 403,
                "This request is not authorized to perform this operation: the SAS is for table \(table), not \(name)")
        }
    }

    /// Throws unless the entity is the SAS's table and inside its key range.
    func check(table name: String, partitionKey: String, rowKey: String) throws {
        try check(table: name)
        guard contains(partitionKey: partitionKey, rowKey: rowKey) else {
            throw StorageError(
                .authorizationFailure, status: 403,
                "This request is not authorized to perform this operation: the entity's keys are outside the range the SAS grants"
            )
        }
    }

    func contains(partitionKey: String, rowKey: String) -> Bool {
        if let start = startPartitionKey {
            if Self.less(partitionKey, start) { return false }
            if partitionKey == start, let startRow = startRowKey, Self.less(rowKey, startRow) { return false }
        }
        if let end = endPartitionKey {
            if Self.less(end, partitionKey) { return false }
            if partitionKey == end, let endRow = endRowKey, Self.less(endRow, rowKey) { return false }
        }
        return true
    }

    private static func less(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}
