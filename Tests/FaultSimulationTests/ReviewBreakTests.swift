import ModelConfig
import PrometheusClient
import Recommendation
@testable import RecommenderService
import Synchronization
import Testing
@testable import FaultSimulation

/// A hostile review of the gateway catch-up, the first-series ("born") rule and the counter-reset
/// rule of the requests window, through the real client, collector and engine against the
/// simulated TSDB (scrapes every second at x.5, ticks on whole seconds). Each schedule broke the
/// code it reviewed; those still open are known issues, named `break…`.
@Suite struct ReviewBreakTests {
    // MARK: - Gateway: the first-series rule and the catch-up read

    /// A needless wake: the gateway's scrapes fail while this process gives its first answer
    /// (a network blip, the gateway pod busy, Prometheus just restarted and not yet scraping it),
    /// so its target is absent from that answer. When the scrapes resume, the target is "born"
    /// for this process, and the counter's lifetime value (7 requests served long ago) counts as 7
    /// fresh requests: every model at zero routed by that gateway is woken, though nobody asked
    /// for any. (Spec §6: a restart must not wake the sleeping models.)
    @Test func aGatewayTargetStaleThroughTheFirstAnswerIsNotCountedAsSevenFreshRequests() async {
        var tsdb = SimulatedTSDB()
        CatchUpReviewTests.scrapes(&tsdb, pod: "gw-0", until: 60, gap: 5..<30) { _ in 7 }  // no request at all
        let seen = await CatchUpReviewTests.run(tsdb, ticks: Array(stride(from: 10.0, through: 50, by: 1)))
        #expect(seen.values.allSatisfy { $0 == 0 }, "\(seen.sorted { $0.key < $1.key })")
    }

    /// A missed wake: the recommender restarts (a crash, a rolling update) and is down from 50 to
    /// 100; meanwhile the gateway counts a rejected request for a model at zero (3 → 4 at 60).
    /// The previous process's last answer was at 50: the restart is a blind stretch exactly like
    /// a Prometheus outage (which the catch-up reads over), but the new process has no sightings,
    /// so nothing reads over it; the three-scrape window at 100 no longer spans the increment.
    /// (The TSDB shows when the previous process was last scraped: its recommendation's series.)
    @Test func aRequestCountedWhileTheRecommenderWasRestartingIsCaughtUp() async {
        var tsdb = SimulatedTSDB()
        CatchUpReviewTests.scrapes(&tsdb, pod: "gw-0", until: 120) { $0 >= 60 ? 4 : 3 }
        // What the TSDB shows of the previous process: its recommendation, scraped until it died.
        let exported = ["namespace": "chat", "model_name": "org/chat", "variant_name": "chat", "pod": "recommender-0"]
        for t in stride(from: 0.5, through: 50.5, by: 1) {
            tsdb.scrape(target: "recommender-0", at: t, [.init(Simulation.desiredMetric, exported, 0)])
        }
        tsdb.scrapeFailed(target: "recommender-0", at: 51.5)
        let before = await CatchUpReviewTests.run(tsdb, ticks: Array(stride(from: 10.0, through: 50, by: 5)))
        #expect(before.values.allSatisfy { $0 == 0 })
        let after = await CatchUpReviewTests.run(tsdb, ticks: Array(stride(from: 100.0, through: 110, by: 5)))
        #expect(after.values.contains { $0 > 0 }, "\(after.sorted { $0.key < $1.key })")
    }

    /// The other side of the first read-back: it reaches exactly the shortest retention (60 s),
    /// never the three scrapes more a blind stretch's read adds. The last request's rise (3 → 4 at
    /// 10) is R before a zero at 70; a process starting at 71 must not read it as new demand (with
    /// three scrapes more its window held the sample before the rise: a wake for a request served
    /// before the zero, held for R).
    @Test func theFirstReadBackOfAProcessDoesNotReachTheRequestBeforeAZero() async {
        var tsdb = SimulatedTSDB()
        CatchUpReviewTests.scrapes(&tsdb, pod: "gw-0", until: 90) { $0 >= 10 ? 4 : 3 }
        let seen = await CatchUpReviewTests.run(tsdb, ticks: [71, 72, 75, 80])
        #expect(seen.count == 4 && seen.values.allSatisfy { $0 == 0 }, "\(seen.sorted { $0.key < $1.key })")
    }

    /// The same, inside one process: it starts during a Prometheus outage (every answer fails
    /// from its first tick at 20 until 95) and the gateway counts a rejected request at 60. With a
    /// single good answer before the outage the request is caught up
    /// (`CatchUpReviewTests.aRequestCountedWhileTheRecommendersQueriesFailIsCaughtUp`); without
    /// one, `GatewaySightings.gaps` has no `last` and reports no blind stretch.
    @Test func aRequestCountedWhileTheProcessHadNeverSeenAnAnswerIsCaughtUp() async {
        var tsdb = SimulatedTSDB()
        CatchUpReviewTests.scrapes(&tsdb, pod: "gw-0", until: 120) { $0 >= 60 ? 4 : 3 }
        let ticks = Array(stride(from: 20.0, through: 105, by: 5))
        let seen = await CatchUpReviewTests.run(tsdb, ticks: ticks, failing: Set(ticks.filter { $0 <= 95 }))
        #expect(seen.filter { $0.key >= 100 }.values.contains { $0 > 0 }, "\(seen.sorted { $0.key < $1.key })")
    }

    /// A mass needless wake: a gateway routing 70 models (counters 5 each, no request at all in
    /// this test) whose scrapes fail for a little over an hour (a broken ServiceMonitor after an
    /// upgrade). While every target is away, `GatewaySightings.record` prunes the sightings older
    /// than an hour (70 > 2 × 0 + 64), so when the scrapes resume every target is "born" again and
    /// its lifetime count is read as fresh requests: every model at zero is woken at once.
    @Test func targetsAwayForOverAnHourAreNotBornAgainWithTheirLifetimeCounts() async {
        var tsdb = SimulatedTSDB()
        let names = (0..<70).map { "org/model-\($0)" }
        var t = 0.5
        while t <= 3710 {
            if t >= 20, t < 3700 {
                tsdb.scrapeFailed(target: "gw-0", at: t)
            } else {
                tsdb.scrape(target: "gw-0", at: t, names.map { .init(CatchUpReviewTests.metric, ["target_model_name": $0, "job": "gw", "pod": "gw-0"], 5) })
            }
            t += 1
        }
        let prometheus = SimulatedPrometheus(tsdb: tsdb)
        let collector = SignalCollector(
            client: PrometheusClient(transport: prometheus, retry: RetryPolicy(attempts: 1)),
            queries: QueryBuilder(templates: SimulationQueries.templates, scrapeInterval: ConfigDuration(seconds: 1)))
        var counted: [Double: Double] = [:]
        for t in [10.0, 15, 100, 1000, 2000, 3000, 3650, 3701, 3702, 3703] {
            prometheus.beginTick(at: t, faults: [])
            let fleet = await collector.collect(retentions: [ConfigDuration(seconds: 60)], now: Instant(seconds: SimulatedPrometheus.epoch + t)).0
            _ = prometheus.endTick()
            counted[t] = (try? fleet.gatewayRequests.get())?.values.reduce(0, +)
        }
        #expect(counted.values.allSatisfy { $0 == 0 }, "requests counted over all targets by tick: \(counted.sorted { $0.key < $1.key })")
    }

    /// A missed wake at startup: every signal query answers, but the new recovery read of the
    /// adopted records (`recommender_model_adopted_from_gateway_label`, a 24 h range query: the
    /// heaviest of a tick, and recovery is now all-or-nothing) fails until 30. The engine discards
    /// each tick's answers meanwhile (no decision before recovery), yet the collector has recorded
    /// them as seen: the gateway's rejected request for the model at zero (3 → 4 at 21) was in
    /// the answers of 22 and 23 only, and nothing reads over the discarded stretch once recovery
    /// succeeds. The model stays at 0 (no retry in this schedule).
    @Test func aRequestCountedWhileRecoveryKeptFailingWakesTheModelOnceRecovered() async {
        var tsdb = SimulatedTSDB()
        let exported = ["namespace": Self.namespace, "model_name": Self.model, "variant_name": "m", "pod": "recommender-0"]
        for t in stride(from: 0.5, through: 5.5, by: 1) { tsdb.scrape(target: "recommender-0", at: t, [.init(Simulation.desiredMetric, exported, 0)]) }
        tsdb.scrapeFailed(target: "recommender-0", at: 6.5)
        for t in stride(from: 0.5, through: 60.5, by: 1) {
            tsdb.scrape(target: "gw-0", at: t, [.init(CatchUpReviewTests.metric, ["target_model_name": Self.model, "job": "gw", "pod": "gw-0"], t > 21 ? 4 : 3)])
        }
        let prometheus = SimulatedPrometheus(tsdb: tsdb)
        let collector = SignalCollector(
            client: PrometheusClient(
                transport: FailingQueries(inner: prometheus, matching: "recommender_model_adopted_from_gateway_label", until: 30),
                retry: RetryPolicy(attempts: 1)),
            queries: QueryBuilder(templates: SimulationQueries.templates, scrapeInterval: ConfigDuration(seconds: 1), tickInterval: ConfigDuration(seconds: 1)))
        let engine = Engine(options: EngineOptions(), logger: Simulation.logger)
        let at = { (t: Double) in Instant(seconds: SimulatedPrometheus.epoch + t) }
        await engine.loadConfig([RawEntry(
            key: "m", text: "model_id: \(Self.model)\nnamespace: \(Self.namespace)\nenable_scale_to_zero: true\nretention_period: 20s\n",
            location: EntryLocation(file: "m"))], now: at(0))
        var desired: [Double: Int] = [:]
        for t in stride(from: 10.0, through: 45, by: 1) {
            prometheus.beginTick(at: t, faults: [])
            await engine.recoverIfDue(from: collector, window: ConfigDuration(seconds: 3600), now: at(t), learned: false)
            let (fleet, outcomes) = await collector.collect(retentions: await engine.retentionsInUse, now: at(t))
            if await !engine.recovered { collector.answersDiscarded() }  // as TickLoop.tickOnce
            _ = prometheus.endTick()
            await engine.tick(fleet, outcomes: outcomes, duration: 0, now: at(t))
            desired[t] = await engine.decision(for: Self.key)?.desired
        }
        #expect(await engine.recovered)
        #expect(desired.values.contains { $0 >= 1 }, "\(desired.sorted { $0.key < $1.key })")
    }

    /// A missed wake without any failed answer: the loop sleeps `--interval` after each tick
    /// (`repeatUntilShutdown`: fixed delay), so a slow tick (queries answered within the timeout,
    /// or after a retry) puts the next answer more than `gatewayWindow − scrape` after the last
    /// one. Interval 1 s, scrapes 1 s (window 3 s); the tick at 12 takes 10 s; the gateway counts a
    /// rejected request between its scrapes at 14.5 and 15.5. No window of 12 or 22 spans the
    /// rise, and no answer failed, so there is no catch-up.
    @Test func aRiseBetweenTwoAnswersFartherApartThanTheWindowIsCounted() async {
        var tsdb = SimulatedTSDB()
        CatchUpReviewTests.scrapes(&tsdb, pod: "gw-0", until: 40) { $0 >= 15 ? 4 : 3 }
        let seen = await CatchUpReviewTests.run(tsdb, ticks: [10, 11, 12, 22, 23, 24])
        #expect(seen.filter { $0.key >= 22 }.values.contains { $0 > 0 }, "\(seen.sorted { $0.key < $1.key })")
    }

    // MARK: - Requests window: a counter's lost increments

    static let model = "org/m"
    static let namespace = "ns"
    static let key = ModelKey(namespace: namespace, modelID: model)

    /// Scrapes of one vLLM pod of `org/m` every second at x.5 from `from` to `until` (idle gauges,
    /// `counter(t)` requests served), failing inside `failed` (the container is down).
    static func vllmPod(
        _ tsdb: inout SimulatedTSDB, _ pod: String, from: Double = 0.5, until: Double, failed: Range<Double>? = nil, counter: (Double) -> Double
    ) {
        var t = from
        while t <= until {
            if let failed, failed.contains(t) {
                tsdb.scrapeFailed(target: pod, at: t)
            } else {
                let labels = ["namespace": namespace, "model_name": model, "pod": pod, "job": "vllm"]
                tsdb.scrape(target: pod, at: t, [
                    .init(Fleet.requestsMetric, labels, counter(t)), .init(Fleet.runningMetric, labels, 0),
                    .init(Fleet.waitingMetric, labels, 0), .init(Fleet.kvMetric, labels, 0),
                ])
            }
            t += 1
        }
    }

    /// Runs the real collector and engine (retention `retention` s, `wake_path: api`) at every
    /// whole second from 1 to `until`; the first time `org/m` is recommended 0, if ever.
    static func firstZero(_ tsdb: SimulatedTSDB, retention: Int, until: Double) async -> Double? {
        let prometheus = SimulatedPrometheus(tsdb: tsdb)
        let collector = SignalCollector(
            client: PrometheusClient(transport: prometheus, retry: RetryPolicy(attempts: 1)),
            queries: QueryBuilder(templates: SimulationQueries.templates, scrapeInterval: ConfigDuration(seconds: 1), tickInterval: ConfigDuration(seconds: 1)))
        let engine = Engine(options: EngineOptions(), logger: Simulation.logger)
        let at = { (t: Double) in Instant(seconds: SimulatedPrometheus.epoch + t) }
        await engine.loadConfig([RawEntry(
            key: "m", text: "model_id: \(model)\nnamespace: \(namespace)\nenable_scale_to_zero: true\nretention_period: \(retention)s\nwake_path: api\n",
            location: EntryLocation(file: "m"))], now: at(0))
        await engine.recover(.success([:]), now: at(0))
        var t = 1.0
        while t <= until {
            prometheus.beginTick(at: t, faults: [])
            let (fleet, outcomes) = await collector.collect(retentions: await engine.retentionsInUse, now: at(t))
            _ = prometheus.endTick()
            await engine.tick(fleet, outcomes: outcomes, duration: 0, now: at(t))
            if await engine.decision(for: key)?.desired == 0 { return t }
            t += 1
        }
        return nil
    }

    /// `resets()` cannot see a reset from 0 to 0. Two replicas; p1 serves its last request just
    /// before 55.5. p0's counter reads 0 (it has served nothing since it started, e.g. a replica
    /// added by a scale-up); it serves its first request between its scrapes at 60.5 and 61.5
    /// (arrival 60.6, completion 61.0, never seen running), then its container restarts (61.2)
    /// and reports 0 again from 71.5. The lost request is in no series, and the restart is no
    /// decrease, so `rr_window_resets` stays silent; the restart itself is plain in the TSDB (p0's
    /// scrapes fail from 61.5 to 70.5). R = 20 s: the model must not reach 0 before 81; it does
    /// at about 77, R after p1's last visible request. (The simulation erases exactly this
    /// completion from its checker's history, `Fleet.restartContainer`.)
    @Test func breakAContainerRestartWhoseCounterReadZeroBeforeAndAfterKeepsTheWindowFromBeingEvidence() async {
        var tsdb = SimulatedTSDB()
        Self.vllmPod(&tsdb, "p0", until: 130, failed: 61.5..<71) { _ in 0 }
        Self.vllmPod(&tsdb, "p1", until: 130) { 5 + min($0, 55).rounded(.down) }
        let zero = await Self.firstZero(tsdb, retention: 20, until: 120)
        withKnownIssue("a request served after a counter's last scrape and erased by a container restart from 0 to 0, the container back within R, is invisible (open: a counter series with a gap inside the window should block the zero; one that ended blocks it while it is absent)") {
            #expect(zero.map { $0 >= 81 } ?? true, "zero at \(zero.map { String($0) } ?? "never"); the last request completed at 61.0, R = 20 s")
        }
    }

    /// A replica replaced rather than restarted: p0 (3 requests served) is removed by a
    /// scale-down; it finished a request that arrived after its last scrape (60.5) and exited
    /// before the next (61.5, staleness). The counter never resets, so `resets()` says nothing;
    /// the series' end inside the window is what the TSDB shows (`rr_window_ended`). R = 20 s: the
    /// model must not reach 0 before 81.
    @Test func breakAReplicaRemovedAfterServingAnUnscrapedRequestKeepsTheWindowFromBeingEvidence() async {
        var tsdb = SimulatedTSDB()
        Self.vllmPod(&tsdb, "p0", until: 60.5) { _ in 3 }
        tsdb.scrapeFailed(target: "p0", at: 61.5)  // the target went away
        Self.vllmPod(&tsdb, "p1", until: 130) { 5 + min($0, 55).rounded(.down) }
        let zero = await Self.firstZero(tsdb, retention: 20, until: 120)
        #expect(zero.map { $0 >= 81 } ?? true, "zero at \(zero.map { String($0) } ?? "never"); the last request completed at 61.0, R = 20 s")
    }

    /// The same restart with a counter that did decrease (2 before it, 0 after), but the container
    /// takes 40 s to load the model again (a GPU cold start): no sample after the reset exists
    /// before the zero, so `resets()` has nothing to compare, while the TSDB shows the container
    /// down (p0's scrapes fail from 61.5): its series ended inside the window (`rr_window_ended`)
    /// until it reports again. The request it served after its last scrape is lost; the model
    /// must not reach 0 before 81. (The simulation erases this completion too.)
    @Test func breakAContainerStillLoadingAfterARestartKeepsTheWindowFromBeingEvidence() async {
        var tsdb = SimulatedTSDB()
        Self.vllmPod(&tsdb, "p0", until: 130, failed: 61.5..<101) { $0 < 61 ? 2 : 0 }
        Self.vllmPod(&tsdb, "p1", until: 130) { 5 + min($0, 55).rounded(.down) }
        let zero = await Self.firstZero(tsdb, retention: 20, until: 120)
        #expect(zero.map { $0 >= 81 } ?? true, "zero at \(zero.map { String($0) } ?? "never"); the last request completed at 61.0, R = 20 s")
    }

    /// Control (passes on the reviewed code): the same restart, but p0's counter read 2 before it,
    /// so the reset is a decrease (`resets()` sees it) and the model is held.
    @Test func controlAContainerRestartFromTwoToZeroKeepsTheWindowFromBeingEvidence() async {
        var tsdb = SimulatedTSDB()
        Self.vllmPod(&tsdb, "p0", until: 130, failed: 61.5..<71) { $0 < 61 ? 2 : 0 }
        Self.vllmPod(&tsdb, "p1", until: 130) { 5 + min($0, 55).rounded(.down) }
        let zero = await Self.firstZero(tsdb, retention: 20, until: 120)
        #expect(zero.map { $0 >= 81 } ?? true, "zero at \(zero.map { String($0) } ?? "never")")
    }

    // MARK: - Rolling update: the drain and recovery

    /// A Deployment's default rolling update (maxSurge 1, maxUnavailable 0 for one replica) starts
    /// the new pod, which recovers from Prometheus and becomes ready, before the old pod gets its
    /// SIGTERM. A wake call the old pod accepts in between (the Service routes to both) is drained
    /// into Prometheus (`ExportDrain`: a scrape read it), but the new pod recovered before it and
    /// never reads it again: once the old pod's series go stale, the consumers' `max` is the new
    /// pod's 0, and the replica still cold-starting is scaled away (spec §5: after a wake the
    /// model stays up for at least its retention; §2: a restart loses nothing).
    @Test func breakAWakeTheOldPodAcceptsDuringARollingUpdateSurvivesIt() async {
        let prometheus = SimulatedPrometheus(tsdb: SimulatedTSDB())
        let at = { (t: Double) in Instant(seconds: SimulatedPrometheus.epoch + t) }
        let config = [RawEntry(
            key: "m", text: "model_id: \(Self.model)\nnamespace: \(Self.namespace)\nenable_scale_to_zero: true\nretention_period: 60s\nwake_path: api\n",
            location: EntryLocation(file: "m"))]
        func collector() -> SignalCollector {
            SignalCollector(
                client: PrometheusClient(transport: prometheus, retry: RetryPolicy(attempts: 1)),
                queries: QueryBuilder(templates: SimulationQueries.templates, scrapeInterval: ConfigDuration(seconds: 1), tickInterval: ConfigDuration(seconds: 1)))
        }
        func engine() async -> Engine {
            let engine = Engine(options: EngineOptions(), logger: Simulation.logger)
            await engine.loadConfig(config, now: at(0))
            return engine
        }
        func tick(_ engine: Engine, _ collector: SignalCollector, at t: Double) async {
            prometheus.beginTick(at: t, faults: [])
            await engine.recoverIfDue(from: collector, window: ConfigDuration(seconds: 3600), now: at(t), learned: false)
            let (fleet, outcomes) = await collector.collect(retentions: await engine.retentionsInUse, now: at(t))
            _ = prometheus.endTick()
            await engine.tick(fleet, outcomes: outcomes, duration: 0, now: at(t))
        }
        func scrape(_ engine: Engine, as target: String, at t: Double) async {
            let text = await engine.renderMetricsForScrape().text
            // Every family the page exports (a successor may read any of them).
            let families = Set(text.split(separator: "\n").compactMap { line -> String? in
                guard !line.hasPrefix("#"), let end = line.firstIndex(where: { $0 == "{" || $0 == " " }) else { return nil }
                return String(line[..<end])
            })
            let samples = families.sorted().flatMap { metric -> [SimulatedTSDB.Scraped] in
                let labelled = OutputParser.lines(of: metric, in: text).map { SimulatedTSDB.Scraped(metric, $0.labels.merging(["pod": target]) { $1 }, $0.value) }
                if !labelled.isEmpty { return labelled }
                return OutputParser.value(of: metric, in: text).map { [SimulatedTSDB.Scraped(metric, ["pod": target], $0)] } ?? []
            }
            prometheus.state.withLock { $0.tsdb.scrape(target: target, at: t, samples) }
        }

        // The old pod has the model at zero (its replicas gone long ago) and is scraped.
        let old = await engine(), oldCollector = collector()
        await old.recover(.success([Self.key: 0]), now: at(1))
        for t in stride(from: 2.0, through: 10, by: 1) {
            await tick(old, oldCollector, at: t)
            await scrape(old, as: "recommender-old", at: t + 0.5)
        }
        #expect(await old.decision(for: Self.key)?.desired == 0)

        // The new pod starts, recovers (0) and decides.
        let new = await engine(), newCollector = collector()
        await tick(new, newCollector, at: 11)
        #expect(await new.recovered)
        await scrape(new, as: "recommender-new", at: 11.5)

        // A wake call reaches the old pod; a scrape reads it (the drain's condition), then the old
        // pod exits and its target goes away.
        _ = await old.wake(Self.key, now: at(12.2))
        #expect((await old.decision(for: Self.key)?.desired ?? 0) >= 1)
        await scrape(old, as: "recommender-old", at: 12.5)
        #expect(await old.lastChangeScraped)
        prometheus.state.withLock { $0.tsdb.scrapeFailed(target: "recommender-old", at: 13.5) }

        // The new pod goes on alone while the woken replica cold-starts (no vLLM series yet).
        var desired: [Double: Int] = [:]
        for t in stride(from: 12.0, through: 40, by: 1) {
            await tick(new, newCollector, at: t)
            await scrape(new, as: "recommender-new", at: t + 0.5)
            desired[t] = await new.decision(for: Self.key)?.desired
        }
        withKnownIssue("a wake the old pod accepts after the new pod recovered is lost with the old pod's series (open: export the last wake and read it back every tick)") {
            #expect(desired.filter { $0.key >= 14 }.values.allSatisfy { $0 >= 1 }, "new pod: \(desired.sorted { $0.key < $1.key })")
        }
    }
}

/// Answers 503 to the queries containing `matching` while the simulated Prometheus' tick is
/// before `until`; every other query is answered by `inner`.
struct FailingQueries: PrometheusTransport {
    let inner: SimulatedPrometheus
    let matching: String
    let until: Double

    func post(path: String, form: [(String, String)]) async throws(TransportError) -> HTTPResponse {
        let now = inner.state.withLock { $0.tickStart }
        if now < until, form.contains(where: { $0.0 == "query" && $0.1.contains(matching) }) {
            return HTTPResponse(status: 503, body: Array("Service Unavailable\n".utf8))
        }
        return try await inner.post(path: path, form: form)
    }
}
