import RelayShared
import Testing

@Suite struct ControlMessageTests {
    static let target = try! TargetName("disks/vm1.vhd")

    static func sample(last: Bool = true) -> ControlMessage {
        ControlMessage(
            target: target, generation: 2, seq: 17, segmentBytes: 123_456,
            segmentDigest: XXH128(high: 0x0123_4567_89ab_cdef, low: 0xfedc_ba98_7654_3210),
            plainBytes: 4 << 20, extentCount: 3, span: ByteRange(offset: 1 << 20, length: 8 << 20),
            generationSegmentCount: last ? 5 : nil)
    }

    /// The sample's JSON members, to edit one at a time.
    static func members(_ message: ControlMessage = sample()) throws -> [(String, JSONValue)] {
        guard case .object(let members) = try JSONValue.parse(Array(message.encoded().utf8)) else {
            throw ControlError(.malformed, field: "test", "not an object")
        }
        return members
    }

    static func parse(_ members: [(String, JSONValue)]) throws(ControlError) -> ControlMessage {
        try ControlMessage(parsing: JSONValue.object(members).serialized())
    }

    static func replacing(_ name: String, with value: JSONValue) throws -> [(String, JSONValue)] {
        try members().map { $0.0 == name ? ($0.0, value) : $0 }
    }

    @Test(arguments: [true, false])
    func roundTrips(last: Bool) throws {
        let message = Self.sample(last: last)
        let parsed = try ControlMessage(parsing: message.encoded())
        #expect(parsed == message)
        #expect(parsed.isLastOfGeneration == last)
        #expect(parsed.generationFirstSeq == (last ? 13 : nil))
        #expect(message.blob == "disks:vm1.vhd/g0000000002/s00000000000000000017-0123456789abcdeffedcba9876543210")
    }

    @Test func encodingIsTheDocumentedJSON() {
        #expect(
            Self.sample().encoded() == """
                {"v":1,"target":"disks/vm1.vhd","gen":2,"seq":17,\
                "blob":"disks:vm1.vhd/g0000000002/s00000000000000000017-0123456789abcdeffedcba9876543210",\
                "bytes":123456,"digest":"0123456789abcdeffedcba9876543210","plain":4194304,"extents":3,\
                "lo":1048576,"hi":9437184,"segments":5}
                """)
    }

    @Test(arguments: ["v", "target", "gen", "seq", "blob", "bytes", "digest", "plain", "extents", "lo", "hi"])
    func missingFieldIsNamed(_ name: String) throws {
        let error = #expect(throws: ControlError.self) { try Self.parse(try Self.members().filter { $0.0 != name }) }
        #expect(error?.code == .missingField)
        #expect(error?.field == "message.\(name)")
    }

    @Test func unknownVersionIsRefused() throws {
        let error = #expect(throws: ControlError.self) { try Self.parse(try Self.replacing("v", with: .number("2"))) }
        #expect(error?.code == .unsupportedVersion)
    }

    @Test func unknownAndDuplicatedFieldsAreRefused() throws {
        let unknown = #expect(throws: ControlError.self) {
            try Self.parse(try Self.members() + [("extra", .bool(true))])
        }
        #expect(unknown?.code == .unknownField)
        #expect(unknown?.field == "message.extra")
        let twice = #expect(throws: ControlError.self) { try Self.parse(try Self.members() + [("seq", .number("18"))]) }
        #expect(twice?.code == .unknownField)
        #expect(twice?.field == "message.seq")
    }

    @Test(arguments: [
        ("seq", JSONValue.string("17")), ("seq", .number("-1")), ("seq", .number("17.0")), ("seq", .number("1e3")),
        ("seq", .number("017")), ("bytes", .null), ("digest", .string("0123456789ABCDEFFEDCBA9876543210")),
        ("digest", .string("0123")), ("target", .number("1")),
    ])
    func wrongTypesAreRefused(_ name: String, _ value: JSONValue) throws {
        let error = #expect(throws: ControlError.self) { try Self.parse(try Self.replacing(name, with: value)) }
        #expect(error?.field == "message.\(name)")
        #expect(error?.code == .wrongType)
    }

    @Test(arguments: [
        ("seq", "0"), ("seq", "9223372036854775808"), ("gen", "0"), ("gen", "10000000000"),
        ("bytes", "79"), ("bytes", "67108865"), ("extents", "1025"), ("plain", "12582913"),
        ("segments", "18"), ("segments", "0"), ("seq", "18446744073709551616"),
    ])
    func outOfRangeNumbersAreRefused(_ name: String, _ value: String) throws {
        let error = #expect(throws: ControlError.self) {
            try Self.parse(try Self.replacing(name, with: .number(value)))
        }
        #expect(error?.field == "message.\(name)")
        #expect(error?.code == .outOfRange)
    }

    @Test func aBlobOtherThanTheDerivedOneIsRefused() throws {
        let forged = try Self.replacing(
            "blob", with: .string("disks:other.vhd/g0000000002/s00000000000000000017-0123456789abcdeffedcba9876543210"))
        let error = #expect(throws: ControlError.self) { try Self.parse(forged) }
        #expect(error?.code == .inconsistent)
        #expect(error?.field == "message.blob")
    }

    @Test func spansMustBeAlignedOrderedAndHoldThePlainBytes() throws {
        #expect(throws: ControlError.self) { try Self.parse(try Self.replacing("lo", with: .number("1048577"))) }
        #expect(throws: ControlError.self) { try Self.parse(try Self.replacing("hi", with: .number("512"))) }
        #expect(throws: ControlError.self) { try Self.parse(try Self.replacing("hi", with: .number("2097152"))) }
        var empty = Self.sample()
        empty.extentCount = 0
        empty.plainBytes = 0
        empty.span = ByteRange(offset: 0, length: 0)
        #expect(try ControlMessage(parsing: empty.encoded()) == empty)
        empty.span = ByteRange(offset: 0, length: 512)
        #expect(throws: ControlError.self) { try ControlMessage(parsing: empty.encoded()) }
    }

    @Test(arguments: ["", "[]", "{", "null", "{\"v\":1}x", String(repeating: " ", count: 1025)])
    func garbageIsRefused(_ text: String) {
        #expect(throws: ControlError.self) { try ControlMessage(parsing: text) }
    }

    /// Whatever name a target has, a message naming it fits in 1 KiB: names whose encoding would not
    /// are refused, plain names of the full length are not.
    @Test(arguments: ["a", "%", "\\", "\"", "é", "/"])
    func everyAcceptedTargetFitsInOneKiB(_ character: String) throws {
        var longestAccepted: TargetName?
        for count in 1...TargetName.maxBlobNameBytes {
            let blob = "x" + String(repeating: character, count: count) + "x"
            guard blob.utf8.count <= TargetName.maxBlobNameBytes else { break }
            guard let target = try? TargetName(container: String(repeating: "c", count: 63), blob: blob) else { break }
            longestAccepted = target
        }
        let target = try #require(longestAccepted)
        let message = ControlMessage(
            target: target, generation: ControlNames.maxGeneration, seq: ControlNames.maxSeq,
            segmentBytes: SegmentFormat.maxSegmentSize, segmentDigest: XXH128(high: .max, low: .max),
            plainBytes: UInt64(SegmentFormat.maxExtents * SegmentFormat.maxExtentLength),
            extentCount: SegmentFormat.maxExtents,
            span: ByteRange(offset: UInt64.max - (1 << 40) - 511, length: 1 << 40),
            generationSegmentCount: ControlNames.maxSeq)
        let text = message.encoded()
        #expect(text.utf8.count <= ControlMessage.maxEncodedBytes)
        #expect(try ControlMessage(parsing: text) == message)
        if character == "a" { #expect(target.blob.utf8.count >= TargetName.maxBlobNameBytes - 1) }
    }
}
