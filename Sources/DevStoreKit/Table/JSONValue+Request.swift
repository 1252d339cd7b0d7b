import RelayShared

extension JSONValue {
    /// Parses a request body; malformed JSON is the service's `400 InvalidInput`, naming the byte.
    public static func parseRequest(_ body: [UInt8]) throws -> JSONValue {
        do {
            return try parse(body)
        } catch let error as JSONSyntaxError {
            throw StorageError(.invalidInput, status: 400, "the JSON body is \(error)")
        }
    }
}
