import Testing
@testable import FaultSimulation

/// The simulated TSDB answers like Prometheus: extrapolated `increase`, counter resets, lookback,
/// staleness, aggregation labels, `or`.
@Suite struct SimulatedTSDBTests {
    static let labels = ["namespace": "a", "model_name": "m", "pod": "p0"]

    func counter(_ flavour: PrometheusFlavour, _ points: [(Double, Double)]) -> SimulatedTSDB {
        var tsdb = SimulatedTSDB(flavour: flavour)
        for (t, v) in points { tsdb.scrape(target: "p0", at: t, [.init("c_total", Self.labels, v)]) }
        return tsdb
    }

    func increase(_ tsdb: SimulatedTSDB, at t: Double, range: String = "1m") throws -> Double? {
        try tsdb.evaluate(QueryParser.parse("sum by (model_name) (increase(c_total[\(range)]))"), at: t).first?.value
    }

    @Test(arguments: PrometheusFlavour.allCases)
    func increaseExtrapolatesToTheWindowEdgesWhenSamplesReachThem(_ flavour: PrometheusFlavour) throws {
        // Samples every 10 s from 5 to 55 with +1 each: 5 over 50 s, extrapolated by 5 s at each end.
        let tsdb = counter(flavour, (0...5).map { (5 + Double($0) * 10, 100 + Double($0)) })
        #expect(try increase(tsdb, at: 60) == 6)
    }

    @Test(arguments: PrometheusFlavour.allCases)
    func increaseExtrapolatesHalfAnIntervalWhereTheSeriesStartsInsideTheWindow(_ flavour: PrometheusFlavour) throws {
        // Samples 30..60 (+1 per 10 s, large absolute values so the zero point does not bind):
        // first sample 30 s after the window start (> 1.1 × 10 s): extrapolate 5 s only. 3 × 35/30.
        let tsdb = counter(flavour, [(30, 1000), (40, 1001), (50, 1002), (60, 1003)])
        #expect(try abs(increase(tsdb, at: 60)! - 3.5) < 1e-9)
    }

    @Test func increaseAddsTheValueBeforeACounterReset() throws {
        let tsdb = counter(.v3, [(10, 5), (20, 7), (30, 1), (40, 2), (50, 2), (60, 2)])
        // raw 2 - 5 + 7 (reset) = 4 over 50 s, extrapolated: zero point 5/4*50 > 10: to the edge. 4 × 60/50.
        #expect(try abs(increase(tsdb, at: 60)! - 4.8) < 1e-9)
    }

    @Test func increaseHasNoResultForASingleSample() throws {
        let tsdb = counter(.v3, [(55, 1)])
        #expect(try increase(tsdb, at: 60) == nil)
    }

    @Test func theWindowIsLeftOpenInPrometheus3AndClosedIn2() throws {
        // A sample exactly at t − R is inside the window in Prometheus 2, outside in 3.
        let points: [(Double, Double)] = [(0, 0), (30, 1), (60, 1)]
        #expect(try increase(counter(.v3, points), at: 60) == 0)
        #expect(try increase(counter(.v2, points), at: 60)! > 0)
    }

    @Test func anInstantSelectorLooksBackFiveMinutesAndStopsAtAStalenessMarker() throws {
        var tsdb = SimulatedTSDB()
        tsdb.scrape(target: "p0", at: 0, [.init("g", Self.labels, 3)])
        let query = try QueryParser.parse("sum by (namespace, model_name) (g)")
        #expect(tsdb.evaluate(query, at: 299).first?.value == 3)
        #expect(tsdb.evaluate(query, at: 300).isEmpty)
        tsdb.scrapeFailed(target: "p0", at: 10)
        #expect(tsdb.evaluate(query, at: 11).isEmpty)
    }

    @Test func aSeriesMissingFromAScrapeGoesStaleButARestartedTSDBWritesNoMarker() throws {
        var tsdb = SimulatedTSDB()
        let other = ["namespace": "a", "model_name": "n", "pod": "p0"]
        tsdb.scrape(target: "p0", at: 0, [.init("g", Self.labels, 1), .init("g", other, 2)])
        tsdb.scrape(target: "p0", at: 10, [.init("g", Self.labels, 1)])
        let query = try QueryParser.parse("count by (model_name) (g)")
        #expect(tsdb.evaluate(query, at: 11).map(\.labels["model_name"]) == ["m"])
        tsdb.scrape(target: "p0", at: 20, [.init("g", Self.labels, 1), .init("g", other, 2)])
        tsdb.restarted()
        tsdb.scrape(target: "p0", at: 40, [.init("g", Self.labels, 1)])
        #expect(tsdb.evaluate(query, at: 41).count == 2)  // `n` still answered through the lookback
    }

    @Test func aggregationsKeepTheGroupingLabelsAndPropagateNaNInSumsOnly() throws {
        var tsdb = SimulatedTSDB()
        tsdb.scrape(target: "p0", at: 0, [
            .init("g", ["namespace": "a", "model_name": "m", "pod": "p0"], .nan),
            .init("g", ["namespace": "a", "model_name": "m", "pod": "p1"], 2),
        ])
        let sum = tsdb.evaluate(try QueryParser.parse("sum by (namespace, model_name) (g)"), at: 1)
        #expect(sum.count == 1 && sum[0].value.isNaN && sum[0].labels == ["namespace": "a", "model_name": "m"])
        #expect(tsdb.evaluate(try QueryParser.parse("max by (model_name) (g)"), at: 1).first?.value == 2)
        #expect(tsdb.evaluate(try QueryParser.parse("count by (model_name) (g)"), at: 1).first?.value == 2)
    }

    @Test func orAddsOnlyTheRightHandSeriesTheLeftLacks() throws {
        var tsdb = SimulatedTSDB()
        tsdb.scrape(target: "gw", at: 0, [
            .init("new_q", ["target_model_name": "m"], 1), .init("old_q", ["target_model_name": "m"], 5),
            .init("old_q", ["target_model_name": "n"], 7),
        ])
        let answer = tsdb.evaluate(try QueryParser.parse("sum by (target_model_name) (new_q{}) or sum by (target_model_name) (old_q{})"), at: 1)
        #expect(Dictionary(uniqueKeysWithValues: answer.map { ($0.labels["target_model_name"]!, $0.value) }) == ["m": 1, "n": 7])
    }
}
