/// The target libFuzzer's callback runs: set once by main before the driver starts, read only after.
nonisolated(unsafe) var selectedTarget: ((UnsafeRawBufferPointer) -> Void)?
