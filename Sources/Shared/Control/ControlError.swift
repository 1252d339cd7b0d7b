/// Why a piece of control data (a control message, a control table row, a target's identity or name)
/// was refused: a code for programs, the field at fault and what was wrong. Everything the worker reads
/// from the queue or the table is hostile until these checks pass (docs/replication-contract.md).
public struct ControlError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: Hashable, Sendable {
        /// Not JSON, or JSON that is not one object.
        case malformed
        /// The message is longer than `ControlMessage.maxEncodedBytes`.
        case tooLarge
        case unsupportedVersion
        case missingField
        /// A field of the wrong JSON type, or a number that is not a plain non-negative integer.
        case wrongType
        case outOfRange
        /// A field this version does not define (or one given twice).
        case unknownField
        /// Fields that are each valid but contradict each other (e.g. a blob name that is not the one
        /// the target, generation, seq and digest derive).
        case inconsistent
        /// A target name Azure would refuse, or that this contract cannot key.
        case invalidTargetName
        /// The target exists with another source or size.
        case identityMismatch
        /// A segment given to the reference applier out of order or for another target.
        case outOfOrder
    }

    public let code: Code
    /// The field or structure at fault, e.g. `message.seq`, `row gen-0000000002.firstSeq`.
    public let field: String
    public let detail: String

    public init(_ code: Code, field: String, _ detail: String) {
        self.code = code
        self.field = field
        self.detail = detail
    }

    public var description: String { "\(field): \(detail)" }
}
