import Foundation

/// Azure's table rules (docs/azure-rest.md, "Versions, dates and names", "Table service"): names, keys and
/// entity size, checked before any write.
enum TableRules {
    static let maxKeyCharacters = 1024
    static let maxPropertyNameCharacters = 255
    static let maxCustomProperties = 252
    static let maxPropertyValueBytes = 64 * 1024
    static let reservedNames: Set<String> = ["PartitionKey", "RowKey", "Timestamp"]

    /// `^[A-Za-z][A-Za-z0-9]{2,62}$`; names are case-insensitive, so the store keys them lowercased.
    static func tableKey(_ name: String) throws -> String {
        let bytes = Array(name.utf8)
        func isLetter(_ byte: UInt8) -> Bool {
            (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
        }
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        guard (3...63).contains(bytes.count), isLetter(bytes[0]), bytes.allSatisfy({ isLetter($0) || isDigit($0) })
        else {
            throw StorageError.badRequest(
                .invalidResourceName,
                "table name \"\(name)\" is invalid: use 3-63 letters and digits, starting with a letter")
        }
        return name.lowercased()
    }

    /// Keys are at most 1 KiB and hold no `/ \ # ?` and no control characters.
    static func checkKey(_ key: String, _ field: String) throws {
        let forbidden = key.unicodeScalars.first { scalar in
            "/\\#?".unicodeScalars.contains(scalar) || scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
        }
        if let forbidden {
            throw StorageError.badRequest(
                .outOfRangeInput,
                "\(field) \"\(key.prefix(64))\" holds the forbidden character U+\(String(forbidden.value, radix: 16, uppercase: true)); keys cannot contain / \\ # ? or control characters"
            )
        }
        guard key.utf16.count <= maxKeyCharacters else {
            throw StorageError.badRequest(
                .outOfRangeInput,
                "\(field) is \(key.utf16.count) characters long, over the limit of \(maxKeyCharacters)")
        }
    }

    /// Checks keys, property names, value sizes and the entity size as Azure computes it: 4 bytes, plus
    /// 2 per key character, plus per property 8 bytes, 2 per name character and the value's size.
    static func check(_ entity: TableEntity) throws {
        try checkKey(entity.partitionKey, "PartitionKey")
        try checkKey(entity.rowKey, "RowKey")
        let place =
            "entity (PartitionKey \"\(entity.partitionKey.prefix(64))\", RowKey \"\(entity.rowKey.prefix(64))\")"
        guard entity.properties.count <= maxCustomProperties else {
            throw StorageError.badRequest(
                .tooManyProperties,
                "\(place) has \(entity.properties.count) properties, over the limit of \(maxCustomProperties)")
        }
        var size = 4 + 2 * (entity.partitionKey.utf16.count + entity.rowKey.utf16.count)
        for (name, value) in entity.properties {
            guard !name.isEmpty, !reservedNames.contains(name) else {
                throw StorageError.badRequest(
                    .invalidInput,
                    "\(place): property name \"\(name)\" is empty or reserved (PartitionKey, RowKey, Timestamp are set through the entity)"
                )
            }
            guard name.utf16.count <= maxPropertyNameCharacters else {
                throw StorageError.badRequest(
                    .propertyNameTooLong,
                    "\(place): property name \"\(name.prefix(64))…\" is over \(maxPropertyNameCharacters) characters")
            }
            let valueSize = valueBytes(value)
            if case .string = value, valueSize - 4 > maxPropertyValueBytes {
                throw StorageError.badRequest(
                    .propertyValueTooLarge,
                    "\(place): string property \(name) is \(valueSize - 4) bytes as UTF-16, over the limit of \(maxPropertyValueBytes)"
                )
            }
            if case .binary(let bytes) = value, bytes.count > maxPropertyValueBytes {
                throw StorageError.badRequest(
                    .propertyValueTooLarge,
                    "\(place): binary property \(name) is \(bytes.count) bytes, over the limit of \(maxPropertyValueBytes)"
                )
            }
            size += 8 + 2 * name.utf16.count + valueSize
        }
        guard size <= TableLimits.maxEntityBytes else {
            throw StorageError.badRequest(
                .entityTooLarge,
                "\(place) is \(size) bytes as Azure counts them, over the limit of \(TableLimits.maxEntityBytes); store large data in a blob"
            )
        }
    }

    private static func valueBytes(_ value: TableValue) -> Int {
        switch value {
        case .string(let text): 4 + 2 * text.utf16.count
        case .binary(let bytes): 4 + bytes.count
        case .int32: 4
        case .int64, .double, .dateTime: 8
        case .bool: 1
        case .guid: 16
        }
    }
}

/// Entity versions: a store-wide counter of 100 ns ticks since 1970, raised on every write to at least
/// the current time, so that ETags are unique even for writes within one tick or after the clock steps
/// back, and read like Azure's weak ETags: `W/"datetime'2024-01-01T00%3A00%3A00.1234567Z'"`.
enum TableVersion {
    static func timestamp(_ ticks: Int64) -> Date { AzureDate.date(ticks: ticks) }

    static func etag(_ ticks: Int64) -> String {
        "W/\"datetime'\(AzureDate.iso8601(ticks: ticks, timeSeparator: "%3A"))'\""
    }
}
