import Foundation
import ModelConfig
import PrometheusClient
import Recommendation
import RecommenderService
import Synchronization
import Testing
@testable import FaultSimulation

/// The queue's read back over stretches nobody read it (review of the restart read back): through
/// the real client and collector against the simulated TSDB, scrapes every second, ticks every 2 s.
/// With flow control a queued request is in no request counter until it is dispatched (the
/// endpoint picker counts it then), so for a model at zero the queue is its only trace.
@Suite struct QueueReadBackTests {
    static let queue = "llm_d_epp_flow_control_queue_size"
    static let key = GatewayKey(namespace: nil, name: "org/chat")

    /// The gateway's queue for `org/chat`: `value(t)` at each scrape from 0.5 s, failed scrapes
    /// (staleness) from `gapFrom` on.
    static func tsdb(until: Double, gapFrom: Double, value: (Double) -> Double) -> SimulatedTSDB {
        var tsdb = SimulatedTSDB()
        var t = 0.5
        while t <= until {
            if t >= gapFrom {
                tsdb.scrapeFailed(target: "gw-0", at: t)
            } else {
                tsdb.scrape(target: "gw-0", at: t, [.init(queue, ["target_model_name": "org/chat", "job": "gw"], value(t))])
            }
            t += 1
        }
        return tsdb
    }

    /// Fails the queries whose text `failing` accepts at the tick it is given, else answers from
    /// the simulated Prometheus.
    final class Flaky: PrometheusTransport {
        let inner: SimulatedPrometheus
        let failing: Mutex<(@Sendable (String) -> Bool)?> = Mutex(nil)
        init(_ inner: SimulatedPrometheus) { self.inner = inner }
        func post(path: String, form: [(String, String)]) async throws(TransportError) -> HTTPResponse {
            let query = form.first { $0.0 == "query" }?.1 ?? ""
            if let failing = failing.withLock({ $0 }), failing(query) { return HTTPResponse(status: 503, body: Array("Service Unavailable\n".utf8)) }
            return try await inner.post(path: path, form: form)
        }
    }

    /// A collector (scrape 1 s, tick 2 s) on `tsdb` through a ``Flaky`` transport, the last process
    /// having read the gateway up to `recovered` (nil: nothing recovered).
    static func collector(_ tsdb: SimulatedTSDB, recovered: Double?) -> (SimulatedPrometheus, Flaky, SignalCollector) {
        let prometheus = SimulatedPrometheus(tsdb: tsdb)
        let flaky = Flaky(prometheus)
        let collector = SignalCollector(
            client: PrometheusClient(transport: flaky, retry: RetryPolicy(attempts: 1)),
            queries: QueryBuilder(templates: SimulationQueries.templates, scrapeInterval: ConfigDuration(seconds: 1), tickInterval: ConfigDuration(seconds: 2)))
        if let recovered {
            collector.gatewayAnsweredRecovered(GatewayReadUpTo(counters: SimulatedPrometheus.epoch + recovered, queue: SimulatedPrometheus.epoch + recovered))
        }
        return (prometheus, flaky, collector)
    }

    /// Runs ticks at `ticks`; `fail(t)` picks the queries that fail at tick `t`. The demand for
    /// `org/chat` at each tick (nil when unknown or none).
    static func run(_ tsdb: SimulatedTSDB, ticks: [Double], recovered: Double? = nil, fail: (Double) -> (@Sendable (String) -> Bool)?) async -> [Double: Double] {
        let (prometheus, flaky, collector) = Self.collector(tsdb, recovered: recovered)
        var seen: [Double: Double] = [:]
        for t in ticks {
            let failing = fail(t)
            flaky.failing.withLock { $0 = failing }
            prometheus.beginTick(at: t, faults: [])
            let fleet = await collector.collect(retentions: [ConfigDuration(seconds: 60)], now: Instant(seconds: SimulatedPrometheus.epoch + t)).0
            _ = prometheus.endTick()
            if let value = try? fleet.demand.get()[key] { seen[t] = value }
        }
        return seen
    }

    static let every: @Sendable (String) -> Bool = { _ in true }
    static let readBack: @Sendable (String) -> Bool = { $0.contains(queue) && !$0.contains("[3s]") }  // not the tick's own window

    /// Every query fails from 46 to 56 while requests queue at 50–53; the gateway's scrapes fail
    /// from 54 (its queue series stale since). At 58 the answers are back but the queue's read
    /// back over the stretch fails: it is owed, and the next answer reads it.
    @Test func aQueueReadBackThatFailsIsTriedAgainWithTheNextAnswer() async {
        let tsdb = Self.tsdb(until: 90, gapFrom: 54) { (50..<54).contains($0) ? 2 : 0 }
        let ticks = Array(stride(from: 40.0, through: 66, by: 2))
        let seen = await Self.run(tsdb, ticks: ticks) { t in (46...56).contains(t) ? Self.every : t == 58 ? Self.readBack : nil }
        #expect(seen[60] == 2, "\(seen.sorted { $0.key < $1.key })")
        #expect(seen[62] == nil || seen[62] == 0, "read once: \(seen.sorted { $0.key < $1.key })")
    }

    /// Only the queue's own queries fail (a store holding only those series), 48–56, while every
    /// other answer, the request counters' included, comes: the queue's stretch is its own, and
    /// it is read back with its first answer.
    @Test func theQueuesOwnFailedAnswersAreReadBackThoughEveryOtherQuerySucceeded() async {
        let tsdb = Self.tsdb(until: 90, gapFrom: 54) { (50..<54).contains($0) ? 2 : 0 }
        let ticks = Array(stride(from: 40.0, through: 66, by: 2))
        let seen = await Self.run(tsdb, ticks: ticks) { t in (48...56).contains(t) ? { @Sendable q in q.contains(Self.queue) } : nil }
        #expect(seen[58] == 2, "\(seen.sorted { $0.key < $1.key })")
    }

    /// Between two ticks a request queues (one sample, 51) and the gateway's scrapes fail (52 on):
    /// the tick's own query reads the queue's largest value since the last tick, so 52 sees it
    /// though the series went stale before it.
    @Test func aQueueSeenOnlyBetweenTwoTicksIsDemand() async {
        let tsdb = Self.tsdb(until: 90, gapFrom: 51.5) { $0 >= 50.5 ? 1 : 0 }
        let ticks = Array(stride(from: 40.0, through: 60, by: 2))
        let seen = await Self.run(tsdb, ticks: ticks) { _ in nil }
        #expect(seen[52] == 1, "\(seen.sorted { $0.key < $1.key })")
    }

    /// A restarted process whose last one read the gateway up to 45: requests queued at 50–53,
    /// the gateway's scrapes failed from 54, and this process's first answer comes at 120 —
    /// R − 3 scrapes (57 s) back would begin at 63. It reads the queue back from 45, though the
    /// request counters' query fails then (the queue's first answer is its own).
    @Test func aNewProcessReadsTheQueueBackFromWhereTheLastOneStopped() async {
        let tsdb = Self.tsdb(until: 130, gapFrom: 54) { (50..<54).contains($0) ? 2 : 0 }
        let recovered = await Self.run(tsdb, ticks: [120], recovered: 45) { _ in { @Sendable q in q.contains("inference_objective_request_total") } }
        #expect(recovered[120] == 2, "\(recovered)")
        let fresh = await Self.run(tsdb, ticks: [120]) { _ in nil }
        #expect(fresh[120] == nil, "without the recovered value the read misses the queue (else this proves nothing): \(fresh)")
    }


    /// A model known by its request counter (it served before) goes to zero; a client's first
    /// request and its two quick retries are rejected (no flow control) and it gives up. The
    /// endpoint picker creates the error counter with the first rejection, and the series' first
    /// sample already holds 3: `increase` never counts a series' first value, and the next
    /// samples do not move. The error counter is new to the process: its first value counts.
    @Test func aNewErrorCounterOfAKnownTargetCountsItsFirstValue() async {
        let seen = await Self.counted(Self.rejections(born: 60))
        #expect(seen.filter { (60...63).contains($0.key) }.values.contains(3), "\(seen.sorted { $0.key < $1.key })")
        #expect(seen.filter { $0.key < 60 || $0.key > 64 }.values.allSatisfy { $0 == 0 }, "counted once: \(seen.sorted { $0.key < $1.key })")
    }

    /// The gateway's counters for `org/chat` at each scrape from 0.5 s to 130 s: its request
    /// counter at 7 throughout; an error counter (a rejected request: no pod ready, no flow
    /// control) created at `born` holding 3.
    static func rejections(born: Double) -> SimulatedTSDB {
        var tsdb = SimulatedTSDB()
        var t = 0.5
        while t <= 130 {
            var samples: [SimulatedTSDB.Scraped] = [.init("inference_objective_request_total", ["target_model_name": "org/chat", "job": "gw"], 7)]
            if t >= born {
                samples.append(.init("inference_objective_request_error_total", ["target_model_name": "org/chat", "job": "gw", "error_code": "ServiceUnavailable"], 3))
            }
            tsdb.scrape(target: "gw-0", at: t, samples)
            t += 1
        }
        return tsdb
    }

    /// A collector's answers at `ticks` (every 2 s from 40 to 70 unless given), the last process
    /// having read the gateway up to `recovered` (nil: nothing recovered); `faults` on every query,
    /// the queries `fail` picks failing at the first tick. The gateway requests counted for
    /// `org/chat` at each.
    static func counted(
        _ tsdb: SimulatedTSDB, recovered: Double? = nil, ticks: [Double] = Array(stride(from: 40.0, through: 70, by: 2)),
        faults: [SimulatedPrometheus.FaultSpan] = [], fail: (@Sendable (String) -> Bool)? = nil
    ) async -> [Double: Double] {
        let (prometheus, flaky, collector) = Self.collector(tsdb, recovered: recovered)
        var seen: [Double: Double] = [:]
        for (n, t) in ticks.enumerated() {
            flaky.failing.withLock { $0 = n == 0 ? fail : nil }
            prometheus.beginTick(at: t, faults: faults)
            let fleet = await collector.collect(retentions: [ConfigDuration(seconds: 60)], now: Instant(seconds: SimulatedPrometheus.epoch + t)).0
            _ = prometheus.endTick()
            if let value = try? fleet.gatewayRequests.get()[key] { seen[t] = value }
        }
        return seen
    }

    /// The last process read the gateway up to 45 s (its gateway queries failed after, then it
    /// restarted); a request for the model, at zero, was rejected at 60 s — the endpoint picker
    /// created the error counter with it — and the client waits to retry. The new process's first
    /// answer, at 70 s, counts it: the counter is present now and was not at 45 s (fault
    /// simulation, schedules 14657197161430034803 and 17837146520889071518: stranded until the
    /// client's retry). An error counter that was there at 45 s counts nothing.
    @Test func aNewProcessCountsAnErrorCounterBornAfterTheLastOneLastReadTheGateway() async {
        let bornAfter = await Self.counted(Self.rejections(born: 60), recovered: 45, ticks: [70, 72, 74])
        #expect(bornAfter[70] == 3, "\(bornAfter.sorted { $0.key < $1.key })")
        #expect(bornAfter[74] == 0, "counted once: \(bornAfter.sorted { $0.key < $1.key })")
        let bornBefore = await Self.counted(Self.rejections(born: 30), recovered: 45, ticks: [70, 72])
        #expect(bornBefore[70] == 0 && bornBefore[72] == 0, "\(bornBefore.sorted { $0.key < $1.key })")
        // Nothing recovered (the first start, a failed recovery): born within the first read back
        // (R − 3 scrapes, 57 s) counts — the last process may have counted it too, a wake at most.
        let firstStart = await Self.counted(Self.rejections(born: 60), recovered: nil, ticks: [70, 72])
        #expect(firstStart[70] == 3, "\(firstStart.sorted { $0.key < $1.key })")
        let longBefore = await Self.counted(Self.rejections(born: 1), recovered: nil, ticks: [70, 72])
        #expect(longBefore[70] == 0, "\(longBefore.sorted { $0.key < $1.key })")
    }

    /// The read of the error counters as they were fails at the first answer: the catch-up is
    /// tried again with the next, which counts the rejection.
    @Test func aFailedReadOfTheErrorCountersAsTheyWereIsTriedAgain() async {
        let seen = await Self.counted(Self.rejections(born: 60), recovered: 45, ticks: [70, 72, 74]) { $0.contains(" offset ") }
        #expect(seen[72] == 3, "\(seen.sorted { $0.key < $1.key })")
    }

    /// Rejections for reasons that are no demand for capacity (a malformed request) wake nothing.
    @Test func rejectedMalformedRequestsAreNoDemand() async {
        var tsdb = SimulatedTSDB()
        var t = 0.5
        while t <= 90 {
            tsdb.scrape(target: "gw-0", at: t, [
                .init("inference_objective_request_total", ["target_model_name": "org/chat", "job": "gw"], 7),
                .init("inference_objective_request_error_total", ["target_model_name": "org/chat", "job": "gw", "error_code": "BadRequest"], t >= 60 ? 5 : 1),
            ])
            t += 1
        }
        let seen = await Self.counted(tsdb)
        #expect(!seen.isEmpty && seen.values.allSatisfy { $0 == 0 }, "\(seen.sorted { $0.key < $1.key })")
    }
}
