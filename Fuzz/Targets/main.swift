import CFuzz
import Foundation

// relay-fuzz TARGET [libFuzzer flags] [CORPUS_DIR...]: runs libFuzzer on one parser of untrusted bytes
// (docs/fuzzing.md). Built only by scripts/fuzz, with the sanitizers and libFuzzer's driver.

let targets: [String: (UnsafeRawBufferPointer) -> Void] = [
    "vhd": FuzzVHD.run,
    "vhdx": FuzzVHDX.run,
    "segment": FuzzSegment.run,
    "control-message": FuzzControlMessage.run,
    "control-entity": FuzzControlEntity.run,
    "connection-string": FuzzConnectionString.run,
    "xml": FuzzXML.run,
    "table-json": FuzzTableJSON.run,
    "table-filter": FuzzTableFilter.run,
    "request": FuzzRequest.run,
]

var arguments = CommandLine.arguments
guard arguments.count >= 2, let target = targets[arguments[1]] else {
    FileHandle.standardError.write(
        Data(
            "usage: relay-fuzz TARGET [libFuzzer flags] [CORPUS...]; targets: \(targets.keys.sorted().joined(separator: " "))\n"
                .utf8))
    exit(2)
}
selectedTarget = target
arguments.remove(at: 1)
var argc = Int32(arguments.count)
var cStrings: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
let status = cStrings.withUnsafeMutableBufferPointer { buffer in
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        selectedTarget?(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}
exit(status)
