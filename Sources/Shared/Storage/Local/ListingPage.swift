/// One page of a listing of containers, queues or tables, in name order: what List Containers, List
/// Queues and Query Tables answer (docs/azure-rest.md). These are operators' calls, served by the local
/// store alone; the replication protocols need none of them.
public struct ListingPage<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Where the next page starts (the first name not returned); nil on the last page.
    public var next: String?

    public init(items: [Item], next: String?) {
        self.items = items
        self.next = next
    }
}
