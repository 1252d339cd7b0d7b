import RelayShared

extension XMLTree {
    /// Parses a request body; malformed XML is the service's `400 InvalidXmlDocument`.
    static func parseRequest(_ body: [UInt8]) throws -> XMLTree {
        do {
            return try parse(body)
        } catch {
            throw StorageError(.invalidXmlDocument, status: 400, "XML specified is not syntactically valid: \(error)")
        }
    }
}
