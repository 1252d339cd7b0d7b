/// Human-readable byte counts for messages and tables.
public enum ByteCount {
    /// `"67111424 bytes (64.0 MiB)"`: the exact count for scripts and eyes alike, with binary units.
    public static func describe(_ bytes: UInt64) -> String {
        "\(bytes) bytes (\(binary(bytes)))"
    }

    /// `"64.0 MiB"`, one decimal, rounded down.
    public static func binary(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var unit = 0
        while unit < units.count - 1, bytes >> (10 * UInt64(unit + 1)) > 0 { unit += 1 }
        guard unit > 0 else { return "\(bytes) B" }
        let scale = UInt64(1) << (10 * UInt64(unit))
        let whole = bytes / scale
        let tenth = (bytes % scale) * 10 / scale
        return "\(whole).\(tenth) \(units[unit])"
    }
}
