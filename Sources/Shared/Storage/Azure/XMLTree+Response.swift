extension XMLTree {
    /// Parses a service response; malformed XML is `InvalidXML` (status 0: no service status applies),
    /// naming what was being read.
    static func parseResponse(_ body: [UInt8], what: String) throws -> XMLTree {
        do {
            return try parse(body)
        } catch {
            throw StorageError(.invalidXML, status: 0, "the service's XML for \(what) cannot be parsed: \(error)")
        }
    }
}
