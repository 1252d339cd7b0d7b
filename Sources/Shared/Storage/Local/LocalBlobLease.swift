import Foundation

/// A blob's lease as stored: the state at the last lease operation plus the times at which it runs
/// out on its own, so that expiry and breaking need no background work: `state(at:)` computes the
/// state at any time (docs/azure-rest.md, "Conditions and leases"; Microsoft's *Lease Blob* state table).
struct LocalBlobLease: Hashable, Sendable {
    /// What the last lease operation left: `available`, `leased`, `breaking` or `broken`.
    var stored: LeaseInfo.State = .available
    var id: String?
    /// Seconds of a fixed lease; nil for an infinite one.
    var duration: Int?
    /// When a fixed lease expires (seconds since 1970).
    var expiry: Double?
    /// When a breaking lease becomes broken.
    var breakTime: Double?

    /// The state at `now`: a fixed lease past its expiry is `expired`, a breaking lease past its break
    /// time is `broken`.
    func state(at now: Double) -> LeaseInfo.State {
        switch stored {
        case .leased where expiry.map { now >= $0 } ?? false: .expired
        case .breaking where breakTime.map { now >= $0 } ?? false: .broken
        default: stored
        }
    }

    func info(at now: Double) -> LeaseInfo {
        let state = state(at: now)
        return LeaseInfo(state: state, duration: state == .leased ? (duration == nil ? .infinite : .fixed) : nil)
    }

    /// Whether writes need the lease id: a breaking lease still protects the blob until it is broken.
    func isActive(at now: Double) -> Bool {
        let state = state(at: now)
        return state == .leased || state == .breaking
    }

    /// The lease check of a write or delete (docs/azure-rest.md, "Conditions and leases"): an active lease
    /// needs its id; an id without an active lease fails too.
    func checkWrite(leaseID: String?, at now: Double, blob: BlobAddress) throws {
        if isActive(at: now) {
            guard let leaseID else {
                throw StorageError.preconditionFailed(
                    .leaseIdMissing,
                    "\(blob) has an active lease and the request gave no lease id; pass the lease id")
            }
            guard Self.same(leaseID, id) else {
                throw StorageError.preconditionFailed(
                    .leaseIdMismatchWithBlobOperation,
                    "the lease id given does not match the active lease of \(blob)")
            }
        } else if leaseID != nil {
            throw StorageError.preconditionFailed(
                .leaseNotPresentWithBlobOperation,
                "a lease id was given but \(blob) has no active lease (expired, broken or never taken)")
        }
    }

    /// The lease check of a read: the lease id is optional, and if given it must be the active lease's.
    func checkRead(leaseID: String?, at now: Double, blob: BlobAddress) throws {
        guard leaseID != nil else { return }
        try checkWrite(leaseID: leaseID, at: now, blob: blob)
    }

    /// Applies a lease operation at `now`; returns the lease id (acquire, renew, change) or the
    /// seconds until broken (break). Errors are Azure's 409 lease-operation codes.
    mutating func apply(_ action: LeaseAction, at now: Double, blob: BlobAddress) throws -> (
        id: String?, breakSeconds: Int?
    ) {
        let state = state(at: now)
        switch action {
        case .acquire(let requested, let proposedID):
            let newID = proposedID ?? UUID().uuidString.lowercased()
            switch state {
            case .leased where !Self.same(newID, id):
                throw StorageError.conflict(
                    .leaseAlreadyPresent,
                    "\(blob) is leased under another id; wait for it to expire or break it")
            case .breaking:
                throw StorageError.conflict(
                    .leaseIsBreakingAndCannotBeAcquired,
                    "the lease of \(blob) is breaking; acquire once it is broken")
            default:
                // Available, expired, broken, or re-acquiring one's own lease: a new lease period.
                start(id: newID, duration: requested, at: now)
                return (newID, nil)
            }

        case .renew(let givenID):
            try requirePresent(state, blob: blob)
            try requireMatch(givenID, blob: blob)
            if state == .breaking || state == .broken {
                throw StorageError.conflict(
                    .leaseIsBrokenAndCannotBeRenewed,
                    "the lease of \(blob) was broken; acquire a new one")
            }
            // Leased or expired (and not re-leased since, or the id would differ): restart the period.
            start(id: givenID, duration: duration.map(LeaseDuration.seconds) ?? .infinite, at: now)
            return (givenID, nil)

        case .change(let givenID, let proposedID):
            guard state == .leased || state == .breaking else { throw Self.notPresent(blob) }
            // A retried change whose first attempt succeeded presents the old id while the lease
            // already has the new one: Azure accepts it.
            guard Self.same(givenID, id) || Self.same(proposedID, id) else { throw Self.mismatch(blob) }
            if state == .breaking {
                throw StorageError.conflict(
                    .leaseIsBreakingAndCannotBeChanged,
                    "the lease of \(blob) is breaking and cannot be changed")
            }
            id = proposedID
            return (proposedID, nil)

        case .release(let givenID):
            try requirePresent(state, blob: blob)
            try requireMatch(givenID, blob: blob)
            self = LocalBlobLease()
            return (nil, nil)

        case .break(let period):
            try requirePresent(state, blob: blob)
            let remaining: Double
            switch state {
            case .leased:
                // A fixed lease runs out at its expiry; an infinite one breaks now unless a period is given.
                let untilExpiry = expiry.map { $0 - now } ?? 0
                let requested = period.map(Double.init) ?? untilExpiry
                remaining = expiry == nil ? requested : min(requested, untilExpiry)
            case .breaking:
                let untilBroken = (breakTime ?? now) - now
                remaining = min(period.map(Double.init) ?? untilBroken, untilBroken)
            default:
                remaining = 0  // expired or broken: broken at once
            }
            let seconds = max(0, Int(remaining.rounded(.up)))
            stored = seconds == 0 ? .broken : .breaking
            breakTime = now + max(0, remaining)
            expiry = nil
            return (nil, seconds)
        }
    }

    private mutating func start(id newID: String, duration requested: LeaseDuration, at now: Double) {
        stored = .leased
        id = newID
        breakTime = nil
        switch requested {
        case .infinite:
            duration = nil
            expiry = nil
        case .seconds(let seconds):
            duration = seconds
            expiry = now + Double(seconds)
        }
    }

    private func requirePresent(_ state: LeaseInfo.State, blob: BlobAddress) throws {
        if state == .available { throw Self.notPresent(blob) }
    }

    private func requireMatch(_ givenID: String, blob: BlobAddress) throws {
        guard Self.same(givenID, id) else { throw Self.mismatch(blob) }
    }

    private static func notPresent(_ blob: BlobAddress) -> StorageError {
        .conflict(.leaseNotPresentWithLeaseOperation, "\(blob) has no lease for this operation; acquire one first")
    }

    private static func mismatch(_ blob: BlobAddress) -> StorageError {
        .conflict(.leaseIdMismatchWithLeaseOperation, "the lease id given is not the lease id of \(blob)")
    }

    /// Lease ids are GUIDs, compared as GUIDs (case does not matter).
    private static func same(_ a: String, _ b: String?) -> Bool {
        guard let b else { return false }
        return a.caseInsensitiveCompare(b) == .orderedSame
    }
}
