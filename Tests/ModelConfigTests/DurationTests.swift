import Testing
@testable import ModelConfig

/// Durations are read exactly as Go's `time.ParseDuration` reads them (WVA's parser), plus `d` and
/// `w`. The expected values were produced by Go 1.19's `time.ParseDuration` (src/time/format.go)
/// on each input of the table, printed as `int64` nanoseconds.
struct DurationTests {
    @Test(arguments: [
        ("30s", 30_000_000_000), ("5m", 300_000_000_000), ("1h30m", 5_400_000_000_000), ("1.5h", 5_400_000_000_000),
        ("500ms", 500_000_000), ("+5m", 300_000_000_000), ("1ns", 1), ("1us", 1_000), ("1µs", 1_000), ("1μs", 1_000),
        ("1h2m3.5s", 3_723_500_000_000), (".5s", 500_000_000), ("1.s", 1_000_000_000), ("0.1µs1ns", 101),
        ("1.0000000001s", 1_000_000_000), ("0.3333333333333333333h", 1_200_000_000_000),
        ("1.23456789012345678901234567890h", 4_444_444_404_444), ("9223372036854775807ns", 9_223_372_036_854_775_807),
        ("2562047h", 9_223_369_200_000_000_000), ("2562047h47m16.854775807s", 9_223_372_036_854_775_807),
        ("1500us", 1_500_000), ("100ns", 100), ("90s", 90_000_000_000), ("1m30s", 90_000_000_000), ("0", 0),
        ("+0", 0), ("-0", 0), ("-5m", -300_000_000_000), ("0s", 0), ("3.000000001s", 3_000_000_001),
        ("0.000000001s", 1), ("0.0000000001s", 0), ("1h1h1h", 10_800_000_000_000),
        ("999999999999999999ns", 999_999_999_999_999_999), ("0.5ns", 0), ("1.9ns", 1), (".000001ms", 1),
        ("2h45m", 9_900_000_000_000), ("300ms", 300_000_000), ("-1.5h", -5_400_000_000_000), ("+.5h", 1_800_000_000_000),
    ] as [(String, Int64)])
    func goDurationFormsParseToTheSameNanosecondsAsGo(text: String, nanoseconds: Int64) {
        #expect(ConfigDuration.parse(text)?.nanoseconds == nanoseconds)
    }

    @Test(arguments: [
        "9223372036854775808ns", "2562048h", "2562047h47m16.854775808s", "00", "+", "-", ".", ".s", "5", "5m ", " 5m",
        "5M", "1e3s", "1h-30m", "5mm", "1.5.5s", "10x", "1..5s", "1y", "m", "15", "5 minutes", "1,5h", "１s", "",
    ])
    func whatGoRejectsIsRejected(text: String) {
        #expect(ConfigDuration.parse(text) == nil)
    }

    /// `d` and `w` follow the same arithmetic as Go's units: each equals its value in hours.
    @Test(arguments: [
        ("2d", "48h"), ("1w", "168h"), ("1.5d", "36h"), ("1w2d", "216h"), (".5w", "84h"), ("1d0.5h", "24.5h"),
        ("+1d", "24h"), ("1.1d", "26.4h"),
    ])
    func daysAndWeeksAreWholeMultiplesOfHours(extended: String, hours: String) throws {
        let value = try #require(ConfigDuration.parse(extended))
        #expect(value == ConfigDuration.parse(hours))
    }

    @Test func theLongestWeekCountThatFitsIsAcceptedAndOneMoreIsNot() {
        #expect(ConfigDuration.parse("15250w")?.nanoseconds == Int64(9_223_200_000_000_000_000))  // 15250 × 604800 s
        #expect(ConfigDuration.parse("15251w") == nil)
    }

    @Test(arguments: [
        (90_000, "1m30s"), (300_000, "5m"), (5_400_000, "1h30m"), (86_400_000, "1d"),
        (1_209_600_000, "2w"), (500, "500ms"), (31_536_000_000, "1y"), (777_600_000, "1w2d"),
    ] as [(Int64, String)])
    func prometheusRangeIsEqualToAWholeMillisecondDuration(milliseconds: Int64, range: String) {
        #expect(ConfigDuration(milliseconds: milliseconds).prometheusRange == range)
    }

    /// Prometheus ranges stop at milliseconds: a sub-millisecond part rounds up, so the query never
    /// covers less history than configured, while the decision keeps the exact seconds.
    @Test(arguments: [
        ("1ns", "1ms", 1e-9), ("1us", "1ms", 1e-6), ("1500us", "2ms", 0.0015), ("1s1ns", "1s1ms", 1.000000001),
        ("999999ns", "1ms", 0.000999999), ("1000000ns", "1ms", 0.001), ("5m0.5ms", "5m1ms", 300.0005),
    ] as [(String, String, Double)])
    func subMillisecondDurationsRenderRoundedUpAndKeepTheirExactSeconds(text: String, range: String, seconds: Double) throws {
        let value = try #require(ConfigDuration.parse(text))
        #expect(value.prometheusRange == range)
        #expect(value.seconds == seconds)
    }

    @Test func millisecondsRoundUpAndSecondsAreExact() {
        #expect(ConfigDuration(nanoseconds: 1).milliseconds == 1)
        #expect(ConfigDuration(nanoseconds: 1_000_000).milliseconds == 1)
        #expect(ConfigDuration(nanoseconds: 1_000_001).milliseconds == 2)
        #expect(ConfigDuration(seconds: 600).milliseconds == 600_000)
        #expect(ConfigDuration(nanoseconds: 1) < ConfigDuration(nanoseconds: 2))
        #expect(ConfigDuration(nanoseconds: 1) != ConfigDuration(nanoseconds: 2))
    }
}
