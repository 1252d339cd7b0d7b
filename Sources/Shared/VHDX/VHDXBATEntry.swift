/// One 64-bit BAT entry ([MS-VHDX] 2.5.1): the state in bits 0–2, the file offset in MiB in bits 20–63.
struct VHDXBATEntry: Sendable {
    let raw: UInt64

    /// Payload block states ([MS-VHDX] 2.5.1.1); sector bitmap entries use `notPresent` and `fullyPresent`
    /// (SB_BLOCK_PRESENT, also 6).
    enum State: UInt8 {
        case notPresent = 0
        case undefined = 1
        case zero = 2
        case unmapped = 3
        /// The 0.95 draft's value for unmapped, reserved since; read as unmapped, as qemu does, for files
        /// written to the draft.
        case unmappedDraft = 5
        case fullyPresent = 6
        case partiallyPresent = 7
    }

    /// nil for the reserved value 4.
    var state: State? { State(rawValue: UInt8(raw & 7)) }
    /// The absolute file offset of the block; meaningful for present blocks only.
    var fileOffset: UInt64 { (raw >> 20) << 20 }
}
