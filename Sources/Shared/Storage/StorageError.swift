/// The one error of every storage backend: Azure's error code and HTTP status, whatever the backend,
/// so that callers handle `412 SequenceNumberConditionNotMet` the same way against Azure, the local
/// store and relay-devstore.
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Azure's error code, e.g. `BlobNotFound`, `ServerBusy`; for network failures, `NetworkError`.
    public var code: Code
    /// The HTTP status Azure answers with; 0 when no response arrived.
    public var status: Int
    /// What happened, for people. Never holds secrets.
    public var message: String

    public init(_ code: Code, status: Int, _ message: String = "") {
        self.code = code
        self.status = status
        self.message = message
    }

    /// Whether trying the same request again may succeed, were it idempotent (the one rule,
    /// `RetryDecision`).
    public var isRetryable: Bool {
        RetryDecision(AttemptFailure(self), safety: .idempotent, outcomeUnknown: false).retry
    }

    public var description: String {
        let detail = message.isEmpty ? "" : ": \(message)"
        return status == 0 ? "\(code.rawValue)\(detail)" : "\(status) \(code.rawValue)\(detail)"
    }

    /// A bounded, secret-free label for metrics.
    public var shortDescription: String { "\(status) \(code.rawValue)" }

    /// An Azure error code. A struct rather than an enum so that codes a service adds later still parse.
    public struct Code: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { self.rawValue = value }
    }
}

extension StorageError.Code {
    // Blob
    public static let blobNotFound: Self = "BlobNotFound"
    public static let containerNotFound: Self = "ContainerNotFound"
    public static let containerAlreadyExists: Self = "ContainerAlreadyExists"
    public static let containerBeingDeleted: Self = "ContainerBeingDeleted"
    public static let blobAlreadyExists: Self = "BlobAlreadyExists"
    public static let invalidBlobType: Self = "InvalidBlobType"
    public static let leaseIdMissing: Self = "LeaseIdMissing"
    public static let leaseIdMismatchWithBlobOperation: Self = "LeaseIdMismatchWithBlobOperation"
    public static let leaseNotPresentWithBlobOperation: Self = "LeaseNotPresentWithBlobOperation"
    public static let leaseAlreadyPresent: Self = "LeaseAlreadyPresent"
    public static let leaseIdMismatchWithLeaseOperation: Self = "LeaseIdMismatchWithLeaseOperation"
    public static let leaseNotPresentWithLeaseOperation: Self = "LeaseNotPresentWithLeaseOperation"
    public static let leaseIsBrokenAndCannotBeRenewed: Self = "LeaseIsBrokenAndCannotBeRenewed"
    public static let leaseIsBreakingAndCannotBeAcquired: Self = "LeaseIsBreakingAndCannotBeAcquired"
    public static let leaseIsBreakingAndCannotBeChanged: Self = "LeaseIsBreakingAndCannotBeChanged"
    public static let sequenceNumberConditionNotMet: Self = "SequenceNumberConditionNotMet"
    public static let conditionNotMet: Self = "ConditionNotMet"
    public static let invalidPageRange: Self = "InvalidPageRange"
    public static let invalidRange: Self = "InvalidRange"
    public static let snapshotsPresent: Self = "SnapshotsPresent"
    public static let md5Mismatch: Self = "Md5Mismatch"
    public static let crc64Mismatch: Self = "Crc64Mismatch"
    public static let requestBodyTooLarge: Self = "RequestBodyTooLarge"
    public static let previousSnapshotNotFound: Self = "PreviousSnapshotNotFound"
    public static let previousSnapshotCannotBeNewer: Self = "PreviousSnapshotCannotBeNewer"
    public static let invalidMetadata: Self = "InvalidMetadata"
    public static let metadataTooLarge: Self = "MetadataTooLarge"
    public static let sequenceNumberIncrementTooLarge: Self = "SequenceNumberIncrementTooLarge"
    // Common
    public static let invalidHeaderValue: Self = "InvalidHeaderValue"
    public static let invalidQueryParameterValue: Self = "InvalidQueryParameterValue"
    public static let outOfRangeInput: Self = "OutOfRangeInput"
    public static let outOfRangeQueryParameterValue: Self = "OutOfRangeQueryParameterValue"
    public static let invalidResourceName: Self = "InvalidResourceName"
    public static let invalidInput: Self = "InvalidInput"
    public static let authenticationFailed: Self = "AuthenticationFailed"
    public static let internalError: Self = "InternalError"
    public static let operationTimedOut: Self = "OperationTimedOut"
    public static let serverBusy: Self = "ServerBusy"
    public static let networkError: Self = "NetworkError"
    /// Client-side: a response body that is not the XML or JSON the operation answers with.
    public static let invalidXML: Self = "InvalidResponseXml"
    public static let invalidJSON: Self = "InvalidResponseJson"
    // Queue
    public static let queueNotFound: Self = "QueueNotFound"
    public static let queueAlreadyExists: Self = "QueueAlreadyExists"
    public static let messageNotFound: Self = "MessageNotFound"
    public static let messageTooLarge: Self = "MessageTooLarge"
    // Table
    public static let tableNotFound: Self = "TableNotFound"
    public static let tableAlreadyExists: Self = "TableAlreadyExists"
    public static let entityAlreadyExists: Self = "EntityAlreadyExists"
    public static let resourceNotFound: Self = "ResourceNotFound"
    public static let updateConditionNotSatisfied: Self = "UpdateConditionNotSatisfied"
    public static let entityTooLarge: Self = "EntityTooLarge"
    public static let invalidDuplicateRow: Self = "InvalidDuplicateRow"
    public static let propertyNameTooLong: Self = "PropertyNameTooLong"
    public static let propertyValueTooLarge: Self = "PropertyValueTooLarge"
    public static let tooManyProperties: Self = "TooManyProperties"
    public static let commandsInBatchActOnDifferentPartitions: Self = "CommandsInBatchActOnDifferentPartitions"
}

extension StorageError {
    static func notFound(_ code: Code, _ message: String) -> Self { .init(code, status: 404, message) }
    static func conflict(_ code: Code, _ message: String) -> Self { .init(code, status: 409, message) }
    static func preconditionFailed(_ code: Code, _ message: String) -> Self { .init(code, status: 412, message) }
    static func badRequest(_ code: Code, _ message: String) -> Self { .init(code, status: 400, message) }
}
