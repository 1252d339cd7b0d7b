import Logging

/// Log records both backends write the same way, so that one query finds them whatever the store.
extension Logger {
    /// A page write refused with `412 SequenceNumberConditionNotMet`: the blob's sequence number moved
    /// past the writer's condition, so another writer took over (or a stale copy was stopped).
    func pageWriteFenced(_ blob: BlobAddress, _ conditions: BlobConditions) {
        let condition = [
            ("lt", conditions.ifSequenceNumberLessThan), ("le", conditions.ifSequenceNumberLessThanOrEqual),
            ("eq", conditions.ifSequenceNumberEqual),
        ].compactMap { name, value in value.map { "\(name) \($0)" } }.joined(separator: ", ")
        notice(
            "page write fenced off by the blob's sequence number",
            metadata: [
                "blob.name": "\(blob)", "blob.sequence_number_condition": "\(condition)",
            ])
    }
}
