import Foundation
import Testing

@testable import RelayShared

/// Azure's date formats in one place: exact formatting, one rounding rule (nearest 100 ns tick), and
/// parsers that answer nil, never trap, on any text.
struct AzureDateTests {
    static let newYear2024: Int64 = 1_704_067_200 * AzureDate.ticksPerSecond

    @Test func formatsBothWireFormats() {
        let date = AzureDate.date(ticks: Self.newYear2024 + 1_234_567)
        #expect(AzureDate.rfc1123(date) == "Mon, 01 Jan 2024 00:00:00 GMT")
        #expect(AzureDate.iso8601(ticks: Self.newYear2024 + 1_234_567) == "2024-01-01T00:00:00.1234567Z")
        #expect(AzureDate.iso8601(ticks: 5) == "1970-01-01T00:00:00.0000005Z")
        #expect(AzureDate.iso8601(ticks: -1) == "1969-12-31T23:59:59.9999999Z")
        #expect(AzureDate.iso8601(ticks: Self.newYear2024, timeSeparator: "%3A") == "2024-01-01T00%3A00%3A00.0000000Z")
        #expect(AzureDate.rfc1123(Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 GMT")
    }

    @Test func roundsToTheNearestTickCarryingIntoTheSecond() {
        #expect(AzureDate.ticks(Date(timeIntervalSince1970: 1.000_000_04)) == 10_000_000)
        #expect(AzureDate.ticks(Date(timeIntervalSince1970: 1.000_000_06)) == 10_000_001)
        #expect(
            AzureDate.iso8601(Date(timeIntervalSince1970: 1_704_067_199.999_999_99)) == "2024-01-01T00:00:00.0000000Z")
        #expect(AzureDate.parseISO8601Ticks("2024-01-01T00:00:00.12345675Z") == Self.newYear2024 + 1_234_568)
        #expect(AzureDate.parseISO8601Ticks("2023-12-31T23:59:59.999999996Z") == Self.newYear2024)
    }

    @Test func clampsDatesOutsideYearsOneToNineThousand() {
        #expect(AzureDate.iso8601(.distantFuture) == "4001-01-01T00:00:00.0000000Z")
        #expect(AzureDate.iso8601(Date(timeIntervalSince1970: 1e12)) == "9999-12-31T23:59:59.9999999Z")
        #expect(AzureDate.iso8601(.distantPast) == "0001-01-01T00:00:00.0000000Z")
        #expect(AzureDate.rfc1123(Date(timeIntervalSince1970: .infinity)) == "Fri, 31 Dec 9999 23:59:59 GMT")
        #expect(AzureDate.rfc1123(Date(timeIntervalSince1970: .nan)) == "Mon, 01 Jan 0001 00:00:00 GMT")
        #expect(AzureDate.iso8601(ticks: .max) == "9999-12-31T23:59:59.9999999Z")
        #expect(AzureDate.iso8601(ticks: .min) == "0001-01-01T00:00:00.0000000Z")
    }

    @Test func parsesWhatClientsSend() {
        let midnight = AzureDate.date(ticks: Self.newYear2024)
        #expect(AzureDate.parseRFC1123("Mon, 01 Jan 2024 00:00:00 GMT") == midnight)
        #expect(AzureDate.parseRFC1123("Mon, 1 Jan 2024 00:00:00 GMT") == midnight)
        for text in [
            "2024-01-01", "2024-01-01T00:00Z", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.0Z",
            "2024-01-01T00:00:00.000000000Z",
        ] {
            #expect(AzureDate.parseISO8601(text) == midnight, "\(text)")
            #expect(AzureDate.parse(text) == midnight, "\(text)")
        }
        #expect(AzureDate.parse("Mon, 01 Jan 2024 00:00:00 GMT") == midnight)
        #expect(AzureDate.parseISO8601Ticks("0001-01-01T00:00:00Z") == AzureDate.minimumTicks)
        #expect(AzureDate.parseISO8601Ticks("9999-12-31T23:59:59.9999999Z") == AzureDate.maximumTicks)
    }

    /// The probe's crashing inputs and their neighbours: nil, not a trap.
    @Test(arguments: [
        "", "Z", "TZ", "T", "2024-01-01T00:00:.Z", "2024-01-01T00:00:00.Z", "2024-01-01T", "2024-01-01TZ",
        "2024-01-01T00Z", "2024-01-01T00:00",
        "2024-1-01", "+2024-01-01", "2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00.1234567890Z", "2024-13-01",
        "2024-00-10", "2023-02-29",
        "2024-04-31", "2024-01-01T24:00Z", "2024-01-01T00:60Z", "2024-01-01T00:00:60Z", "0000-01-01",
        "9999-12-31T23:59:59.99999999Z",
        "GMT", " GMT", "Mon, GMT", "Mon, 01 Jan 2024 00:00: GMT", "Mon, 01 Foo 2024 00:00:00 GMT",
        "Mon, 001 Jan 2024 00:00:00 GMT",
        "Mon, 01 Jan 2024 00:00:00 UTC", "Mon, 01 Jan 2024 00:00:00 GMT ", "Mon 01 Jan 2024 00:00:00 GMT",
        "Mon, 32 Jan 2024 00:00:00 GMT",
        "２０２４-01-01", String(repeating: "9", count: 100_000) + "-01-01",
    ])
    func refusesMalformedDates(_ text: String) {
        #expect(AzureDate.parse(text) == nil)
        #expect(AzureDate.parseISO8601Ticks(text) == nil)
    }

    /// Random ticks across the whole range survive format and parse exactly; random texts over the
    /// dates' alphabet never trap.
    @Test func roundTripsAndSurvivesRandomText() {
        var random = SplitMix64(seed: 2024)
        let span = UInt64(AzureDate.maximumTicks - AzureDate.minimumTicks)
        for _ in 0..<20_000 {
            let ticks = AzureDate.minimumTicks + Int64(random.next() % span)
            #expect(AzureDate.parseISO8601Ticks(AzureDate.iso8601(ticks: ticks)) == ticks)
        }
        let alphabet = Array("0123456789-:.TZ GMTMonJa,".utf8)
        for _ in 0..<50_000 {
            let length = Int(random.next() % 32)
            let text = String(
                decoding: (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }, as: UTF8.self
            )
            if let ticks = AzureDate.parseISO8601Ticks(text) {
                #expect((AzureDate.minimumTicks...AzureDate.maximumTicks).contains(ticks))
            }
            _ = AzureDate.parse(text)
        }
    }
}
