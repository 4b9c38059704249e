import Testing
@testable import ModelConfig

struct DurationTests {
    @Test(arguments: [
        ("30s", 30_000), ("5m", 300_000), ("1h30m", 5_400_000), ("1.5h", 5_400_000), ("500ms", 500),
        ("2d", 172_800_000), ("1w", 604_800_000), ("1w2d", 777_600_000), ("90s", 90_000),
        ("1m30s", 90_000), (".5s", 500), ("1500us", 2), ("1µs", 1), ("100ns", 1), ("0s", 0),
    ] as [(String, Int64)])
    func goDurationFormsParseToMilliseconds(text: String, milliseconds: Int64) {
        #expect(ConfigDuration.parse(text)?.milliseconds == milliseconds)
    }

    @Test(arguments: ["", "15", "5 minutes", "-5m", "+5m", "5M", "1y", "m", "1..5s", ".s", "5m ", "1h-30m", "10x"])
    func malformedDurationsAreRejected(text: String) {
        #expect(ConfigDuration.parse(text) == nil)
    }

    @Test(arguments: [
        (90_000, "1m30s"), (300_000, "5m"), (5_400_000, "1h30m"), (86_400_000, "1d"),
        (1_209_600_000, "2w"), (500, "500ms"), (31_536_000_000, "1y"), (777_600_000, "1w2d"),
    ] as [(Int64, String)])
    func prometheusRangeIsEqualToTheDuration(milliseconds: Int64, range: String) {
        #expect(ConfigDuration(milliseconds: milliseconds).prometheusRange == range)
    }
}
