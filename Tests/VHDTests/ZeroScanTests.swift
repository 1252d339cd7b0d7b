import TestSupport
import Testing

@testable import RelayShared

@Suite(.ownThreads)
struct ZeroScanTests {
    @Test(arguments: [0, 1, 2, 511, 4096, 4 << 20])
    func zeroBuffersAreZero(count: Int) {
        let bytes = [UInt8](repeating: 0, count: count)
        #expect(bytes.withUnsafeBytes { $0.isAllZero })
    }

    @Test(arguments: [(1, 0), (2, 1), (4096, 0), (4096, 4095), (4 << 20, 2 << 20)])
    func oneNonZeroByteIsFound(count: Int, position: Int) {
        var bytes = [UInt8](repeating: 0, count: count)
        bytes[position] = 0x40
        #expect(!bytes.withUnsafeBytes { $0.isAllZero })
    }
}
