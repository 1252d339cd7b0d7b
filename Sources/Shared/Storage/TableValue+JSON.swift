import Foundation

/// One table property codec for the Azure backend and relay-devstore (Microsoft's "Payload format for
/// Table service operations"): a value's EDM type name and JSON form, and back. An untyped JSON number
/// is an `Edm.Int32` when it is whole and fits, otherwise an `Edm.Double`, as the service infers it:
/// whole numbers beyond Int32 are Doubles unless annotated `Edm.Int64` (which travels as a string).
extension TableValue {
    /// The EDM type name and the JSON form. Whole doubles print as `2.0`, so they read back as Doubles.
    public var json: (type: String, value: JSONValue) {
        switch self {
        case .string(let text): ("Edm.String", .string(text))
        case .int32(let int): ("Edm.Int32", .number(String(int)))
        case .int64(let int): ("Edm.Int64", .string(String(int)))
        case .double(let double):
            if double.isNaN {
                ("Edm.Double", .string("NaN"))
            } else if double.isInfinite {
                ("Edm.Double", .string(double > 0 ? "Infinity" : "-Infinity"))
            } else {
                ("Edm.Double", .number("\(double)"))
            }
        case .bool(let flag): ("Edm.Boolean", .bool(flag))
        case .dateTime(let date): ("Edm.DateTime", .string(AzureDate.iso8601(date)))
        case .guid(let uuid): ("Edm.Guid", .string(uuid.uuidString.lowercased()))
        case .binary(let bytes): ("Edm.Binary", .string(Data(bytes).base64EncodedString()))
        }
    }

    /// The value of `json` annotated `type` (nil: inferred from the JSON form); nil when they disagree.
    public init?(json: JSONValue, type: String?) {
        switch (type, json) {
        case (nil, .string(let text)), ("Edm.String", .string(let text)): self = .string(text)
        case (nil, .bool(let flag)), ("Edm.Boolean", .bool(let flag)): self = .bool(flag)
        case (nil, .number(let text)):
            if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let int = Int32(text) {
                self = .int32(int)
            } else if let double = Double(text), double.isFinite {
                self = .double(double)
            } else {
                return nil
            }
        case ("Edm.Int32", .number(let text)):
            guard let int = Int32(text) else { return nil }
            self = .int32(int)
        case ("Edm.Int64", .string(let text)), ("Edm.Int64", .number(let text)):
            guard let int = Int64(text) else { return nil }
            self = .int64(int)
        case ("Edm.Double", .number(let text)):
            guard let double = Double(text), double.isFinite else { return nil }
            self = .double(double)
        case ("Edm.Double", .string(let text)):
            switch text {
            case "NaN": self = .double(.nan)
            case "Infinity": self = .double(.infinity)
            case "-Infinity": self = .double(-.infinity)
            default:
                guard let double = Double(text), double.isFinite else { return nil }
                self = .double(double)
            }
        case ("Edm.DateTime", .string(let text)):
            guard let date = AzureDate.parseISO8601(text) else { return nil }
            self = .dateTime(date)
        case ("Edm.Guid", .string(let text)):
            guard let uuid = UUID(uuidString: text) else { return nil }
            self = .guid(uuid)
        case ("Edm.Binary", .string(let text)):
            guard let data = Data(base64Encoded: text) else { return nil }
            self = .binary([UInt8](data))
        default:
            return nil
        }
    }
}
