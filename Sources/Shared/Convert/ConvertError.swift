/// Why a conversion was refused before any byte was written.
public struct ConvertError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable, Equatable {
        /// The output names the source or one of its parents (by name, link or hard link).
        case outputIsInput
        /// The output names a directory.
        case outputIsDirectory
        /// The output's directory does not exist (or is not a directory).
        case outputDirectoryMissing
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

    static func outputDirectoryMissing(_ output: String, directory: String) -> ConvertError {
        ConvertError(
            code: .outputDirectoryMissing, output: output,
            description: "\(output): the output's directory \(directory) does not exist; create it first.")
    }
}
