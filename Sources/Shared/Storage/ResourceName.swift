/// Azure's rule for container and queue names (docs/azure-rest.md, "Versions, dates and names"), one
/// predicate for the local store's checks and the replication contract's target names.
enum ResourceName {
    /// 3–63 of `a-z 0-9 -`, a letter or digit at both ends, no `--`.
    static func isContainerOrQueueName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        func allowed(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-")
        }
        return (3...63).contains(bytes.count) && bytes.allSatisfy(allowed) && bytes.first != UInt8(ascii: "-")
            && bytes.last != UInt8(ascii: "-") && !name.contains("--")
    }
}
