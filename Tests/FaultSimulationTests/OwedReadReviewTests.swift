import Foundation
import ModelConfig
import PrometheusClient
import Recommendation
@testable import RecommenderService
import Synchronization
import Testing
@testable import FaultSimulation

/// Second review of commit 2944e2c (the owed read of the error counters "as they were"), through
/// the real client, collector and engine against the simulated TSDB, with a small closed-loop
/// world (autoscaler, one pod, one client without flow control). Scrape 1 s, tick 2 s, R 20 s.
@Suite struct OwedReadReviewTests {
    /// A restarted process (the last one read the gateway up to 45 s) answers first at 50 s; its
    /// read of the error counters "as they were" fails at every tick before `offsetFailsUntil`
    /// (a store holding the older data down; Thanos with `partial_response=false`), every other
    /// query answers. `org/m` is at zero; one request at 79 s is rejected (no pod, no flow
    /// control: the endpoint picker creates its error counter, 1) — the steady-state rule
    /// (`bornErrors`) counts it and wakes the model; the client's retry at 94 s is served
    /// (completes 95 s); the model goes to zero R after it. Nothing else ever arrives.
    /// Returns the recommendation at each tick.
    static func run(offsetFailsUntil: Double, until: Double = 170) async -> [(Double, Int?, String)] {
        var flaky: QueueReadBackTests.Flaky!
        let loop = await ClosedLoop(recovered: 45) { prometheus in
            flaky = QueueReadBackTests.Flaky(prometheus)
            return flaky
        }
        // The world.
        var podReadyAt: Double?
        var podExists = false
        var counter = 0.0
        var running: [Double] = []  // completion times
        var gatewayCount = 5.0
        var gatewayErrors: Double?
        var retryAt: Double?

        var t = 0.0
        while t <= until {
            // Completions.
            for done in running where done <= t { counter += 1 }
            running.removeAll { $0 <= t }
            // The client: one request at 79 s, retried 15 s after a rejection.
            for arrival in [79.0, retryAt].compactMap({ $0 }) where arrival == t {
                if let ready = podReadyAt, ready <= t {
                    running.append(t + 1)
                    gatewayCount += 1
                    if retryAt == t { retryAt = nil }
                } else {
                    gatewayErrors = (gatewayErrors ?? 0) + 1
                    retryAt = t + 15
                }
            }
            // Scrapes: the pod at .25, the gateway at .5 (another model's error counter exists all along).
            let frac = t - t.rounded(.down)
            if frac == 0.25 {
                if let ready = podReadyAt, ready <= t {
                    loop.scrapePod(at: t, counter: counter, running: running.count)
                } else if !podExists {
                    loop.scrapePod(at: t, counter: nil, running: 0)
                }
            }
            if frac == 0.5 {
                var samples: [SimulatedTSDB.Scraped] = [
                    .init(Fleet.gatewayCounterMetric, ClosedLoop.gatewayLabels, gatewayCount),
                    .init(Fleet.gatewayErrorMetric, ["target_model_name": "org/other", "job": "gw", "error_code": "ServiceUnavailable"], 2),
                ]
                if let errors = gatewayErrors {
                    samples.append(.init(Fleet.gatewayErrorMetric, ClosedLoop.gatewayLabels.merging(["error_code": "ServiceUnavailable"]) { $1 }, errors))
                }
                loop.scrapeGateway(at: t, samples)
            }
            // The recommender's tick, then the autoscaler applies the recommendation.
            if t >= 50, frac == 0, Int(t) % 2 == 0 {
                let failing: (@Sendable (String) -> Bool)? = t < offsetFailsUntil ? { @Sendable q in q.contains(" offset ") } : nil
                flaky.failing.withLock { $0 = failing }
                switch await loop.tick(at: t) {
                case let d? where d >= 1:
                    if !podExists { podExists = true; podReadyAt = t + 3 }
                case 0?:
                    if podExists { podExists = false; podReadyAt = nil; loop.scrapePod(at: t, counter: nil, running: 0) }
                default: break
                }
            }
            t += 0.25
        }
        return loop.trace
    }

    /// The owed read counts every error counter present now and absent where the last process
    /// stopped — also one the steady-state rule already counted since the first answer (born
    /// after it). When the owed read finally answers, long after, that rejection is demand again:
    /// a model that served the retry and went to zero R after it is woken with no request at all
    /// (a spurious wake, up for R: liveness), and so is every model whose first rejection fell in
    /// the stretch the read stayed owed. With the read failing only at the first answer (52: owed,
    /// answered before the rejection) nothing of the kind.
    @Test(arguments: [52.0, 150.0])
    func anOwedReadThatAnswersLateCountsARejectionAlreadyCountedAndWakesASleepingModel(offsetFailsUntil: Double) async {
        let trace = await Self.run(offsetFailsUntil: offsetFailsUntil)
        let lines = trace.map { "t=\(Simulation.format($0.0)) desired \($0.1.map(String.init) ?? "-") \($0.2)" }.joined(separator: "\n")
        guard let zero = trace.first(where: { $0.0 > 95 && $0.1 == 0 })?.0 else {
            Issue.record("never went to zero after the retry (else this proves nothing)\n\(lines)")
            return
        }
        let woken = trace.first { $0.0 > zero && ($0.1 ?? 0) >= 1 }
        #expect(woken == nil, "woken at t=\(woken.map { Simulation.format($0.0) } ?? "") with no request since 95 s (zero at \(Simulation.format(zero)))\n\(lines)")
    }
    /// The debt is not exported. The read-up-to the process exports for the next one
    /// (`recommender_gateway_last_answered_timestamp_seconds{signal="gateway_requests"}`) moves to
    /// the first answer although its read "as they were" failed and is owed — unlike the queue's,
    /// whose export stays at an owed read's start (`demandOwed ?? demandLast`). The last process
    /// read the gateway up to 45 s; a request for `org/chat` (at zero) was rejected at 60 s,
    /// creating its error counter (3). Process 2 answers first at 70 s, its read as they were
    /// fails (owed), and it exports 70 s; it stops before a later answer (a crash loop, a second
    /// rollout). Process 3 recovers 70 s and reads the counters as they were at 69 s: the counter
    /// was there, the rejection is counted by nobody — stranded until the client's retry. (Had
    /// process 3 recovered nothing at all, its R − 3 scrapes read back would have counted it;
    /// had process 2 lived one more tick, its owed read would have: the existing tests.)
    @Test func aCrashWhileTheReadAsTheyWereIsOwedLosesTheDebt() async {
        let chat = GatewayKey(namespace: nil, name: "org/chat")
        let tsdb = QueueReadBackTests.rejections(born: 60)
        func collector(_ prometheus: SimulatedPrometheus, failOffset: Bool, recovered: Double) -> SignalCollector {
            let flaky = QueueReadBackTests.Flaky(prometheus)
            if failOffset { flaky.failing.withLock { $0 = { @Sendable q in q.contains(" offset ") } } }
            let c = SignalCollector(
                client: PrometheusClient(transport: flaky, retry: RetryPolicy(attempts: 1)),
                queries: QueryBuilder(templates: SimulationQueries.templates, scrapeInterval: ConfigDuration(seconds: 1), tickInterval: ConfigDuration(seconds: 2)))
            c.gatewayAnsweredRecovered(GatewayReadUpTo(counters: recovered, queue: recovered))
            return c
        }
        // Process 2: one answer at 70 s, the read as they were failing.
        let prometheus2 = SimulatedPrometheus(tsdb: tsdb)
        let process2 = collector(prometheus2, failOffset: true, recovered: SimulatedPrometheus.epoch + 45)
        prometheus2.beginTick(at: 70, faults: [])
        let (fleet2, outcomes2) = await process2.collect(retentions: [ConfigDuration(seconds: 60)], now: Instant(seconds: SimulatedPrometheus.epoch + 70))
        _ = prometheus2.endTick()
        #expect(outcomes2.contains { $0.signal == .gatewayErrorsBefore && $0.error != nil }, "the read as they were failed (else this proves nothing)")
        let exported = fleet2.gatewayReadUpTo.counters ?? .nan
        // Process 3: recovers what process 2 exported, answers from 80 s.
        let prometheus3 = SimulatedPrometheus(tsdb: tsdb)
        let process3 = collector(prometheus3, failOffset: false, recovered: exported)
        var seen: [Double: Double] = [:]
        for t in [80.0, 82, 84, 86] {
            prometheus3.beginTick(at: t, faults: [])
            let fleet = await process3.collect(retentions: [ConfigDuration(seconds: 60)], now: Instant(seconds: SimulatedPrometheus.epoch + t)).0
            _ = prometheus3.endTick()
            if let value = try? fleet.gatewayRequests.get()[chat] { seen[t] = value }
        }
        #expect(seen.values.contains(3), "process 2 exported read-up-to t=\(Simulation.format(exported - SimulatedPrometheus.epoch)) with its read owed; process 3 counted \(seen.sorted { $0.key < $1.key })")
    }
    /// Evaluates each query at the tick's virtual time plus the wall time since the tick began
    /// (Prometheus evaluates a query without `time` when it receives it); the first attempt of
    /// the read "as they were" hangs `hang` seconds and fails retryably (a timeout, a 503 under
    /// load), the client's retry (the service's default policy: 3 attempts, 200 ms backoff) answers.
    final class SlowFirstAttempt: PrometheusTransport {
        let inner: SimulatedPrometheus
        let hang: Double
        let tick: Mutex<(virtual: Double, wall: ContinuousClock.Instant)> = Mutex((0, .now))
        let attempts = Mutex(0)
        init(_ inner: SimulatedPrometheus, hang: Double) {
            self.inner = inner
            self.hang = hang
        }
        func post(path: String, form: [(String, String)]) async throws(TransportError) -> HTTPResponse {
            let query = form.first { $0.0 == "query" }?.1 ?? ""
            if query.contains(" offset "), attempts.withLock({ $0 += 1; return $0 }) == 1, hang > 0 {
                try? await Task.sleep(for: .milliseconds(Int(hang * 1000)))
                return HTTPResponse(status: 503, body: Array("Service Unavailable\n".utf8))
            }
            let (virtual, wall) = tick.withLock { $0 }
            let elapsed = wall.duration(to: .now).components
            inner.beginTick(at: virtual + Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18, faults: [])
            return try await inner.post(path: path, form: form)
        }
    }

    /// The offset adds the wall time until the read is sent, not the time its retries take: a
    /// first attempt that fails after `hang` seconds and a retry that answers read the counters
    /// as they were `hang` + the backoff later than the moment meant. The last process read the
    /// gateway up to 45 s; a rejection created `org/chat`'s error counter, first sampled at 45.5 s
    /// (after that read, so that process never saw it). The new process's first answer at 70 s
    /// reads "as they were" at 44 s (a scrape's margin) — with a 2 s first attempt, at 46.2 s:
    /// the counter is there, the rejection is counted by nobody. (Production: a 10 s client
    /// timeout, then a retry, against a margin of one scrape interval: a scrape under 10 s.)
    @Test(arguments: [0.0, 2.0])
    func aRetriedReadAsTheyWereReadsLaterThanMeant(hang: Double) async {
        let chat = GatewayKey(namespace: nil, name: "org/chat")
        let prometheus = SimulatedPrometheus(tsdb: QueueReadBackTests.rejections(born: 45.5))
        let transport = SlowFirstAttempt(prometheus, hang: hang)
        let collector = SignalCollector(
            client: PrometheusClient(transport: transport),  // the service's retry policy
            queries: QueryBuilder(templates: SimulationQueries.templates, scrapeInterval: ConfigDuration(seconds: 1), tickInterval: ConfigDuration(seconds: 2)))
        collector.gatewayAnsweredRecovered(GatewayReadUpTo(counters: SimulatedPrometheus.epoch + 45, queue: SimulatedPrometheus.epoch + 45))
        var seen: [Double: Double] = [:]
        for t in [70.0, 72, 74] {
            transport.tick.withLock { $0 = (t, .now) }
            let fleet = await collector.collect(retentions: [ConfigDuration(seconds: 60)], now: Instant(seconds: SimulatedPrometheus.epoch + t)).0
            if let value = try? fleet.gatewayRequests.get()[chat] { seen[t] = value }
        }
        #expect(seen.values.contains(3), "first attempt \(hang) s: \(seen.sorted { $0.key < $1.key })")
    }
    /// The per-target comparison (the known limit for a replaced endpoint picker pod) without any
    /// restart: error counters are series per `error_code`. A model whose sheddable requests were
    /// once shed under saturation (`InferencePoolResourceExhausted`, 2) later sleeps at zero; a
    /// request is rejected for want of a pod (`ServiceUnavailable`): a new series, first value 1.
    /// `increase` never counts it, and the target already had an error counter, so neither the
    /// steady-state rule nor the first answer's read "as they were" does: stranded until the
    /// client's retry. One process, one endpoint picker, good data.
    @Test func aNewErrorCodeSeriesOfATargetWithAnotherCodeIsNotCounted() async {
        var tsdb = SimulatedTSDB()
        var t = 0.5
        while t <= 90 {
            var samples: [SimulatedTSDB.Scraped] = [
                .init("inference_objective_request_total", ["target_model_name": "org/chat", "job": "gw"], 7),
                .init("inference_objective_request_error_total", ["target_model_name": "org/chat", "job": "gw", "error_code": "InferencePoolResourceExhausted"], 2),
            ]
            if t >= 60 {
                samples.append(.init("inference_objective_request_error_total", ["target_model_name": "org/chat", "job": "gw", "error_code": "ServiceUnavailable"], 1))
            }
            tsdb.scrape(target: "gw-0", at: t, samples)
            t += 1
        }
        let seen = await QueueReadBackTests.counted(tsdb)
        // Known limit, as for a replaced endpoint picker pod: counters are compared per target.
        withKnownIssue("a new error_code series of a target that had another is not born") {
            #expect(seen.filter { $0.key >= 60 }.values.contains { $0 > 0 }, "\(seen.sorted { $0.key < $1.key })")
        }
    }
}
