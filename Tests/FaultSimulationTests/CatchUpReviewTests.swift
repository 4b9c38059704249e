import ModelConfig
import PrometheusClient
import Recommendation
import RecommenderService
import Testing
@testable import FaultSimulation

/// Review of the gateway catch-up read (commit 3262278), through the real client and collector against
/// the simulated TSDB: scrapes every second (window of three scrapes), ticks at chosen times.
@Suite struct CatchUpReviewTests {
    static let metric = "inference_objective_request_total"
    static let key = GatewayKey(namespace: nil, name: "org/chat")

    /// One gateway pod's counter for `org/chat`: `value(t)` at each scrape from 0.5 s to `until`,
    /// failed scrapes (staleness) inside `gap`.
    static func scrapes(
        _ tsdb: inout SimulatedTSDB, pod: String, from: Double = 0.5, until: Double, gap: Range<Double>? = nil, value: (Double) -> Double
    ) {
        var t = from
        while t <= until {
            if let gap, gap.contains(t) {
                tsdb.scrapeFailed(target: pod, at: t)
            } else {
                tsdb.scrape(target: pod, at: t, [.init(metric, ["target_model_name": "org/chat", "job": "gw", "pod": pod], value(t))])
            }
            t += 1
        }
    }

    /// Runs ticks at `ticks` (queries failing with 503 at those in `failing`); the gateway requests
    /// counted for `org/chat` at each tick, nil when unknown or absent.
    static func run(_ tsdb: SimulatedTSDB, ticks: [Double], failing: Set<Double> = [], tickInterval: Double = 0) async -> [Double: Double] {
        let prometheus = SimulatedPrometheus(tsdb: tsdb)
        let collector = SignalCollector(
            client: PrometheusClient(transport: prometheus, retry: RetryPolicy(attempts: 1)),
            queries: QueryBuilder(
                templates: SimulationQueries.templates, scrapeInterval: ConfigDuration(seconds: 1),
                tickInterval: ConfigDuration(milliseconds: Int64(tickInterval * 1000))))
        var seen: [Double: Double] = [:]
        for t in ticks {
            prometheus.beginTick(at: t, faults: failing.contains(t) ? [.init(kind: .unavailable, start: t - 0.5, end: t + 0.5)] : [])
            let fleet = await collector.collect(retentions: [ConfigDuration(seconds: 60)], now: Instant(seconds: SimulatedPrometheus.epoch + t)).0
            _ = prometheus.endTick()
            if let value = try? fleet.gatewayRequests.get()[key] { seen[t] = value }
        }
        return seen
    }

    /// A short gap of the gateway's scrapes, a request rejected near its end: the target's last
    /// sample before the gap stays inside the presence window, so it never looks away, but its
    /// increase window holds fewer than two samples until well after the gap. The first tick that
    /// counts it again reads back from when it was last counted (campaign schedule
    /// 6471270527779385944: the request was counted only a tick after its deadline).
    @Test func aTargetPresentButUncountedInAShortGapIsReadBackWhenCountedAgain() async {
        var tsdb = SimulatedTSDB()
        Self.scrapes(&tsdb, pod: "gw-0", until: 120, gap: 88..<93) { $0 >= 92 ? 4 : 3 }
        let ticks = Array(stride(from: 71.0, through: 101, by: 2))
        let seen = await Self.run(tsdb, ticks: ticks, tickInterval: 2)  // a 4 s window: tick + two scrapes
        #expect(seen.filter { (93...95).contains($0.key) }.values.contains { $0 > 0 }, "\(seen.sorted { $0.key < $1.key })")
        #expect(seen.filter { $0.key <= 87 }.values.allSatisfy { $0 == 0 }, "\(seen.sorted { $0.key < $1.key })")
    }

    /// Control (passes): the case the change fixes — the gateway's scrapes fail from 50 to 66 while
    /// it counts a rejected request at 64; the first ticks after the gap count it.
    /// Answers that fail every other tick (a flaky store): each blind stretch is read back from its
    /// own start. A request counted at 110 is demand at the ticks right after it, not for as long
    /// as the failures go on (chained read-backs pinned the start at the first failure and read
    /// up to an hour back at every answer: no model with a request in that hour could go idle).
    @Test func readBacksOfFailuresCloseTogetherDoNotReachBackToTheFirst() async {
        var tsdb = SimulatedTSDB()
        Self.scrapes(&tsdb, pod: "gw-0", until: 200) { $0 >= 110 ? 4 : 3 }
        let ticks = Array(stride(from: 100.0, through: 180, by: 1))
        let seen = await Self.run(tsdb, ticks: ticks, failing: Set(ticks.filter { Int($0) % 2 == 1 && $0 > 100 }))
        #expect(seen.filter { (111...116).contains($0.key) }.values.contains { $0 > 0 }, "\(seen.sorted { $0.key < $1.key })")
        #expect(seen.filter { $0.key >= 130 }.values.allSatisfy { $0 == 0 }, "\(seen.sorted { $0.key < $1.key }.filter { $0.key >= 130 })")
    }

    /// How far back a count may reach (the decision core restarts the retention from requests
    /// no replica's counter shows only when they are within R): a count only the read back made
    /// reaches over the gap it covered; one the plain window made, over the window.
    @Test func aCountOnlyAReadBackMadeReachesOverTheStretchItCovered() async {
        var tsdb = SimulatedTSDB()
        Self.scrapes(&tsdb, pod: "gw-0", until: 80, gap: 50..<66) { $0 >= 64 ? 1 : 0 }
        let prometheus = SimulatedPrometheus(tsdb: tsdb)
        let collector = SignalCollector(
            client: PrometheusClient(transport: prometheus, retry: RetryPolicy(attempts: 1)),
            queries: QueryBuilder(templates: SimulationQueries.templates, scrapeInterval: ConfigDuration(seconds: 1)))
        var spans: [Double: Double] = [:]
        var window = 0.0
        for t in stride(from: 40.0, through: 75, by: 1) {
            prometheus.beginTick(at: t, faults: [])
            let fleet = await collector.collect(retentions: [ConfigDuration(seconds: 60)], now: Instant(seconds: SimulatedPrometheus.epoch + t)).0
            _ = prometheus.endTick()
            window = fleet.gatewayWindowSeconds
            if let value = try? fleet.gatewayRequests.get()[Self.key], value > 0 { spans[t] = fleet.gatewayRequestsReadBack[Self.key] ?? window }
        }
        #expect(window == 3)
        let readBack = spans.filter { $0.value > window }
        #expect(!readBack.isEmpty, "\(spans.sorted { $0.key < $1.key })")
        #expect(readBack.values.allSatisfy { $0 >= 16 && $0 <= 16 + 3 + 1 }, "\(spans.sorted { $0.key < $1.key })")
    }

    @Test func controlARequestCountedDuringTheGatewaysOwnScrapeGapIsCaughtUp() async {
        var tsdb = SimulatedTSDB()
        Self.scrapes(&tsdb, pod: "gw-0", until: 80, gap: 50..<66) { $0 >= 64 ? 1 : 0 }
        let seen = await Self.run(tsdb, ticks: Array(stride(from: 10.0, through: 75, by: 1)))
        #expect(seen.filter { $0.key >= 66 }.values.contains { $0 > 0 }, "\(seen.sorted { $0.key < $1.key }.filter { $0.key >= 60 })")
    }

    /// The recommender's own queries fail (503) from 20 to 95 while Prometheus scrapes the gateway
    /// throughout; the gateway counts a rejected request at 60. Failed answers do not advance the
    /// sightings' `last`, so the target is never "absent from the previous answer": no catch-up, and
    /// the plain three-scrape increase at 100 no longer spans the increment.
    @Test func aRequestCountedWhileTheRecommendersQueriesFailIsCaughtUp() async {
        var tsdb = SimulatedTSDB()
        Self.scrapes(&tsdb, pod: "gw-0", until: 110) { $0 >= 60 ? 1 : 0 }
        let ticks = Array(stride(from: 10.0, through: 105, by: 5))
        let seen = await Self.run(tsdb, ticks: ticks, failing: Set(ticks.filter { $0 >= 20 && $0 <= 95 }))
        #expect(seen.filter { $0.key >= 100 }.values.contains { $0 > 0 }, "\(seen.sorted { $0.key < $1.key })")
    }

    /// The recommender's own queries fail from 25 to 60; the gateway counts a rejected request at
    /// 30 and its scrapes fail from 40 on (they are still failing when the recommender sees again).
    /// The first answer after the blind stretch reads what the gateway counted before its own gap,
    /// though the target is absent now (campaign schedule 8724748962338025690).
    @Test func aRequestCountedWhileTheRecommenderWasBlindIsCaughtUpThoughTheGatewayIsGoneSince() async {
        var tsdb = SimulatedTSDB()
        Self.scrapes(&tsdb, pod: "gw-0", until: 120, gap: 40..<200) { $0 >= 30 ? 1 : 0 }
        let ticks = Array(stride(from: 10.0, through: 75, by: 5))
        let seen = await Self.run(tsdb, ticks: ticks, failing: Set(ticks.filter { $0 >= 25 && $0 <= 60 }))
        #expect((seen[65] ?? 0) > 0, "\(seen.sorted { $0.key < $1.key })")
    }

    /// The gateway's scrapes fail from 50 to 66 while it counts a rejected request at 60: the
    /// tick right after the first sample of the resumed scrapes (66.5) counts it, though
    /// `increase` over three scrapes needs a second sample (campaign schedule 12340230713465087609).
    @Test func aResumedTargetIsCaughtUpFromItsFirstSample() async {
        var tsdb = SimulatedTSDB()
        Self.scrapes(&tsdb, pod: "gw-0", until: 80, gap: 50..<66) { $0 >= 60 ? 1 : 0 }
        let seen = await Self.run(tsdb, ticks: Array(stride(from: 10.0, through: 70, by: 1)))
        #expect((seen[67] ?? 0) > 0, "\(seen.sorted { $0.key < $1.key }.filter { $0.key >= 60 })")
    }

    /// Two gateway pods route `org/chat`; only gw-1's scrapes fail (50 to 66) while it counts a
    /// rejected request at 64. The target key stays present through gw-0, so no catch-up runs.
    @Test func aRequestCountedDuringOneOfTwoGatewaysScrapeGapIsCaughtUp() async {
        var tsdb = SimulatedTSDB()
        Self.scrapes(&tsdb, pod: "gw-0", until: 80) { _ in 5 }
        Self.scrapes(&tsdb, pod: "gw-1", until: 80, gap: 50..<66) { $0 >= 64 ? 1 : 0 }
        let seen = await Self.run(tsdb, ticks: Array(stride(from: 10.0, through: 75, by: 1)))
        withKnownIssue("sightings are kept per target, not per gateway pod: another pod keeps the target present (open)") {
            #expect(seen.filter { $0.key >= 66 }.values.contains { $0 > 0 }, "\(seen.sorted { $0.key < $1.key }.filter { $0.key >= 60 })")
        }
    }

    /// A gap longer than the one-hour cap: the capped read holds no sample from before the gap, so
    /// it cannot see the jump (the cap loses wakes, not only needless ones).
    @Test func aRequestCountedAtTheEndOfAGapLongerThanAnHourIsCaughtUp() async {
        var tsdb = SimulatedTSDB()
        Self.scrapes(&tsdb, pod: "gw-0", until: 3720, gap: 50..<3700) { $0 >= 3690 ? 1 : 0 }
        let seen = await Self.run(tsdb, ticks: [10, 20, 30, 40, 60, 3000] + Array(stride(from: 3700.0, through: 3715, by: 1)))
        withKnownIssue("the catch-up read spans at most an hour (GatewaySightings.longestCatchUp; open)") {
            #expect(seen.filter { $0.key >= 3700 }.values.contains { $0 > 0 }, "\(seen.sorted { $0.key < $1.key }.filter { $0.key >= 3000 })")
        }
    }

    /// The gateway pod is replaced during the gap (a new `pod` label, its counter created by the
    /// rejected request itself, first scraped at 1): `increase` never counts a series' first value.
    /// The target itself is not new (gw-0 routed it), so its first-series rule does not apply.
    @Test func aRequestThatCreatesTheCounterOfAReplacedGatewayPodIsCounted() async {
        var tsdb = SimulatedTSDB()
        Self.scrapes(&tsdb, pod: "gw-0", until: 49) { _ in 7 }
        tsdb.scrapeFailed(target: "gw-0", at: 50)
        Self.scrapes(&tsdb, pod: "gw-1", from: 66.5, until: 80) { _ in 1 }
        let seen = await Self.run(tsdb, ticks: Array(stride(from: 10.0, through: 75, by: 1)))
        withKnownIssue("increase() never counts a new series' first value; only a target's first series is counted from it (open: per-pod sightings)") {
            #expect(seen.filter { $0.key >= 66 }.values.contains { $0 > 0 }, "\(seen.sorted { $0.key < $1.key }.filter { $0.key >= 60 })")
        }
    }

    /// The gateway creates the counter of a target with the first request for it (value 1 at its
    /// first scrape, 30.5), and no other request follows: the tick after that scrape counts it,
    /// though `increase` never will (campaign schedules 2334989052130005338, 573730256215317296).
    @Test func theRequestThatCreatesATargetsCounterIsCounted() async {
        var tsdb = SimulatedTSDB()
        Self.scrapes(&tsdb, pod: "gw-0", from: 30.5, until: 60) { _ in 1 }
        let seen = await Self.run(tsdb, ticks: Array(stride(from: 10.0, through: 40, by: 1)))
        #expect((seen[31] ?? 0) > 0, "\(seen.sorted { $0.key < $1.key })")
    }
}
