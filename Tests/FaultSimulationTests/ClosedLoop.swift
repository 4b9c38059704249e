import ModelConfig
import PrometheusClient
import Recommendation
@testable import RecommenderService
@testable import FaultSimulation

/// A small closed loop for the review tests: one model, `org/m` in `ns` (R 20 s), recovered at
/// zero at 50 s; the real collector (scrape 1 s, tick 2 s) and engine against a simulated
/// Prometheus whose TSDB the test's own world scrapes. The test moves time in quarter seconds and
/// calls ``tick(at:)`` every 2 s from 50 s.
final class ClosedLoop {
    static let model = "org/m"
    static let namespace = "ns"
    static let key = ModelKey(namespace: namespace, modelID: model)
    /// The gateway's series for the model.
    static let gatewayLabels = ["target_model_name": model, "model_name": model, "namespace": namespace, "job": "gw"]
    /// The model's pod.
    static let podLabels = ["namespace": namespace, "model_name": model, "pod": "m-0", "job": "vllm"]

    let prometheus: SimulatedPrometheus
    let collector: SignalCollector
    let engine: Engine
    /// Each tick: time, desired, the gateway count and the decision's reason and detail.
    private(set) var trace: [(Double, Int?, String)] = []

    /// `transport` wraps the simulated Prometheus (a flaky one); the last process read the gateway
    /// up to `recovered`.
    init(recovered: Double, transport: (SimulatedPrometheus) -> any PrometheusTransport = { $0 }) async {
        prometheus = SimulatedPrometheus(tsdb: SimulatedTSDB())
        collector = SignalCollector(
            client: PrometheusClient(transport: transport(prometheus), retry: RetryPolicy(attempts: 1)),
            queries: QueryBuilder(templates: SimulationQueries.templates, scrapeInterval: ConfigDuration(seconds: 1), tickInterval: ConfigDuration(seconds: 2)))
        collector.gatewayAnsweredRecovered(GatewayReadUpTo(counters: SimulatedPrometheus.epoch + recovered, queue: SimulatedPrometheus.epoch + recovered))
        engine = Engine(options: EngineOptions(), logger: Simulation.logger)
        await engine.loadConfig([RawEntry(
            key: "m", text: "model_id: \(Self.model)\nnamespace: \(Self.namespace)\nenable_scale_to_zero: true\nretention_period: 20s\n",
            location: EntryLocation(file: "m"))], now: Self.at(50))
        await engine.recover(.success([Self.key: 0]), now: Self.at(50))
    }

    static func at(_ t: Double) -> Instant { Instant(seconds: SimulatedPrometheus.epoch + t) }

    /// The pod's scrape at `t`: its request counter and `running` in flight; nil: its scrape fails.
    func scrapePod(at t: Double, counter: Double?, running: Int) {
        prometheus.state.withLock { state in
            guard let counter else { return state.tsdb.scrapeFailed(target: "m-0", at: t) }
            state.tsdb.scrape(target: "m-0", at: t, [
                .init(Fleet.requestsMetric, Self.podLabels, counter), .init(Fleet.runningMetric, Self.podLabels, Double(running)),
                .init(Fleet.waitingMetric, Self.podLabels, 0), .init(Fleet.kvMetric, Self.podLabels, 0),
            ])
        }
    }

    /// The gateway's scrape at `t`.
    func scrapeGateway(at t: Double, _ samples: [SimulatedTSDB.Scraped]) {
        prometheus.state.withLock { $0.tsdb.scrape(target: "gw-0", at: t, samples) }
    }

    /// The recommender's tick at `t`: the recommendation for the model, traced.
    func tick(at t: Double) async -> Int? {
        prometheus.beginTick(at: t, faults: [])
        let (fleet, outcomes) = await collector.collect(retentions: await engine.retentionsInUse, now: Self.at(t))
        _ = prometheus.endTick()
        await engine.tick(fleet, outcomes: outcomes, duration: 0, now: Self.at(t))
        let decision = await engine.decision(for: Self.key)
        let gw = (try? fleet.gatewayRequests.get())?[GatewayKey(namespace: Self.namespace, name: Self.model)]
        trace.append((t, decision?.desired, "gw \(gw.map(Simulation.format) ?? "-") \(decision.map { "\($0.reason) \($0.detail)" } ?? "-")"))
        return decision?.desired
    }
}
