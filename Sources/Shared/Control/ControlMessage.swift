/// One segment announced on the control queue: what the worker needs to order it, fetch it and check it
/// before it reads a byte of the segment (docs/replication-contract.md, "Control message").
///
/// JSON, one object, at most `maxEncodedBytes`:
/// ```
/// {"v":1,"target":"disks/vm1.vhd","gen":2,"seq":17,
///  "blob":"disks:vm1.vhd/g0000000002/s00000000000000000017-<digest>","bytes":1234567,
///  "digest":"<32 hex digits>","plain":8388608,"extents":3,"lo":1048576,"hi":9437184,"segments":5}
/// ```
/// `segments` (the generation's segment count) is present on the generation's last segment only.
/// Parsing is strict: an unknown version, a missing, duplicated, unknown or out-of-range field, or a
/// blob name other than the one the other fields derive is refused with the field named.
public struct ControlMessage: Hashable, Sendable {
    public static let version = 1
    /// Azure queue messages may hold 64 KiB; the contract keeps control messages under 1 KiB so that a
    /// Get Messages of 32 stays small and a forged giant message is refused before parsing.
    public static let maxEncodedBytes = 1024

    public var target: TargetName
    public var generation: UInt64
    public var seq: UInt64
    /// The temp blob in the segments container: always `ControlNames.segmentBlob(...)` of the fields below.
    public var blob: String {
        ControlNames.segmentBlob(target: target, generation: generation, seq: seq, digest: segmentDigest)
    }
    /// The segment's size in bytes, trailer included.
    public var segmentBytes: Int
    /// The segment's trailer digest (XXH3-128 of every byte before the trailer).
    public var segmentDigest: XXH128
    /// The sum of the segment's write extents' lengths.
    public var plainBytes: UInt64
    public var extentCount: Int
    /// From the first extent's offset to the last one's end (empty at 0 when the segment has no extents):
    /// lets the worker see which segments may overlap before downloading them.
    public var span: ByteRange
    /// Set on the generation's last segment: how many segments the generation has (its first seq is
    /// `seq - count + 1`).
    public var generationSegmentCount: UInt64?

    public init(
        target: TargetName, generation: UInt64, seq: UInt64, segmentBytes: Int, segmentDigest: XXH128,
        plainBytes: UInt64, extentCount: Int, span: ByteRange, generationSegmentCount: UInt64?
    ) {
        self.target = target
        self.generation = generation
        self.seq = seq
        self.segmentBytes = segmentBytes
        self.segmentDigest = segmentDigest
        self.plainBytes = plainBytes
        self.extentCount = extentCount
        self.span = span
        self.generationSegmentCount = generationSegmentCount
    }

    /// The message for `target` whose every number has its most digits: the bound of its encoding.
    static func longest(for target: TargetName) -> ControlMessage {
        ControlMessage(
            target: target, generation: ControlNames.maxGeneration, seq: ControlNames.maxSeq,
            segmentBytes: SegmentFormat.maxSegmentSize, segmentDigest: XXH128(high: .max, low: .max),
            plainBytes: UInt64(SegmentFormat.maxExtents * SegmentFormat.maxExtentLength),
            extentCount: SegmentFormat.maxExtents,
            span: ByteRange(offset: 10_000_000_000_000_000_000, length: 1 << 40),
            generationSegmentCount: ControlNames.maxSeq)
    }

    /// Whether this is its generation's last segment.
    public var isLastOfGeneration: Bool { generationSegmentCount != nil }

    /// The generation's first seq, known from its last segment.
    public var generationFirstSeq: UInt64? { generationSegmentCount.map { seq - $0 + 1 } }

    // MARK: Encoding

    /// The JSON text to put on the queue.
    public func encoded() -> String {
        var members: [(String, JSONValue)] = [
            ("v", .number(String(Self.version))),
            ("target", .string(target.description)),
            ("gen", .number(String(generation))),
            ("seq", .number(String(seq))),
            ("blob", .string(blob)),
            ("bytes", .number(String(segmentBytes))),
            ("digest", .string(segmentDigest.description)),
            ("plain", .number(String(plainBytes))),
            ("extents", .number(String(extentCount))),
            ("lo", .number(String(span.offset))),
            ("hi", .number(String(span.end))),
        ]
        if let generationSegmentCount { members.append(("segments", .number(String(generationSegmentCount)))) }
        return JSONValue.object(members).serialized()
    }

    // MARK: Parsing

    /// Parses and checks a message's text; every violation is a `ControlError` naming the field.
    public init(parsing text: String) throws(ControlError) {
        let bytes = Array(text.utf8)
        guard bytes.count <= Self.maxEncodedBytes else {
            throw ControlError(
                .tooLarge, field: "message",
                "\(bytes.count) bytes; a control message has at most \(Self.maxEncodedBytes)")
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw ControlError(.malformed, field: "message", "not JSON: \(error)")
        }
        guard case .object(let members) = document else {
            throw ControlError(.malformed, field: "message", "not a JSON object")
        }
        let fields = try ControlFields(members, owner: "message", known: Self.fieldNames)

        let version = try fields.integer("v", in: 0...UInt64(Int.max))
        guard version == UInt64(Self.version) else {
            throw ControlError(
                .unsupportedVersion, field: "message.v",
                "version \(version); this program reads version \(Self.version)")
        }
        let targetText = try fields.string("target")
        do {
            target = try TargetName(targetText)
        } catch {
            throw ControlError(.invalidTargetName, field: "message.target", error.detail)
        }
        generation = try fields.integer("gen", in: 1...ControlNames.maxGeneration)
        seq = try fields.integer("seq", in: 1...ControlNames.maxSeq)
        let blobName = try fields.string("blob")
        let minimumSegment = SegmentFormat.headerSize + SegmentFormat.trailerSize
        segmentBytes = Int(
            try fields.integer("bytes", in: UInt64(minimumSegment)...UInt64(SegmentFormat.maxSegmentSize)))
        segmentDigest = try fields.digest("digest")
        extentCount = Int(try fields.integer("extents", in: 0...UInt64(SegmentFormat.maxExtents)))
        plainBytes = try fields.integer("plain", in: 0...UInt64(extentCount * SegmentFormat.maxExtentLength))
        let low = try fields.integer("lo", in: 0...UInt64.max)
        let high = try fields.integer("hi", in: low...UInt64.max)
        let sector = UInt64(SegmentFormat.sectorSize)
        guard low % sector == 0, high % sector == 0 else {
            throw ControlError(.outOfRange, field: "message.lo", "the span [\(low), \(high)) is not 512-aligned")
        }
        guard extentCount > 0 || high == 0 else {
            throw ControlError(
                .inconsistent, field: "message.hi", "a segment without extents has the empty span [0, 0)")
        }
        guard plainBytes <= high - low else {
            throw ControlError(
                .inconsistent, field: "message.plain",
                "\(plainBytes) plain bytes do not fit in the span [\(low), \(high))")
        }
        span = ByteRange(offset: low, length: high - low)
        generationSegmentCount = try fields.optionalInteger("segments", in: 1...seq)
        guard blobName == blob else {
            throw ControlError(
                .inconsistent, field: "message.blob",
                "'\(TargetName.printable(blobName))' is not the temp blob of this target, generation, seq and digest ('\(blob)')"
            )
        }
    }

    static let fieldNames: Set<String> = [
        "v", "target", "gen", "seq", "blob", "bytes", "digest", "plain", "extents", "lo", "hi", "segments",
    ]
}

/// A JSON object's members taken one by one by name, refusing duplicates and names not in `known`.
struct ControlFields {
    private var members: [String: JSONValue] = [:]
    private let owner: String

    init(_ list: [(String, JSONValue)], owner: String, known: Set<String>) throws(ControlError) {
        self.owner = owner
        for (name, value) in list {
            guard known.contains(name) else {
                throw ControlError(
                    .unknownField, field: "\(owner).\(TargetName.printable(name))", "this version defines no such field"
                )
            }
            guard members.updateValue(value, forKey: name) == nil else {
                throw ControlError(.unknownField, field: "\(owner).\(name)", "given twice")
            }
        }
    }

    func string(_ name: String) throws(ControlError) -> String {
        guard let value = members[name] else { throw missing(name) }
        guard case .string(let text) = value else {
            throw ControlError(.wrongType, field: "\(owner).\(name)", "expected a string")
        }
        return text
    }

    func integer(_ name: String, in range: ClosedRange<UInt64>) throws(ControlError) -> UInt64 {
        guard let value = try optionalInteger(name, in: range) else { throw missing(name) }
        return value
    }

    /// A plain decimal integer (no sign, fraction, exponent or leading zero) within `range`.
    func optionalInteger(_ name: String, in range: ClosedRange<UInt64>) throws(ControlError) -> UInt64? {
        guard let value = members[name] else { return nil }
        guard case .number(let text) = value, let digits = text.first, digits.isASCII, digits.isNumber,
            text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            text == "0" || !text.hasPrefix("0")
        else {
            throw ControlError(.wrongType, field: "\(owner).\(name)", "expected a non-negative integer")
        }
        guard let number = UInt64(text), range.contains(number) else {
            throw ControlError(
                .outOfRange, field: "\(owner).\(name)",
                "\(text.prefix(40)) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    /// 32 lowercase hex digits, as `XXH128.description` writes them.
    func digest(_ name: String) throws(ControlError) -> XXH128 {
        guard let value = members[name] else { throw missing(name) }
        guard case .string(let text) = value, let digest = XXH128(hex: text) else {
            throw ControlError(.wrongType, field: "\(owner).\(name)", "expected 32 lowercase hex digits")
        }
        return digest
    }

    private func missing(_ name: String) -> ControlError {
        ControlError(.missingField, field: "\(owner).\(name)", "required")
    }
}

extension XXH128 {
    /// Parses the 32 lowercase hex digits `description` writes; nil for anything else.
    public init?(hex: String) {
        let bytes = Array(hex.utf8)
        guard bytes.count == 32, bytes.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
            let high = UInt64(String(decoding: bytes[..<16], as: UTF8.self), radix: 16),
            let low = UInt64(String(decoding: bytes[16...], as: UTF8.self), radix: 16)
        else { return nil }
        self.init(high: high, low: low)
    }
}
