import Foundation
import TestSupport
import Testing

/// Reads a disk (with its chain, child first) through libvhdi's Python binding into `output`, as an
/// outside judge of our reader. Debian's pyvhdi imports only under /usr/bin/python3.
/// Returns what pyvhdi reports: the media size and the child's parent identifier.
@discardableResult
func readWithPyvhdi(chain: [String], into output: String, in directory: TemporaryDirectory) async throws -> String {
    let script = directory.file("read_vhd.py")
    try write(
        Array(
            """
            import sys
            import pyvhdi

            output, paths = sys.argv[1], sys.argv[2:]
            files = []
            for path in paths:
                disk = pyvhdi.file()
                disk.open(path)
                files.append(disk)
            # Parents first, so each parent is complete before a child is attached to it.
            for child, parent in reversed(list(zip(files, files[1:]))):
                child.set_parent(parent)
            child = files[0]
            size = child.get_media_size()
            with open(output, "wb") as out:
                offset = 0
                while offset < size:
                    count = min(4 << 20, size - offset)
                    out.write(child.read_buffer_at_offset(count, offset))
                    offset += count
            print(size, child.get_parent_identifier())
            """.utf8), to: script)
    return try await runOK("/usr/bin/python3", [script, output] + chain)
}
