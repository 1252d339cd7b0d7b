import ArgumentParser
import Foundation
import RelayShared

/// The exit statuses of the replication commands, listed in their `--help`.
enum ExitStatus {
    static let success: Int32 = 0
    /// `verify`: the target differs from the source.
    static let different: Int32 = 1
    /// Bad input, a store error, a refused target: the message says what to do.
    static let failure: Int32 = 2
    /// Another sync holds the target's lock, or an unfinished generation of another client blocks it.
    static let locked: Int32 = 3
    /// `--wait` timed out before the worker applied the generation.
    static let timedOut: Int32 = 4

    static let help = """
        Exit status: 0 success; 1 verify found differences; 2 error (bad input, store unreachable or refusing \
        the credentials, target of another source or size); 3 target locked by another sync or blocked by an \
        unfinished generation; 4 --wait timed out; 64 usage error.
        """

    /// Runs `body`; any error becomes one line on stderr and the matching exit status.
    static func reporting<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw exit(for: error)
        }
    }

    /// The same for the commands that do their blocking work on the main thread (`inspect`, `convert`).
    static func reportingBlocking<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw exit(for: error)
        }
    }

    /// The exit for `error`, its line already printed.
    private static func exit(for error: any Error) -> ExitCode {
        switch error {
        case let exit as ExitCode:
            return exit
        case let error as SyncError:
            return fail(
                "\(error)",
                error.code == .locked || error.code == .generationInProgress
                    ? locked
                    : error.code == .timedOut ? timedOut : failure)
        case let error as StorageError:
            return fail("storage: \(error) (check the store address and the credentials)", failure)
        default:
            return fail("\(error)", failure)
        }
    }

    /// Prints `message` as the command's one error line and returns the exit to throw.
    static func fail(_ message: String, _ status: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("relay-client: error: \(message)\n".utf8))
        return ExitCode(status)
    }
}
