import RelayShared
import Testing

@Suite struct TargetNameTests {
    @Test(arguments: ["disks/vm1.vhd", "abc/a/b/c.vhd", "a-b-1/x", "disks/%41 #?\\é.vhd"])
    func validNamesParse(_ text: String) throws {
        let target = try TargetName(text)
        #expect(target.description == text)
        #expect(target.address.container + "/" + target.address.name == text)
    }

    @Test(arguments: [
        "novhd", "ab/x.vhd", "Disks/x.vhd", "-disks/x.vhd", "disks-/x.vhd", "dis--ks/x.vhd", "disks/",
        "disks/x.", "disks/x/", "disks/a/../x", "disks/./x", "disks/a\u{0}b", "disks/a\nb", "disks/a\u{85}b",
        "disks/a\u{FFFE}b", "disks/a\u{FFFF}",
    ])
    func invalidNamesAreRefused(_ text: String) {
        let error = #expect(throws: ControlError.self) { try TargetName(text) }
        #expect(error?.code == .invalidTargetName)
    }

    @Test func blobNamesAreBoundedInBytes() throws {
        _ = try TargetName(container: "disks", blob: String(repeating: "a", count: TargetName.maxBlobNameBytes))
        #expect(throws: ControlError.self) {
            try TargetName(container: "disks", blob: String(repeating: "é", count: TargetName.maxBlobNameBytes / 2 + 1))
        }
    }

    /// Distinct targets get distinct keys, and keys hold nothing a table key may not.
    @Test func keysAreInjectiveAndValidTableKeys() throws {
        let names = [
            "d1sk/a/b", "d1sk/a%2Fb", "d1sk/a%252Fb", "d1sk/a\\b", "d1sk/a%5Cb", "d1sk/a#b", "d1sk/a?b",
            "d1sk/a:b", "d1sk:a/b", "d1sk/a", "d1sk/a%",
        ]
        let targets = try names.compactMap { text -> TargetName? in
            text.hasPrefix("d1sk:") ? nil : try TargetName(text)
        }
        let keys = Set(targets.map(\.key))
        #expect(keys.count == targets.count)
        for key in keys {
            #expect(!key.contains("/") && !key.contains("\\") && !key.contains("#") && !key.contains("?"))
        }
        #expect(try TargetName("disks/a/b").key == "disks:a%2Fb")
    }

    @Test func segmentTargetIDIsTheSegmentHeadersHash() throws {
        let target = try TargetName("disks/vm1.vhd")
        #expect(target.segmentTargetID == SegmentHeader.targetID(for: "disks/vm1.vhd"))
    }
}
