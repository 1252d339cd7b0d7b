/// A UTC calendar time of the proleptic Gregorian calendar, to and from ticks since 1970, with the
/// civil-from-days algorithms of Howard Hinnant's "chrono-Compatible Low-Level Date Algorithms": pure
/// integer arithmetic, no time zone, no `tm`, valid for every year AzureDate handles.
struct CivilTime {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int
    /// The fraction of the second in 100 ns ticks, 0…9_999_999.
    var ticks: Int
    /// 0 for Sunday … 6 for Saturday.
    var weekday: Int

    /// `ticks` must lie within AzureDate's years (callers clamp).
    init(ticks since1970: Int64) {
        let (seconds, fraction) = AzureDate.floorDivision(since1970, AzureDate.ticksPerSecond)
        let (days, secondOfDay) = AzureDate.floorDivision(seconds, 86_400)
        let (year, month, day) = Self.civil(fromDays: Int(days))
        self.year = year
        self.month = month
        self.day = day
        hour = Int(secondOfDay / 3600)
        minute = Int(secondOfDay / 60 % 60)
        second = Int(secondOfDay % 60)
        ticks = Int(fraction)
        // 1970-01-01 was a Thursday.
        weekday = Int(AzureDate.floorDivision(days + 4, 7).remainder)
    }

    /// Nil unless every field is in its range: months of their length, no leap second, years 1…9999.
    init?(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, ticks: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...Self.length(ofMonth: month, year: year)).contains(day),
            (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second),
            (0..<10_000_000).contains(ticks)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.ticks = ticks
        weekday = Int(AzureDate.floorDivision(Int64(Self.days(year: year, month: month, day: day)) + 4, 7).remainder)
    }

    var ticksSince1970: Int64 {
        let seconds =
            Int64(Self.days(year: year, month: month, day: day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return seconds * AzureDate.ticksPerSecond + Int64(ticks)
    }

    static func length(ofMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
