import Foundation

/// Table entities to and from the service's JSON (reference §5.2): writes annotate every type that is not
/// inferred; reads ask for `minimalmetadata` and type each property by its `@odata.type` where present,
/// else by its JSON form (a number with a fraction or exponent is a Double, a whole one an Int32).
enum AzureTableJSON {
    /// Refuses property names the JSON could not carry unambiguously (empty, or a system property's name,
    /// which would be a second `PartitionKey` member) with the service's `400 InvalidInput`.
    static func encode(_ entity: TableEntity) throws -> [UInt8] {
        if let name = entity.properties.keys.first(where: { $0.isEmpty || TableRules.reservedNames.contains($0) }) {
            throw StorageError.badRequest(.invalidInput, "property name \"\(name)\" is empty or reserved (PartitionKey, RowKey, Timestamp are set through the entity)")
        }
        var members = ["\"PartitionKey\":\(JSONValue.quote(entity.partitionKey))", "\"RowKey\":\(JSONValue.quote(entity.rowKey))"]
        for (name, value) in entity.properties.sorted(by: { $0.key < $1.key }) {
            let key = JSONValue.quote(name)
            let annotation = JSONValue.quote(name + "@odata.type")
            switch value {
            case .string(let text): members.append("\(key):\(JSONValue.quote(text))")
            case .int32(let number): members.append("\(key):\(number)")
            case .bool(let flag): members.append("\(key):\(flag)")
            case .int64(let number): members.append("\(annotation):\"Edm.Int64\",\(key):\"\(number)\"")
            case .double(let number):
                let text = number.isNaN ? "\"NaN\"" : number.isInfinite ? (number < 0 ? "\"-Infinity\"" : "\"Infinity\"") : "\(number)"
                members.append("\(annotation):\"Edm.Double\",\(key):\(text)")
            case .dateTime(let date): members.append("\(annotation):\"Edm.DateTime\",\(key):\"\(AzureDate.iso8601(date))\"")
            case .guid(let uuid): members.append("\(annotation):\"Edm.Guid\",\(key):\"\(uuid.uuidString.lowercased())\"")
            case .binary(let bytes): members.append("\(annotation):\"Edm.Binary\",\(key):\"\(Data(bytes).base64EncodedString())\"")
            }
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
                guard let typed = property(value, type: types[key]) else {
                    throw StorageError(.invalidJSON, status: 0, "property \(key) of an entity of table \(table): cannot read \(value) as \(types[key] ?? "an untyped value")")
                }
                entity.properties[key] = typed
            }
        }
        return entity
    }

    static func property(_ value: JSONValue, type: String?) -> TableValue? {
        switch (type, value) {
        case ("Edm.Int64", .string(let text)), ("Edm.Int64", .number(let text)): return Int64(text).map(TableValue.int64)
        case ("Edm.Int32", .number(let text)): return Int32(text).map(TableValue.int32)
        case ("Edm.Double", .number(let text)): return Double(text).map(TableValue.double)
        case ("Edm.Double", .string(let text)):
            switch text {
            case "NaN": return .double(.nan)
            case "Infinity": return .double(.infinity)
            case "-Infinity": return .double(-.infinity)
            default: return Double(text).map(TableValue.double)
            }
        case ("Edm.DateTime", .string(let text)): return AzureDate.parseISO8601(text).map(TableValue.dateTime)
        case ("Edm.Guid", .string(let text)): return UUID(uuidString: text).map(TableValue.guid)
        case ("Edm.Binary", .string(let text)): return Data(base64Encoded: text).map { .binary([UInt8]($0)) }
        case ("Edm.Boolean", .bool(let flag)), (nil, .bool(let flag)): return .bool(flag)
        case ("Edm.String", .string(let text)), (nil, .string(let text)): return .string(text)
        case (nil, .number(let text)):
            if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let number = Int32(text) { return .int32(number) }
            return Double(text).map(TableValue.double)
        default: return nil
        }
    }
}
