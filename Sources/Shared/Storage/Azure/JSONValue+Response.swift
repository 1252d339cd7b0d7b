extension JSONValue {
    /// Parses a service response; malformed JSON is `InvalidJSON` (status 0: no service status applies),
    /// naming what was being read.
    static func parseResponse(_ body: [UInt8], what: String) throws -> JSONValue {
        do {
            return try parse(body)
        } catch let error as JSONSyntaxError {
            throw StorageError(.invalidJSON, status: 0, "the service's JSON for \(what) is \(error)")
        }
    }
}
