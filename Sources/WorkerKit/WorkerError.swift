import RelayShared

/// Why the worker stopped working on a target or could not start. Segment and message problems are not
/// errors of the worker: they are poison, recorded and reported (`Intake`, `TargetApplier`).
public struct WorkerError: Error, CustomStringConvertible, Sendable {
    public enum Code: Hashable, Sendable {
        /// Another instance holds the target now (its lease or a newer epoch fenced this one out).
        case claimLost
        /// The target page blob or its `target` row is missing or does not match the contract.
        case targetInvalid
        /// A storage call kept failing transiently.
        case storageUnavailable
        /// A segment needs more memory than the whole budget of this instance.
        case memoryBudgetTooSmall
    }

    public let code: Code
    public let target: String?
    public let detail: String

    public init(_ code: Code, target: TargetName?, _ detail: String) {
        self.code = code
        self.target = target?.description
        self.detail = detail
    }

    public var description: String { "\(target.map { "\($0): " } ?? "")\(detail)" }
}

extension StorageError {
    /// The answers that mean a fenced write or lease call was refused because another instance holds
    /// the target: the lease is someone else's or gone, or the blob's epoch moved on.
    var meansClaimLost: Bool {
        switch code {
        case .sequenceNumberConditionNotMet, .leaseIdMismatchWithBlobOperation, .leaseNotPresentWithBlobOperation,
            .leaseIdMissing, .leaseIdMismatchWithLeaseOperation, .leaseNotPresentWithLeaseOperation,
            .leaseIsBrokenAndCannotBeRenewed, .leaseAlreadyPresent:
            true
        default: false
        }
    }
}
