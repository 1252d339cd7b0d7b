/// Runs `body` again after a retryable storage error, up to `attempts` times with a growing pause: for
/// writes the transport does not repeat by itself (a POST whose answer was lost may have taken effect)
/// but whose repetition is harmless here (a duplicate control message), or that check for themselves
/// whether an earlier attempt landed.
func retryingTransient<T>(attempts: Int = 5, _ body: () async throws -> T) async throws -> T {
    var attempt = 1
    while true {
        do {
            return try await body()
        } catch let error as StorageError where error.isRetryable && attempt < attempts {
            try await Task.sleep(for: .milliseconds(200 << attempt))
            attempt += 1
        }
    }
}
