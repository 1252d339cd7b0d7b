import Foundation
import TestSupport
import Testing

@testable import RelayShared

/// The parent search reads each candidate's footer id before opening it: decoys (valid differencing
/// disks of another id) cost one footer read each, so 8 candidates on each of 8 levels open at once,
/// where opening every candidate's chain first took 8^8 opens.
@Suite(.ownThreads, .timeLimit(.minutes(3)))
struct ParentSearchTests {
    @Test func decoysAtEveryLevelDoNotMakeTheSearchExponential() throws {
        let directory = try TemporaryDirectory()
        let size: UInt64 = 1 << 20
        var base = TestVHDWriter(virtualSize: size)
        base.blockSize = 64 << 10
        base.writes = [(offset: 0, bytes: [UInt8](repeating: 1, count: 512))]
        try base.write(to: directory.file("real-0.vhd"))
        var real = (path: directory.file("real-0.vhd"), id: base.uniqueID)
        var decoys: [String] = []
        for index in 0..<7 {
            let decoy = TestVHDWriter(virtualSize: size)
            try decoy.write(to: directory.file("decoy-0-\(index).vhd"))
            decoys.append(directory.file("decoy-0-\(index).vhd"))
        }
        for level in 1...8 {
            // Every file of this level names the level below's decoys first, then its real parent.
            let locators = (decoys + [real.path]).map {
                (code: "W2ku" as FourCharacterCode, data: TestVHDWriter.utf16LE($0))
            }
            // Decoys hold no blocks (they only have to open); the real disk writes one sector.
            func child(writing: Bool) -> TestVHDWriter {
                var writer = TestVHDWriter(virtualSize: size)
                writer.blockSize = 64 << 10
                writer.parent = TestVHDWriter.ParentReference(
                    uniqueID: real.id, unicodeName: "absent.vhd", locators: locators)
                if writing {
                    writer.writes = [
                        (offset: UInt64(level) * 512, bytes: [UInt8](repeating: UInt8(level + 1), count: 512))
                    ]
                }
                return writer
            }
            var nextDecoys: [String] = []
            for index in 0..<7 {
                let path = directory.file("decoy-\(level)-\(index).vhd")
                try child(writing: false).write(to: path)
                nextDecoys.append(path)
            }
            let writer = child(writing: true)
            let path = directory.file("real-\(level).vhd")
            try writer.write(to: path)
            real = (path, writer.uniqueID)
            decoys = nextDecoys
        }
        let disk = try DiskImage.open(real.path)
        let info = try DiskInfo(disk: disk)
        #expect(info.parentChain.map(\.path) == (0..<8).reversed().map { directory.file("real-\($0).vhd") })
        var first = [UInt8](repeating: 0, count: 9 * 512)
        try first.withUnsafeMutableBytes { try disk.read(into: $0, at: 0) }
        #expect((0...8).allSatisfy { first[$0 * 512] == UInt8($0 + 1) })
    }
}
