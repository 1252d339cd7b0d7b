import RelayShared

/// The paging query List Containers, List Queues and List Blobs share (`prefix`, `marker`, `maxresults`
/// 1–5000, default 5000, `include=metadata`) and the `EnumerationResults` answer they give around their items.
/// Query Tables pages with `$top` and `NextTableName` in JSON instead, so it has its own.
struct ListingQuery {
    let prefix: String
    /// The name the page starts with, from an earlier page's `NextMarker`.
    let marker: String?
    let maxResults: Int
    let includeMetadata: Bool
    /// Whether `maxresults` was sent: Azure echoes it only then.
    let echoesMaxResults: Bool

    init(_ request: StorageRequest) throws {
        prefix = request.query["prefix"] ?? ""
        marker = request.query["marker"].flatMap { $0.isEmpty ? nil : $0 }
        maxResults = try request.intQuery("maxresults", default: 5000, range: 1...5000)
        includeMetadata = (request.query["include"] ?? "").split(separator: ",").contains("metadata")
        echoesMaxResults = request.query["maxresults"] != nil
    }

    /// `200` with `<EnumerationResults>`: the echoed query, `<collection>` around `items` (XML already
    /// escaped), and the `NextMarker` of the next page, empty on the last. List Blobs names its container.
    func answer(account: String, container: String? = nil, collection: String, items: String, next: String?)
        -> StorageResponse
    {
        var xml =
            XMLText.declaration + "<EnumerationResults ServiceEndpoint=\"http://127.0.0.1/\(XMLText.escape(account))/\""
        if let container { xml += " ContainerName=\"\(XMLText.escape(container))\"" }
        xml += ">"
        if !prefix.isEmpty { xml += "<Prefix>\(XMLText.escape(prefix))</Prefix>" }
        if let marker { xml += "<Marker>\(XMLText.escape(marker))</Marker>" }
        if echoesMaxResults { xml += "<MaxResults>\(maxResults)</MaxResults>" }
        xml += "<\(collection)>\(items)</\(collection)>"
        xml += next.map { "<NextMarker>\(XMLText.escape($0))</NextMarker>" } ?? "<NextMarker />"
        xml += "</EnumerationResults>"
        var response = StorageResponse(status: 200, body: Array(xml.utf8))
        response.add("content-type", "application/xml")
        return response
    }
}
