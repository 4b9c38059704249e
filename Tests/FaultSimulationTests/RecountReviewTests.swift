import ModelConfig
import PrometheusClient
import Recommendation
@testable import RecommenderService
import Synchronization
import Testing
@testable import FaultSimulation

/// Review of the young-window uncounted-request rule and the first answer's read of the error
/// counters as they were (commit f3c6850), through the real client, collector and engine against
/// the simulated TSDB. Each failed before its fix, but the endpoint picker's restart (a known limit).
@Suite struct RecountReviewTests {
    static let model = "org/m"
    static let namespace = "ns"
    static let key = ModelKey(namespace: namespace, modelID: model)
    static let base = 1000.0

    /// The young-window rule, good data, production intervals (scrape 30 s, tick 15 s, R 300 s; the gateway window
    /// is 90 s). A replica just woken (recommended 1, cold-starting) becomes ready; the first
    /// request it gets arrives at B and completes at B+1.4, before the replica's first scrape
    /// (B+1.5), which therefore already counts it (`increase` never counts a first value:
    /// `requests` stays 0). The gateway counted it between its scrapes at B−0.1 and B+29.9, so its
    /// 90 s window shows it at every tick up to B+89.8. Spec §5.3: zero at t + R plus at most one
    /// tick and one scrape (B+346.4); R of observation from the first tick with the counter known
    /// (B+44.8) allows B+344.8. A rule that re-stamps `uncountedArrival` at every tick a young
    /// window's gateway count still shows the request counts the retention from B+89.8 (zero at
    /// B+389.8); it applies at the tick that first sees the replica only.
    @Test func aFirstRequestTheNewReplicasFirstSampleCountedDoesNotDelayTheZeroByTheGatewayWindow() async {
        let b = Self.base
        var tsdb = SimulatedTSDB()
        // Gateway: one target for org/m, counter 5 → 6 (the request, completed at B+1.4).
        var g = b - 600.1
        while g <= b + 500 {
            tsdb.scrape(target: "gw-0", at: g, [.init(
                "inference_objective_request_total",
                ["target_model_name": Self.model, "model_name": Self.model, "namespace": Self.namespace, "job": "gw"],
                g >= b + 1.4 ? 6 : 5)])
            g += 30
        }
        // The new replica: first scrape at B+1.5, its counter already 1.
        var v = b + 1.5
        while v <= b + 500 {
            let labels = ["namespace": Self.namespace, "model_name": Self.model, "pod": "p0", "job": "vllm"]
            tsdb.scrape(target: "p0", at: v, [
                .init(Fleet.requestsMetric, labels, 1), .init(Fleet.runningMetric, labels, 0),
                .init(Fleet.waitingMetric, labels, 0), .init(Fleet.kvMetric, labels, 0),
            ])
            v += 30
        }
        let prometheus = SimulatedPrometheus(tsdb: tsdb)
        let collector = SignalCollector(
            client: PrometheusClient(transport: prometheus, retry: RetryPolicy(attempts: 1)),
            queries: QueryBuilder(templates: SimulationQueries.templates, scrapeInterval: ConfigDuration(seconds: 30), tickInterval: ConfigDuration(seconds: 15)))
        let engine = Engine(options: EngineOptions(), logger: Simulation.logger)
        let at = { (t: Double) in Instant(seconds: SimulatedPrometheus.epoch + t) }
        let start = b - 300.2
        await engine.loadConfig([RawEntry(
            key: "m", text: "model_id: \(Self.model)\nnamespace: \(Self.namespace)\nenable_scale_to_zero: true\nretention_period: 300s\n",
            location: EntryLocation(file: "m"))], now: at(start))
        await engine.recover(.success([Self.key: 1]), now: at(start))
        var t = start
        var zero: Double?
        var trace: [String] = []
        while t <= b + 480 {
            prometheus.beginTick(at: t, faults: [])
            let (fleet, outcomes) = await collector.collect(retentions: await engine.retentionsInUse, now: at(t))
            _ = prometheus.endTick()
            await engine.tick(fleet, outcomes: outcomes, duration: 0, now: at(t))
            let decision = await engine.decision(for: Self.key)
            if t >= b - 1 { trace.append("B+\(Simulation.format(t - b)): \(decision.map { "\($0.desired) \($0.detail)" } ?? "-")") }
            if decision?.desired == 0 { zero = t; break }
            t += 15
        }
        let deadline = b + 1.4 + 300 + 15 + 30
        #expect(zero.map { $0 <= deadline } ?? false, "zero at B+\(zero.map { Simulation.format($0 - b) } ?? "never"), deadline B+\(Simulation.format(deadline - b))\n\(trace.joined(separator: "\n"))")
    }

    // MARK: - Fix 2: the error counters "as they were"

    static let chat = GatewayKey(namespace: nil, name: "org/chat")


    /// Spec §6 ("a restart does not wake every sleeping model"). The gateway rejected one request
    /// for `org/chat` (at zero) at 5 s, long ago: its error counter holds 3 since (the model was
    /// woken then, served, and went back to zero). Nothing happens after. The recommender restarts
    /// while its queries are answered by the other replica of an HA pair whose data begins at 50 s
    /// (it restarted with empty storage; the recommender's own series are whole, as in the
    /// simulation's `failover`). The read of the error counters "as they were" at the recovered
    /// 45 s (or, with nothing recovered, R − 3 scrapes back) finds no series at all, so every
    /// error counter present now looks born since: its lifetime value is counted as fresh demand
    /// and every sleeping model that ever had a rejection is woken. Without the failover the same
    /// data counts nothing (as `aNewProcessCountsAnErrorCounterBornAfterTheLastOneLastReadTheGateway`
    /// asserts for `born: 5`).
    @Test(arguments: [45.0, nil] as [Double?])
    func aRestartAnsweredByAYoungReplicaDoesNotCountOldErrorCountersAsNewDemand(recovered: Double?) async {
        let tsdb = QueueReadBackTests.rejections(born: 5)
        let healthy = await QueueReadBackTests.counted(tsdb, recovered: recovered, ticks: [120, 122])
        #expect(healthy[120] == 0, "control: \(healthy.sorted { $0.key < $1.key })")
        let failover = [SimulatedPrometheus.FaultSpan(kind: .failover(dataSince: 70), start: 0, end: 1000)]
        let seen = await QueueReadBackTests.counted(tsdb, recovered: recovered, ticks: [120, 122], faults: failover)
        #expect(seen[120] == 0, "a rejection 115 s old (read by the last process) counted as new demand: \(seen.sorted { $0.key < $1.key })")
    }

    /// The endpoint picker restarts (a rolling update, a crash): its counters start afresh under
    /// the new pod's labels, and none exists for a model until a request for it completes or is
    /// rejected. `org/chat` is at zero; the old pod had counted 7 requests and 2 rejections for it
    /// (up to 40 s, when it went away); the new pod (from 41 s) rejects a request for it at 60 s —
    /// its error counter for `org/chat` is created with value 1, and `increase` never counts a
    /// series' first value. The rejection is nowhere else (no request counter exists on the new
    /// pod). Both the restarted process's first answer (the last process read up to 45 s) and a
    /// process running throughout compare error counters per target, not per series: the target
    /// had an error counter before (the old pod's), so the new one is never "born", and the
    /// rejection is counted by nobody — stranded until the client's retry.
    @Test(arguments: [true, false])
    func anErrorCounterOfANewEndpointPickerPodIsCounted(restarted: Bool) async {
        var tsdb = SimulatedTSDB()
        var t = 0.5
        while t <= 130 {
            if t < 41 {
                tsdb.scrape(target: "gw-old", at: t, [
                    .init("inference_objective_request_total", ["target_model_name": "org/chat", "job": "gw", "pod": "gw-old"], 7),
                    .init("inference_objective_request_error_total", ["target_model_name": "org/chat", "job": "gw", "pod": "gw-old", "error_code": "ServiceUnavailable"], 2),
                ])
            } else {
                if t < 42 { tsdb.scrapeFailed(target: "gw-old", at: t) }
                // Another model's counter keeps the new pod's scrape non-empty.
                var samples: [SimulatedTSDB.Scraped] = [.init("inference_objective_request_total", ["target_model_name": "org/other", "job": "gw", "pod": "gw-new"], 1)]
                if t >= 60 {
                    samples.append(.init("inference_objective_request_error_total", ["target_model_name": "org/chat", "job": "gw", "pod": "gw-new", "error_code": "ServiceUnavailable"], 1))
                }
                tsdb.scrape(target: "gw-new", at: t, samples)
            }
            t += 1
        }
        let ticks = restarted ? [70.0, 72, 74] : Array(stride(from: 10.0, through: 80, by: 2))
        let seen = await QueueReadBackTests.counted(tsdb, recovered: restarted ? 45 : nil, ticks: ticks)
        // Known limit: error counters are compared per target (`sum by` target), not per series;
        // telling the new pod's counter from the old one's needs the pod in the presence series.
        withKnownIssue("an endpoint picker pod's new error counter for a target the old pod counted is not born") {
            #expect(seen.filter { $0.key >= 60 }.values.contains { $0 > 0 }, "the rejection at 60 s counted by nobody: \(seen.sorted { $0.key < $1.key })")
        }
    }

    /// Real Prometheus evaluates an instant query without `time` when it receives it (the
    /// simulation evaluates every query of a tick at the tick's start). The first answer's read of
    /// the error counters "as they were" is sent after the plain gateway query and the wide read
    /// back, but its `offset` is `now − L` computed at the tick's start: it reads the counters as
    /// they were at L + (the latency of the queries before it), not at L. (Its offset adds the
    /// wall time since the tick began.)
    final class ArrivalTime: PrometheusTransport {
        let inner: SimulatedPrometheus
        let tick: Mutex<Double> = Mutex(0)
        let latency: Double
        init(_ inner: SimulatedPrometheus, latency: Double) {
            self.inner = inner
            self.latency = latency
        }
        func post(path: String, form: [(String, String)]) async throws(TransportError) -> HTTPResponse {
            let query = form.first { $0.0 == "query" }?.1 ?? ""
            let t = tick.withLock { $0 }
            // Each gateway read takes `latency` of wall time; the read "as it was" arrives after
            // two sequential ones (the tick's own and the read back).
            if query.contains("inference_objective_request"), !query.contains(" offset "), latency > 0 {
                try? await Task.sleep(for: .milliseconds(Int(latency * 1000)))
            }
            inner.beginTick(at: query.contains(" offset ") ? t + 2 * latency : t, faults: [])
            defer { inner.beginTick(at: t, faults: []) }
            return try await inner.post(path: path, form: form)
        }
    }

    /// The last process's last gateway answer was at 45 s (its query evaluated then); it crashed
    /// before the next. A rejection for `org/chat` (at zero, no flow control) created its error
    /// counter, first scraped at 46.5 s — after that last read. The new process's first answer at
    /// 70 s: with queries answered at once the counter is counted (as the commit's test shows);
    /// with 1 s per query (a one-hour read back over a busy Prometheus after a restart, or one
    /// retry) the read "as it was" is evaluated at 47 s, the counter is there "then", and the
    /// rejection is counted by nobody.
    @Test(arguments: [0.0, 1.0])
    func theReadAsItWasIsPinnedToTheLastReadNotToWhenItArrives(latency: Double) async {
        let tsdb = QueueReadBackTests.rejections(born: 46.5)
        let prometheus = SimulatedPrometheus(tsdb: tsdb)
        let transport = ArrivalTime(prometheus, latency: latency)
        let collector = SignalCollector(
            client: PrometheusClient(transport: transport, retry: RetryPolicy(attempts: 1)),
            queries: QueryBuilder(templates: SimulationQueries.templates, scrapeInterval: ConfigDuration(seconds: 1), tickInterval: ConfigDuration(seconds: 2)))
        collector.gatewayAnsweredRecovered(GatewayReadUpTo(counters: SimulatedPrometheus.epoch + 45, queue: SimulatedPrometheus.epoch + 45))
        var seen: [Double: Double] = [:]
        for t in [70.0, 72, 74] {
            transport.tick.withLock { $0 = t }
            prometheus.beginTick(at: t, faults: [])
            let fleet = await collector.collect(retentions: [ConfigDuration(seconds: 60)], now: Instant(seconds: SimulatedPrometheus.epoch + t)).0
            _ = prometheus.endTick()
            if let value = try? fleet.gatewayRequests.get()[Self.chat] { seen[t] = value }
        }
        #expect(seen[70] == 3, "latency \(latency) s per query: \(seen.sorted { $0.key < $1.key })")
    }

    /// The read "as it was" failing keeps every later answer a "first answer" (nothing is
    /// recorded): while it fails, the steady-state rule for a new error counter
    /// (`bornErrors`, which needs an answer recorded) is off too. A process running since 10 s,
    /// whose `offset` read fails at every tick (a store holding the older data down, a replaced
    /// template that does not parse): a rejection at 60 s creates `org/chat`'s error counter (3);
    /// the same process with the read answering counts it at once. (Another model's error counter
    /// exists from the start: the read is only sent when some error counter exists.)
    @Test(arguments: [false, true])
    func aFailingReadAsItWasDoesNotSwitchOffTheNewErrorCounterRule(failing: Bool) async {
        // `org/chat` as in `rejections(born: 60)`; another model has had an error counter all along.
        var tsdb = SimulatedTSDB()
        var t = 0.5
        while t <= 130 {
            var samples: [SimulatedTSDB.Scraped] = [
                .init("inference_objective_request_total", ["target_model_name": "org/chat", "job": "gw"], 7),
                .init("inference_objective_request_error_total", ["target_model_name": "org/other", "job": "gw", "error_code": "ServiceUnavailable"], 1),
            ]
            if t >= 60 {
                samples.append(.init("inference_objective_request_error_total", ["target_model_name": "org/chat", "job": "gw", "error_code": "ServiceUnavailable"], 3))
            }
            tsdb.scrape(target: "gw-0", at: t, samples)
            t += 1
        }
        let prometheus = SimulatedPrometheus(tsdb: tsdb)
        let flaky = QueueReadBackTests.Flaky(prometheus)
        if failing {
            let fail: @Sendable (String) -> Bool = { query in query.contains(" offset ") }
            flaky.failing.withLock { $0 = fail }
        }
        let collector = SignalCollector(
            client: PrometheusClient(transport: flaky, retry: RetryPolicy(attempts: 1)),
            queries: QueryBuilder(templates: SimulationQueries.templates, scrapeInterval: ConfigDuration(seconds: 1), tickInterval: ConfigDuration(seconds: 2)))
        var seen: [Double: Double] = [:]
        for t in stride(from: 10.0, through: 80, by: 2) {
            prometheus.beginTick(at: t, faults: [])
            let fleet = await collector.collect(retentions: [ConfigDuration(seconds: 60)], now: Instant(seconds: SimulatedPrometheus.epoch + t)).0
            _ = prometheus.endTick()
            if let value = try? fleet.gatewayRequests.get()[Self.chat] { seen[t] = value }
        }
        #expect(seen.filter { $0.key >= 60 }.values.contains { $0 > 0 }, "offset read failing: \(failing); \(seen.sorted { $0.key < $1.key }.filter { $0.key >= 56 })")
    }
}

