import Foundation

/// The lossless binary form in which the local table stores an entity's typed properties.
///
/// Layout, little-endian: version byte 1, property count (UInt16), then per property in name order:
/// name length (UInt16), UTF-8 name, type tag (UInt8), value. Strings and binaries carry a UInt32
/// length; doubles and dates keep their exact bit patterns (NaN payloads, -0 and sub-millisecond
/// times survive).
enum TablePropertyCodec {
    private static let version: UInt8 = 1

    private enum Tag: UInt8 {
        case string = 1
        case int32 = 2
        case int64 = 3
        case double = 4
        case bool = 5
        case dateTime = 6
        case guid = 7
        case binary = 8
    }

    static func encode(_ properties: [String: TableValue]) -> [UInt8] {
        var out: [UInt8] = [version]
        append(UInt16(properties.count), to: &out)
        for name in properties.keys.sorted() {
            let nameBytes = Array(name.utf8)
            append(UInt16(nameBytes.count), to: &out)
            out += nameBytes
            switch properties[name]! {
            case .string(let text):
                out.append(Tag.string.rawValue)
                let bytes = Array(text.utf8)
                append(UInt32(bytes.count), to: &out)
                out += bytes
            case .int32(let value):
                out.append(Tag.int32.rawValue)
                append(UInt32(bitPattern: value), to: &out)
            case .int64(let value):
                out.append(Tag.int64.rawValue)
                append(UInt64(bitPattern: value), to: &out)
            case .double(let value):
                out.append(Tag.double.rawValue)
                append(value.bitPattern, to: &out)
            case .bool(let value):
                out.append(Tag.bool.rawValue)
                out.append(value ? 1 : 0)
            case .dateTime(let date):
                out.append(Tag.dateTime.rawValue)
                append(date.timeIntervalSinceReferenceDate.bitPattern, to: &out)
            case .guid(let uuid):
                out.append(Tag.guid.rawValue)
                withUnsafeBytes(of: uuid.uuid) { out += $0 }
            case .binary(let bytes):
                out.append(Tag.binary.rawValue)
                append(UInt32(bytes.count), to: &out)
                out += bytes
            }
        }
        return out
    }

    /// Decodes what `encode` wrote; `where` names the entity for the error on corrupt bytes.
    static func decode(_ bytes: [UInt8], where location: @autoclosure () -> String) throws -> [String: TableValue] {
        var reader = Reader(bytes: bytes)
        guard let properties = reader.properties() else {
            throw StorageError(
                .internalError, status: 500,
                "\(location()): the stored properties are corrupt at byte \(reader.offset) of \(bytes.count); restore the store from a backup or rewrite the entity"
            )
        }
        return properties
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    /// A bounds-checked cursor: every read answers nil rather than reading past the end.
    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func properties() -> [String: TableValue]? {
            guard take(1)?.first == TablePropertyCodec.version, let count = integer(UInt16.self) else { return nil }
            var properties: [String: TableValue] = [:]
            for _ in 0..<count {
                guard let nameLength = integer(UInt16.self),
                    let name = take(Int(nameLength)).flatMap({ String(validating: $0, as: UTF8.self) }),
                    let tag = take(1)?.first.flatMap(Tag.init(rawValue:)), let value = value(tag)
                else { return nil }
                properties[name] = value
            }
            return offset == bytes.count ? properties : nil
        }

        private mutating func value(_ tag: Tag) -> TableValue? {
            switch tag {
            case .string:
                guard let length = integer(UInt32.self),
                    let text = take(Int(length)).flatMap({ String(validating: $0, as: UTF8.self) })
                else { return nil }
                return .string(text)
            case .int32: return integer(UInt32.self).map { .int32(Int32(bitPattern: $0)) }
            case .int64: return integer(UInt64.self).map { .int64(Int64(bitPattern: $0)) }
            case .double: return integer(UInt64.self).map { .double(Double(bitPattern: $0)) }
            case .bool:
                guard let byte = take(1)?.first, byte <= 1 else { return nil }
                return .bool(byte == 1)
            case .dateTime:
                return integer(UInt64.self).map {
                    .dateTime(Date(timeIntervalSinceReferenceDate: Double(bitPattern: $0)))
                }
            case .guid:
                guard let raw = take(16) else { return nil }
                var uuid = UUID().uuid
                withUnsafeMutableBytes(of: &uuid) { $0.copyBytes(from: raw) }
                return .guid(UUID(uuid: uuid))
            case .binary:
                guard let length = integer(UInt32.self), let raw = take(Int(length)) else { return nil }
                return .binary(Array(raw))
            }
        }

        private mutating func integer<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard let raw = take(MemoryLayout<T>.size) else { return nil }
            var value = T.zero
            withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: raw) }
            return T(littleEndian: value)
        }

        private mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
            guard count <= bytes.count - offset else { return nil }
            defer { offset += count }
            return bytes[offset..<offset + count]
        }
    }
}
