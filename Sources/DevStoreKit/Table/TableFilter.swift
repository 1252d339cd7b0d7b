import Foundation
import RelayShared

/// An OData `$filter` of the Table service (docs/azure-rest.md, "Table service"): comparisons `eq ne gt ge lt
/// le` between a property and a literal, combined with `and`, `or`, `not` and parentheses. Parsed once,
/// evaluated on each entity of the partition the filter pins; its top-level `PartitionKey eq` and `RowKey`
/// bounds narrow the store query.
public indirect enum TableFilter: Sendable {
    case and(TableFilter, TableFilter)
    case or(TableFilter, TableFilter)
    case not(TableFilter)
    case compare(property: String, op: Operator, literal: TableValue)

    public enum Operator: String, Sendable {
        case eq, ne, gt, ge, lt, le

        /// The operator with its operands swapped: `5 lt X` is `X gt 5`.
        var flipped: Operator {
            switch self {
            case .eq, .ne: self
            case .gt: .lt
            case .ge: .le
            case .lt: .gt
            case .le: .ge
            }
        }
    }

    /// Filters longer than this are refused before parsing (Azure allows 15 comparisons; text is bounded too).
    static let maximumLength = 8192

    public static func parse(_ text: String) throws -> TableFilter {
        guard text.utf8.count <= maximumLength else {
            throw StorageError(.invalidInput, status: 400, "$filter is longer than \(maximumLength) bytes")
        }
        var parser = Parser(tokens: try Lexer.tokens(text))
        let filter = try parser.orExpression(depth: 0)
        guard parser.index == parser.tokens.count else { throw Parser.error("unexpected text after the expression") }
        return filter
    }

    // MARK: Evaluation

    public func matches(_ entity: TableEntity) -> Bool {
        switch self {
        case .and(let a, let b): a.matches(entity) && b.matches(entity)
        case .or(let a, let b): a.matches(entity) || b.matches(entity)
        case .not(let a): !a.matches(entity)
        case .compare(let property, let op, let literal):
            Self.compare(Self.value(of: property, in: entity), op, literal)
        }
    }

    static func value(of property: String, in entity: TableEntity) -> TableValue? {
        switch property {
        case "PartitionKey": .string(entity.partitionKey)
        case "RowKey": .string(entity.rowKey)
        case "Timestamp": entity.timestamp.map { .dateTime($0) }
        default: entity.properties[property]
        }
    }

    /// Values of different kinds never match (numbers compare across Int32, Int64 and Double).
    static func compare(_ lhs: TableValue?, _ op: Operator, _ rhs: TableValue) -> Bool {
        guard let lhs else { return false }
        let order: Int?
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)):
            order = a == b ? 0 : (a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1)
        case (.bool(let a), .bool(let b)): order = a == b ? 0 : (op == .eq || op == .ne ? 1 : nil)
        case (.dateTime(let a), .dateTime(let b)): order = a == b ? 0 : (a < b ? -1 : 1)
        case (.guid(let a), .guid(let b)): order = a == b ? 0 : (op == .eq || op == .ne ? 1 : nil)
        case (.binary(let a), .binary(let b)): order = a == b ? 0 : (op == .eq || op == .ne ? 1 : nil)
        default:
            guard let a = number(lhs), let b = number(rhs) else { return false }
            if case .int64(let x) = lhs, case .int64(let y) = rhs {
                order = x == y ? 0 : (x < y ? -1 : 1)
            } else if a.isNaN || b.isNaN {
                order = nil
            } else {
                order = a == b ? 0 : (a < b ? -1 : 1)
            }
        }
        guard let order else { return false }
        switch op {
        case .eq: return order == 0
        case .ne: return order != 0
        case .gt: return order > 0
        case .ge: return order >= 0
        case .lt: return order < 0
        case .le: return order <= 0
        }
    }

    private static func number(_ value: TableValue) -> Double? {
        switch value {
        case .int32(let int): Double(int)
        case .int64(let int): Double(int)
        case .double(let double): double
        default: nil
        }
    }

    // MARK: Query narrowing

    /// The comparisons that every match must satisfy (the top-level `and` chain).
    var conjuncts: [TableFilter] {
        if case .and(let a, let b) = self { return a.conjuncts + b.conjuncts }
        return [self]
    }

    /// The partition the filter pins with a top-level `PartitionKey eq '…'`.
    public var partitionKey: String? {
        for case .compare("PartitionKey", .eq, .string(let key)) in conjuncts { return key }
        return nil
    }

    /// RowKey bounds implied by the top-level chain: `from` inclusive, `to` exclusive, `through` inclusive.
    public var rowKeyBounds: (from: String?, to: String?, through: String?) {
        var from: String?
        var to: String?
        var through: String?
        func raise(_ key: String) {
            if from.map({ $0.utf8.lexicographicallyPrecedes(key.utf8) }) ?? true { from = key }
        }
        for case .compare("RowKey", let op, .string(let key)) in conjuncts {
            switch op {
            case .eq:
                raise(key)
                through = key
            case .gt, .ge: raise(key)
            case .lt: if to.map({ key.utf8.lexicographicallyPrecedes($0.utf8) }) ?? true { to = key }
            case .le: if through.map({ key.utf8.lexicographicallyPrecedes($0.utf8) }) ?? true { through = key }
            case .ne: break
            }
        }
        return (from, to, through)
    }

    // MARK: Lexing and parsing

    enum Token: Equatable, Sendable {
        case identifier(String)
        case literal(TableValueBox)
        case open, close
    }

    /// `TableValue` made `Equatable` for tokens (NaN never appears in a literal).
    struct TableValueBox: Equatable, Sendable {
        var value: TableValue
    }

    private enum Lexer {
        static func tokens(_ text: String) throws -> [Token] {
            let scalars = Array(text.unicodeScalars)
            var index = 0
            var tokens: [Token] = []
            func quoted() throws -> String {
                // At an opening quote; doubled quotes stand for one.
                index += 1
                var value = String.UnicodeScalarView()
                while true {
                    guard index < scalars.count else { throw Parser.error("unterminated string literal") }
                    if scalars[index] == "'" {
                        if index + 1 < scalars.count, scalars[index + 1] == "'" {
                            value.append("'")
                            index += 2
                            continue
                        }
                        index += 1
                        return String(value)
                    }
                    value.append(scalars[index])
                    index += 1
                }
            }
            while index < scalars.count {
                let c = scalars[index]
                if c == " " || c == "\t" || c == "\n" || c == "\r" {
                    index += 1
                    continue
                }
                if c == "(" {
                    tokens.append(.open)
                    index += 1
                    continue
                }
                if c == ")" {
                    tokens.append(.close)
                    index += 1
                    continue
                }
                if c == "'" {
                    tokens.append(.literal(TableValueBox(value: .string(try quoted()))))
                    continue
                }
                if c == "-" || ("0"..."9").contains(c) {
                    let start = index
                    index += 1
                    while index < scalars.count,
                        ("0"..."9").contains(scalars[index]) || [".", "e", "E", "+", "-"].contains(scalars[index])
                    {
                        index += 1
                    }
                    let text = String(String.UnicodeScalarView(scalars[start..<index]))
                    if index < scalars.count, scalars[index] == "L" || scalars[index] == "l" {
                        index += 1
                        guard let value = Int64(text) else { throw Parser.error("'\(text)L' is not an Int64") }
                        tokens.append(.literal(TableValueBox(value: .int64(value))))
                    } else if let value = Int32(text) {
                        tokens.append(.literal(TableValueBox(value: .int32(value))))
                    } else if !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let value = Int64(text) {
                        tokens.append(.literal(TableValueBox(value: .int64(value))))
                    } else if let value = Double(text) {
                        tokens.append(.literal(TableValueBox(value: .double(value))))
                    } else {
                        throw Parser.error("'\(text)' is not a number")
                    }
                    continue
                }
                if c.properties.isAlphabetic || c == "_" {
                    let start = index
                    while index < scalars.count,
                        scalars[index].properties.isAlphabetic || ("0"..."9").contains(scalars[index])
                            || scalars[index] == "_"
                    {
                        index += 1
                    }
                    let word = String(String.UnicodeScalarView(scalars[start..<index]))
                    if index < scalars.count, scalars[index] == "'" {
                        let body = try quoted()
                        switch word.lowercased() {
                        case "datetime":
                            guard let date = AzureDate.parseISO8601(body) else {
                                throw Parser.error("datetime'\(body)' is not an ISO 8601 time")
                            }
                            tokens.append(.literal(TableValueBox(value: .dateTime(date))))
                        case "guid":
                            guard let uuid = UUID(uuidString: body) else {
                                throw Parser.error("guid'\(body)' is not a GUID")
                            }
                            tokens.append(.literal(TableValueBox(value: .guid(uuid))))
                        case "x", "binary":
                            guard body.count % 2 == 0, let bytes = hexBytes(body) else {
                                throw Parser.error("X'\(body)' is not hexadecimal bytes")
                            }
                            tokens.append(.literal(TableValueBox(value: .binary(bytes))))
                        default:
                            throw Parser.error("unknown literal prefix \(word)'…'")
                        }
                        continue
                    }
                    switch word {
                    case "true": tokens.append(.literal(TableValueBox(value: .bool(true))))
                    case "false": tokens.append(.literal(TableValueBox(value: .bool(false))))
                    default: tokens.append(.identifier(word))
                    }
                    continue
                }
                throw Parser.error("unexpected character '\(c)'")
            }
            return tokens
        }

        static func hexBytes(_ text: String) -> [UInt8]? {
            var bytes: [UInt8] = []
            var characters = Substring(text)
            while !characters.isEmpty {
                guard let byte = UInt8(characters.prefix(2), radix: 16) else { return nil }
                bytes.append(byte)
                characters = characters.dropFirst(2)
            }
            return bytes
        }
    }

    private struct Parser {
        let tokens: [Token]
        var index = 0
        static let maximumDepth = 32

        static func error(_ what: String) -> StorageError {
            StorageError(.invalidInput, status: 400, "$filter is not a valid expression: \(what)")
        }

        mutating func orExpression(depth: Int) throws -> TableFilter {
            guard depth < Self.maximumDepth else { throw Self.error("nested deeper than \(Self.maximumDepth) levels") }
            var left = try andExpression(depth: depth)
            while index < tokens.count, tokens[index] == .identifier("or") {
                index += 1
                left = .or(left, try andExpression(depth: depth))
            }
            return left
        }

        mutating func andExpression(depth: Int) throws -> TableFilter {
            var left = try unary(depth: depth)
            while index < tokens.count, tokens[index] == .identifier("and") {
                index += 1
                left = .and(left, try unary(depth: depth))
            }
            return left
        }

        mutating func unary(depth: Int) throws -> TableFilter {
            guard index < tokens.count else { throw Self.error("unexpected end") }
            if tokens[index] == .identifier("not") {
                index += 1
                guard depth + 1 < Self.maximumDepth else { throw Self.error("nested too deeply") }
                return .not(try unary(depth: depth + 1))
            }
            if tokens[index] == .open {
                index += 1
                let inner = try orExpression(depth: depth + 1)
                guard index < tokens.count, tokens[index] == .close else { throw Self.error("missing ')'") }
                index += 1
                return inner
            }
            return try comparison()
        }

        mutating func comparison() throws -> TableFilter {
            guard index + 3 <= tokens.count else {
                throw Self.error("incomplete comparison")
            }
            let left = tokens[index]
            guard case .identifier(let opText) = tokens[index + 1], let op = Operator(rawValue: opText) else {
                throw Self.error("expected one of eq ne gt ge lt le")
            }
            let right = tokens[index + 2]
            index += 3
            switch (left, right) {
            case (.identifier(let property), .literal(let box)):
                return .compare(property: property, op: op, literal: box.value)
            case (.literal(let box), .identifier(let property)):
                return .compare(property: property, op: op.flipped, literal: box.value)
            default: throw Self.error("a comparison needs a property name and a literal")
            }
        }
    }
}
