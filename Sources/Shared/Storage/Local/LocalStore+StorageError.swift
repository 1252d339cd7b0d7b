import Foundation

extension LocalStore {
    /// Runs blocking work like `run`, but answers only `StorageError`: a SQLite lock held past the busy
    /// timeout by another process is Azure's retryable `503 ServerBusy`; any other SQLite or file failure
    /// is `500 InternalError` naming the store, so that callers handle one error type.
    @discardableResult
    func runMappingErrors<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (SQLiteDatabase) throws -> T)
        async throws -> T
    {
        do {
            return try await run(body)
        } catch let error as SQLiteError where error.isBusy {
            throw StorageError(
                .serverBusy, status: 503,
                "\(operation): the local store \(root) is locked by another process (\(error)); retry later")
        } catch let error as SQLiteError {
            throw StorageError(.internalError, status: 500, "\(operation): local store \(root): \(error)")
        } catch let error as FileError {
            throw StorageError(.internalError, status: 500, "\(operation): local store \(root): \(error)")
        }
    }
}
