import Foundation

/// Table entities to and from the service's JSON (docs/azure-rest.md, "Table service"): writes annotate every
/// type that is not inferred; reads ask for `minimalmetadata` and type each property by its `@odata.type`
/// where present, else by its JSON form, with the codec relay-devstore uses (`TableValue+JSON`).
enum AzureTableJSON {
    /// Refuses property names the JSON could not carry unambiguously (empty, or a system property's name,
    /// which would be a second `PartitionKey` member) with the service's `400 InvalidInput`.
    static func encode(_ entity: TableEntity) throws -> [UInt8] {
        if let name = entity.properties.keys.first(where: { $0.isEmpty || TableRules.reservedNames.contains($0) }) {
            throw StorageError.badRequest(
                .invalidInput,
                "property name \"\(name)\" is empty or reserved (PartitionKey, RowKey, Timestamp are set through the entity)"
            )
        }
        var members = [
            "\"PartitionKey\":\(JSONValue.quote(entity.partitionKey))", "\"RowKey\":\(JSONValue.quote(entity.rowKey))",
        ]
        for (name, value) in entity.properties.sorted(by: { $0.key < $1.key }) {
            let key = JSONValue.quote(name)
            let annotation = JSONValue.quote(name + "@odata.type")
            let (type, json) = value.json
            // Strings, Int32 and Booleans are inferred from their JSON form; every other type is annotated.
            if type != "Edm.String", type != "Edm.Int32", type != "Edm.Boolean" {
                members.append("\(annotation):\(JSONValue.quote(type))")
            }
            members.append("\(key):\(json.serialized())")
        }
        return Array(("{" + members.joined(separator: ",") + "}").utf8)
    }

    static func decode(_ json: JSONValue, table: String, etag: String?) throws -> TableEntity {
        guard case .object(let members) = json else {
            throw StorageError(.invalidJSON, status: 0, "an entity of table \(table) is not a JSON object")
        }
        var types: [String: String] = [:]
        for (key, value) in members where key.hasSuffix("@odata.type") {
            types[String(key.dropLast("@odata.type".count))] = value.stringValue
        }
        var entity = TableEntity(partitionKey: "", rowKey: "", etag: etag ?? json["odata.etag"]?.stringValue)
        for (key, value) in members where !key.hasPrefix("odata.") && !key.contains("@") {
            switch key {
            case "PartitionKey": entity.partitionKey = value.stringValue ?? ""
            case "RowKey": entity.rowKey = value.stringValue ?? ""
            case "Timestamp": entity.timestamp = value.stringValue.flatMap(AzureDate.parseISO8601)
            default:
                guard let typed = TableValue(json: value, type: types[key]) else {
                    throw StorageError(
                        .invalidJSON, status: 0,
                        "property \(key) of an entity of table \(table): cannot read \(value) as \(types[key] ?? "an untyped value")"
                    )
                }
                entity.properties[key] = typed
            }
        }
        return entity
    }
}
