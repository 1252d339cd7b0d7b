import Foundation
import RelayDevStoreKit
import Testing

/// CRC-64/NVME against the check values of docs/azure-rest.md, "Checksums".
struct CRC64Tests {
    @Test func checkValues() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0xAE8B_1486_0A79_9888)
        #expect(Data(CRC64.headerBytes(Array("123456789".utf8))).base64EncodedString() == "iJh5CoYUi64=")
        #expect(CRC64.checksum([UInt8](repeating: 0, count: 512)) == 0x1DE6_0E28_68A7_82E9)
        #expect(Data(CRC64.headerBytes([UInt8](repeating: 0, count: 512))).base64EncodedString() == "6YKnaCgO5h0=")
    }
}
