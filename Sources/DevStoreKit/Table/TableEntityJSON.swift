import Foundation
import RelayShared

/// Entities to and from the Table service's JSON (docs/azure-rest.md, "Table service"): `@odata.type`
/// annotations on input, and on output the annotations of the metadata level the client asked for.
public enum TableEntityJSON {
    public enum Metadata: Sendable {
        case none, minimal, full

        /// From `$format`, else `Accept`; `application/json` alone means minimal, as Azure treats it.
        static func of(_ request: StorageRequest) throws -> Metadata {
            let accept =
                (request.query["$format"] ?? request.header("accept") ?? "application/json;odata=minimalmetadata")
                .lowercased()
            if accept.contains("nometadata") { return .none }
            if accept.contains("fullmetadata") { return .full }
            if accept.contains("json") || accept.contains("*/*") { return .minimal }
            throw StorageError(
                .atomFormatNotSupported, status: 415,
                "Atom (XML) is not supported; send Accept: application/json;odata=nometadata or minimalmetadata")
        }

        var contentType: String {
            let level =
                switch self {
                case .none: "nometadata"
                case .minimal: "minimalmetadata"
                case .full: "fullmetadata"
                }
            return "application/json;odata=\(level);streaming=true;charset=utf-8"
        }
    }

    // MARK: Decoding

    static func invalid(_ what: String) -> StorageError {
        StorageError(.invalidInput, status: 400, "One of the request inputs is not valid: \(what)")
    }

    /// The entity a request body describes; `keys` from the URL win over the body's (Update, Merge).
    public static func entity(from body: [UInt8], keys: (partitionKey: String, rowKey: String)? = nil) throws
        -> TableEntity
    {
        guard case .object(let members) = try JSONValue.parseRequest(body) else {
            throw invalid("the body must be a JSON object")
        }
        var types: [String: String] = [:]
        for (name, value) in members where name.hasSuffix("@odata.type") {
            guard let type = value.stringValue else { throw invalid("\(name) must be a string") }
            types[String(name.dropLast("@odata.type".count))] = type
        }
        var partitionKey = keys?.partitionKey
        var rowKey = keys?.rowKey
        var properties: [String: TableValue] = [:]
        for (name, value) in members {
            if name.hasPrefix("odata.") || name.hasSuffix("@odata.type") || name == "Timestamp" { continue }
            if name == "PartitionKey" || name == "RowKey" {
                guard let key = value.stringValue else { throw invalid("\(name) must be a string") }
                if name == "PartitionKey" { partitionKey = partitionKey ?? key } else { rowKey = rowKey ?? key }
                continue
            }
            if case .null = value { continue }
            guard properties[name] == nil else {
                throw StorageError(.duplicatePropertiesSpecified, status: 400, "property \(name) appears twice")
            }
            properties[name] = try self.value(value, type: types[name], name: name)
        }
        guard let partitionKey, let rowKey else {
            throw StorageError(.propertiesNeedValue, status: 400, "PartitionKey and RowKey are required")
        }
        return TableEntity(partitionKey: partitionKey, rowKey: rowKey, properties: properties)
    }

    private static func value(_ json: JSONValue, type: String?, name: String) throws -> TableValue {
        guard let value = TableValue(json: json, type: type) else {
            throw StorageError(
                .invalidValueType, status: 400,
                "the value of property \(name) is not a valid \(type ?? "untyped value")")
        }
        return value
    }

    // MARK: Encoding

    /// The entity as JSON members at `metadata`'s level; `select` keeps only the named properties.
    public static func members(
        of entity: TableEntity, metadata: Metadata, select: Set<String>?, baseURL: String, table: String
    ) -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = []
        if metadata == .full {
            let id =
                "\(baseURL)/\(table)(PartitionKey='\(TableAddress.quote(entity.partitionKey))',RowKey='\(TableAddress.quote(entity.rowKey))')"
            out.append(("odata.type", .string("\(baseURL.split(separator: "/").last.map(String.init) ?? "").\(table)")))
            out.append(("odata.id", .string(id)))
        }
        if metadata != .none, let etag = entity.etag { out.append(("odata.etag", .string(etag))) }
        if metadata == .full {
            out.append(
                (
                    "odata.editLink",
                    .string(
                        "\(table)(PartitionKey='\(TableAddress.quote(entity.partitionKey))',RowKey='\(TableAddress.quote(entity.rowKey))')"
                    )
                ))
        }
        func wanted(_ name: String) -> Bool { select?.contains(name) ?? true }
        if wanted("PartitionKey") { out.append(("PartitionKey", .string(entity.partitionKey))) }
        if wanted("RowKey") { out.append(("RowKey", .string(entity.rowKey))) }
        if wanted("Timestamp"), let timestamp = entity.timestamp {
            if metadata == .full { out.append(("Timestamp@odata.type", .string("Edm.DateTime"))) }
            out.append(("Timestamp", .string(AzureDate.iso8601(timestamp))))
        }
        for name in entity.properties.keys.sorted() where wanted(name) {
            let (type, json) = entity.properties[name]!.json
            let annotate: Bool =
                switch metadata {
                case .none: false
                case .full: type != "Edm.String"
                case .minimal:
                    switch entity.properties[name]! {
                    case .int64, .dateTime, .guid, .binary: true
                    case .double(let double): !double.isFinite
                    default: false
                    }
                }
            if annotate { out.append(("\(name)@odata.type", .string(type))) }
            out.append((name, json))
        }
        return out
    }
}

/// A Table URL's resource: `Tables`, `mytable()`, or `mytable(PartitionKey='p',RowKey='r')`, with
/// quotes doubled inside keys.
struct TableAddress: Sendable {
    var table: String
    var keys: (partitionKey: String, rowKey: String)?

    init(segment: String) throws {
        guard let open = segment.firstIndex(of: "(") else {
            table = segment
            return
        }
        table = String(segment[..<open])
        guard segment.hasSuffix(")") else {
            throw TableEntityJSON.invalid("the resource '\(segment)' has no closing parenthesis")
        }
        let inside = segment[segment.index(after: open)..<segment.index(before: segment.endIndex)]
        if inside.isEmpty { return }
        var values: [String: String] = [:]
        var rest = Substring(inside)
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "=") else {
                throw TableEntityJSON.invalid("the key list '\(inside)' is malformed")
            }
            let name = String(rest[..<equals]).trimmingCharacters(in: .whitespaces)
            rest = rest[rest.index(after: equals)...]
            guard rest.first == "'" else { throw TableEntityJSON.invalid("the key \(name) must be quoted") }
            rest = rest.dropFirst()
            var value = ""
            while true {
                guard let quote = rest.firstIndex(of: "'") else {
                    throw TableEntityJSON.invalid("the key \(name) has no closing quote")
                }
                value += rest[..<quote]
                rest = rest[rest.index(after: quote)...]
                if rest.first == "'" {
                    value += "'"
                    rest = rest.dropFirst()
                } else {
                    break
                }
            }
            values[name] = value
            if rest.first == "," { rest = rest.dropFirst() }
        }
        guard let partitionKey = values["PartitionKey"], let rowKey = values["RowKey"], values.count == 2 else {
            throw TableEntityJSON.invalid("an entity is addressed as (PartitionKey='…',RowKey='…')")
        }
        keys = (partitionKey, rowKey)
    }

    static func quote(_ key: String) -> String { key.replacingOccurrences(of: "'", with: "''") }
}
