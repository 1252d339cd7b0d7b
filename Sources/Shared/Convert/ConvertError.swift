/// Why a conversion was refused before any byte was written.
public struct ConvertError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable, Equatable {
        /// The output names the source or one of its parents (by name, link or hard link).
        case outputIsInput
        /// The output names a directory.
        case outputIsDirectory
    }

    public let code: Code
    public let output: String
    public let description: String

    static func outputIsInput(_ output: String, input: String) -> ConvertError {
        ConvertError(
            code: .outputIsInput, output: output,
            description:
                "\(output): the output is the input \(input) (same file); it would be overwritten. Choose another output path."
        )
    }

    static func outputIsDirectory(_ output: String) -> ConvertError {
        ConvertError(
            code: .outputIsDirectory, output: output,
            description: "\(output): the output is a directory; give a file path.")
    }
}
