import RelayShared

/// How far a target is, read from the control table alone, so that any instance can tell whether a
/// target another instance holds is caught up (`--drain`).
enum TargetProgress: Equatable, Sendable {
    /// Nothing after the cursor, and the recovery point of a generation ending at the cursor is taken.
    case caughtUp
    /// Rows wait to be applied, or a recovery point is due.
    case behind
    /// The next seq is poisoned: the target waits for its resend.
    case poisoned(seq: UInt64, reason: String)

    static func read(_ target: TargetName, control: ControlTable) async throws -> TargetProgress {
        do {
            return try await readRows(target, control: control)
        } catch let error as ControlError {
            return .poisoned(seq: 0, reason: "a control row is invalid: \(error)")
        }
    }

    private static func readRows(_ target: TargetName, control: ControlTable) async throws -> TargetProgress {
        let applied = try await control.cursor(target)?.appliedSeq ?? 0
        if let next = try await control.segment(target, seq: applied + 1) {
            if let reason = next.poisonReason { return .poisoned(seq: applied + 1, reason: reason) }
            return .behind
        }
        if applied > 0, let last = try await control.segment(target, seq: applied), last.message.isLastOfGeneration,
            let generation = try await control.generation(target, last.message.generation),
            generation.state == .sending || generation.state == .sent
        {
            return .behind
        }
        return .caughtUp
    }
}
