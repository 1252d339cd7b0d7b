/// Why a sync, status, verify or abandon stopped: one line for people saying what is wrong and what to
/// do, and a code for the exit status and for tests.
public struct SyncError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: Hashable, Sendable {
        /// Another client holds the target's client lock (or this machine runs a sync of it already).
        case locked
        /// The target exists with another source, size, or state this client cannot continue.
        case targetMismatch
        /// A generation another client started is unfinished: resume it there, or `abandon` it.
        case generationInProgress
        /// The local state (manifest, journal) is unusable.
        case badState
        /// The client lost its lock or its seq reservation while sending.
        case lockLost
        /// `--wait` ran out of time before the worker applied the generation.
        case timedOut
        /// An argument is unusable (block size, bandwidth).
        case invalidArgument
        /// Nothing to do: e.g. `abandon` of a target with no unfinished generation.
        case nothingToDo
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
