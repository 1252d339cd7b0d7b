/// The version both executables report.
public enum RelayVersion {
    public static let current = "0.1.0"
}
