import Foundation

/// Azure's date formats, written and read in one place (Microsoft's "Representation of date/time values
/// in headers" and "Understanding the Table service data model"): RFC 1123 in HTTP headers and queue
/// XML (`Mon, 01 Jan 2024 00:00:00 GMT`), ISO 8601 UTC with seven fractional digits in table JSON, ETags
/// and snapshot ids (`2024-01-01T00:00:00.1234567Z`).
///
/// Times are 100 ns ticks since 1970, Azure's resolution. One rounding rule: a `Date` becomes the
/// nearest tick. Parsing never traps: any text, of any length, is a date or nil. Years are 0001…9999
/// on both sides; formatting clamps a `Date` outside them (Foundation's `distantFuture`) to their ends.
public enum AzureDate {
    public static let ticksPerSecond: Int64 = 10_000_000
    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.9999999Z in ticks since 1970.
    static let minimumTicks: Int64 = -62_135_596_800 * ticksPerSecond
    static let maximumTicks: Int64 = 253_402_300_800 * ticksPerSecond - 1
    /// Longer texts are not dates: bounds the work on hostile input.
    static let maximumLength = 64

    // MARK: Ticks

    /// The nearest tick of `date`, clamped to years 0001…9999 (NaN is the earliest).
    public static func ticks(_ date: Date) -> Int64 {
        let seconds = date.timeIntervalSince1970
        let whole = seconds.rounded(.down)
        guard !whole.isNaN, whole >= Double(minimumTicks / ticksPerSecond) else { return minimumTicks }
        guard whole <= Double(maximumTicks / ticksPerSecond) else { return maximumTicks }
        // The fraction apart from the whole seconds: at 1.7e9 s a Double holds 1e-7 only this way.
        let fraction = Int64(((seconds - whole) * Double(ticksPerSecond)).rounded())
        return min(maximumTicks, Int64(whole) * ticksPerSecond + fraction)
    }

    public static func date(ticks: Int64) -> Date {
        let (seconds, fraction) = floorDivision(ticks, ticksPerSecond)
        return Date(timeIntervalSince1970: Double(seconds) + Double(fraction) / Double(ticksPerSecond))
    }

    // MARK: Formatting

    /// `Mon, 01 Jan 2024 00:00:00 GMT`: whole seconds, rounded down (HTTP dates carry no fraction).
    public static func rfc1123(_ date: Date) -> String {
        let civil = CivilTime(ticks: ticks(date))
        return "\(weekdays[civil.weekday]), \(pad(civil.day, 2)) \(months[civil.month - 1]) \(pad(civil.year, 4)) "
            + "\(pad(civil.hour, 2)):\(pad(civil.minute, 2)):\(pad(civil.second, 2)) GMT"
    }

    /// `2024-01-01T00:00:00.1234567Z`.
    public static func iso8601(_ date: Date) -> String { iso8601(ticks: ticks(date)) }

    /// `2024-01-01T00:00:00.1234567Z`; `separator` replaces the colons (ETags carry them as `%3A`).
    public static func iso8601(ticks: Int64, timeSeparator separator: String = ":") -> String {
        let civil = CivilTime(ticks: min(max(ticks, minimumTicks), maximumTicks))
        return "\(pad(civil.year, 4))-\(pad(civil.month, 2))-\(pad(civil.day, 2))T"
            + "\(pad(civil.hour, 2))\(separator)\(pad(civil.minute, 2))\(separator)\(pad(civil.second, 2)).\(pad(civil.ticks, 7))Z"
    }

    // MARK: Parsing

    /// RFC 1123 (`x-ms-date`, `If-Modified-Since`) or ISO 8601 (SAS `st`/`se`, table values), as
    /// `parseRFC1123` and `parseISO8601Ticks` read them.
    public static func parse(_ text: String) -> Date? {
        parseRFC1123(text) ?? parseISO8601(text)
    }

    /// `Mon, 01 Jan 2024 00:00:00 GMT` (a one-digit day is accepted; the weekday is not checked).
    public static func parseRFC1123(_ text: String) -> Date? {
        guard var scanner = DateScanner(text, maximumLength: maximumLength) else { return nil }
        guard scanner.letters(3) != nil, scanner.take(","), scanner.take(" "),
            let day = scanner.number(digits: 1...2), scanner.take(" "),
            let monthName = scanner.letters(3), let month = months.firstIndex(of: monthName), scanner.take(" "),
            let year = scanner.number(digits: 4...4), scanner.take(" "),
            let hour = scanner.number(digits: 2...2), scanner.take(":"),
            let minute = scanner.number(digits: 2...2), scanner.take(":"),
            let second = scanner.number(digits: 2...2), scanner.take(" "),
            scanner.letters(3) == "GMT", scanner.atEnd
        else { return nil }
        return CivilTime(year: year, month: month + 1, day: day, hour: hour, minute: minute, second: second, ticks: 0)
            .map { date(ticks: $0.ticksSince1970) }
    }

    public static func parseISO8601(_ text: String) -> Date? {
        parseISO8601Ticks(text).map { date(ticks: $0) }
    }

    /// `yyyy-MM-ddTHH:mm[:ss[.f…]]Z` or a bare `yyyy-MM-dd` (SAS times may omit the seconds or the
    /// time). Up to nine fractional digits, rounded to the nearest tick.
    public static func parseISO8601Ticks(_ text: String) -> Int64? {
        guard var scanner = DateScanner(text, maximumLength: maximumLength) else { return nil }
        guard let year = scanner.number(digits: 4...4), scanner.take("-"),
            let month = scanner.number(digits: 2...2), scanner.take("-"),
            let day = scanner.number(digits: 2...2)
        else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        var fraction = 0
        if !scanner.atEnd {
            guard scanner.take("T"), let h = scanner.number(digits: 2...2), scanner.take(":"),
                let m = scanner.number(digits: 2...2)
            else { return nil }
            hour = h
            minute = m
            if scanner.take(":") {
                guard let s = scanner.number(digits: 2...2) else { return nil }
                second = s
                if scanner.take(".") {
                    let start = scanner.index
                    guard let digits = scanner.number(digits: 1...9) else { return nil }
                    fraction = scaledToTicks(digits, count: scanner.index - start)
                }
            }
            guard scanner.take("Z"), scanner.atEnd else { return nil }
        }
        guard
            let civil = CivilTime(
                year: year, month: month, day: day, hour: hour, minute: minute, second: second, ticks: 0)
        else {
            return nil
        }
        // The rounding of nine digits may carry into the next second: 9999-12-31T23:59:59.99999999Z.
        let ticks = civil.ticksSince1970 + Int64(fraction)
        return ticks <= maximumTicks ? ticks : nil
    }

    // MARK: Helpers

    static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `count` fractional digits as ticks (seven digits), the nearest for more than seven.
    private static func scaledToTicks(_ digits: Int, count: Int) -> Int {
        var value = digits
        if count < 7 {
            for _ in count..<7 { value *= 10 }
        } else if count > 7 {
            let divisor = count == 8 ? 10 : 100
            value = (value + divisor / 2) / divisor
        }
        return value
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    static func floorDivision(_ a: Int64, _ b: Int64) -> (quotient: Int64, remainder: Int64) {
        let remainder = a % b
        return remainder < 0 ? (a / b - 1, remainder + b) : (a / b, remainder)
    }
}
