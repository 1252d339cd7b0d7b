import Foundation

/// Reads the typed properties of a control table row, refusing what the contract does not allow: every
/// row is checked as hostile input, since anyone with write access to the table can put anything there.
struct ControlEntityReader {
    let entity: TableEntity
    let row: String

    init(_ entity: TableEntity) {
        self.entity = entity
        row = "row \(TargetName.printable(entity.rowKey))"
    }

    private func field(_ name: String) -> String { "\(row).\(name)" }

    func optionalValue(_ name: String) -> TableValue? { entity.properties[name] }

    func uint64(_ name: String, in range: ClosedRange<UInt64> = 0...UInt64(Int64.max)) throws(ControlError) -> UInt64 {
        guard let value = try optionalUInt64(name, in: range) else {
            throw ControlError(.missingField, field: field(name), "required")
        }
        return value
    }

    func optionalUInt64(_ name: String, in range: ClosedRange<UInt64> = 0...UInt64(Int64.max)) throws(ControlError)
        -> UInt64?
    {
        let number: Int64
        switch entity.properties[name] {
        case nil: return nil
        case .int64(let value): number = value
        case .int32(let value): number = Int64(value)
        default: throw ControlError(.wrongType, field: field(name), "expected an Edm.Int64")
        }
        guard number >= 0, range.contains(UInt64(number)) else {
            throw ControlError(
                .outOfRange, field: field(name), "\(number) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return UInt64(number)
    }

    func string(_ name: String) throws(ControlError) -> String {
        guard let value = try optionalString(name) else {
            throw ControlError(.missingField, field: field(name), "required")
        }
        return value
    }

    func optionalString(_ name: String) throws(ControlError) -> String? {
        switch entity.properties[name] {
        case nil: return nil
        case .string(let value): return value
        default: throw ControlError(.wrongType, field: field(name), "expected an Edm.String")
        }
    }

    func bool(_ name: String) throws(ControlError) -> Bool {
        switch entity.properties[name] {
        case nil: return false
        case .bool(let value): return value
        default: throw ControlError(.wrongType, field: field(name), "expected an Edm.Boolean")
        }
    }

    func optionalDate(_ name: String) throws(ControlError) -> Date? {
        switch entity.properties[name] {
        case nil: return nil
        case .dateTime(let value): return value
        default: throw ControlError(.wrongType, field: field(name), "expected an Edm.DateTime")
        }
    }

    func date(_ name: String) throws(ControlError) -> Date {
        guard let value = try optionalDate(name) else {
            throw ControlError(.missingField, field: field(name), "required")
        }
        return value
    }

    func uuid(_ name: String) throws(ControlError) -> UUID {
        guard let uuid = UUID(uuidString: try string(name)) else {
            throw ControlError(.wrongType, field: field(name), "expected a UUID")
        }
        return uuid
    }

    func digest(_ name: String) throws(ControlError) -> XXH128 {
        guard let digest = XXH128(hex: try string(name)) else {
            throw ControlError(.wrongType, field: field(name), "expected 32 lowercase hex digits")
        }
        return digest
    }

    func fail(_ code: ControlError.Code, _ name: String, _ detail: String) -> ControlError {
        ControlError(code, field: field(name), detail)
    }
}

extension TableValue {
    /// A count or seq as the table stores it; the rows' types keep every such value ≤ Int64.max.
    static func count(_ value: UInt64) -> TableValue {
        precondition(value <= UInt64(Int64.max), "\(value) does not fit an Edm.Int64")
        return .int64(Int64(value))
    }
}
