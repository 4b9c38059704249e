import Foundation
import Logging
import Testing
import ModelConfig
import PrometheusClient
import Recommendation
@testable import RecommenderService

/// The evidence of idleness and restart recovery attacked through a real Prometheus.
@Suite(.serialized)
struct EvidenceAttackTests {
    func collector(_ prometheus: PrometheusServer) -> SignalCollector {
        SignalCollector(
            client: PrometheusClient(
                transport: CurlTransport(connection: PrometheusConnection(url: prometheus.url, timeoutSeconds: 2)),
                retry: RetryPolicy(attempts: 1)),
            queries: QueryBuilder(scrapeInterval: ConfigDuration(seconds: 1)))
    }

    func tick(_ engine: Engine, _ collector: SignalCollector) async {
        let (fleet, outcomes) = await collector.collect(retentions: await engine.retentionsInUse)
        await engine.tick(fleet, outcomes: outcomes, duration: 0, now: Instant(seconds: Date().timeIntervalSince1970))
    }

    /// An engine with one entry (`wake_path: api`, scale-to-zero on, retention `retention`) for
    /// `model` in `namespace`, recovered with nothing: it decides from its first tick.
    func recoveredEngine(model: String, namespace: String, retention: String) async -> Engine {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let engine = Engine(options: EngineOptions(), logger: logger)
        await engine.loadConfig([RawEntry(
            key: "m", text: "model_id: \(model)\nnamespace: \(namespace)\nenable_scale_to_zero: true\nretention_period: \(retention)\nwake_path: api\n",
            location: EntryLocation(file: "m"))], now: Instant(seconds: Date().timeIntervalSince1970))
        await engine.recover(.success([:]), now: Instant(seconds: Date().timeIntervalSince1970))
        return engine
    }

    /// Ticks every 250 ms for `seconds`.
    func tickFor(_ seconds: Double, _ engine: Engine, _ collector: SignalCollector) async throws {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            await tick(engine, collector)
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Ticks every 250 ms for `seconds`; the seconds until `key` was first recommended 0, if it was.
    func firstZero(of key: ModelKey, within seconds: Double, _ engine: Engine, _ collector: SignalCollector) async throws -> Double? {
        let start = Date()
        var first: Double?
        while Date().timeIntervalSince(start) < seconds {
            await tick(engine, collector)
            if first == nil, await engine.decision(for: key)?.desired == 0 { first = Date().timeIntervalSince(start) }
            try await Task.sleep(for: .milliseconds(250))
        }
        return first
    }

    /// Two Prometheus replicas scrape the same pods (an HA pair behind one Service); one of them
    /// was just (re)started with an empty TSDB and answers the next ticks. Every query succeeds, so
    /// the recommender's observation is never broken, but the fresh replica's `increase(...[R])`
    /// holds only seconds of samples and reads 0. A `wake_path: api` model (no gateway counter to
    /// stamp its last wake) is zeroed a few seconds after its last request instead of R after it.
    @Test func aFreshPrometheusReplicaDoesNotZeroAModelBeforeRAfterItsLastRequest() async throws {
        let old = try await SharedPrometheus.instance.get()
        let exporter = try await TestExporter(prometheus: old, name: "fresh-pods")
        let model = "org/fresh", retention = 15.0
        let key = ModelKey(namespace: "fresh", modelID: model)
        let counter = "namespace=\"fresh\",model_name=\"\(model)\",pod=\"p0\",finished_reason=\"stop\""
        exporter.vllmPod(namespace: "fresh", model: model, requests: 0, gateway: false)
        exporter.grow("vllm:request_success_total", counter, by: 1)  // a request completes every scrape
        try await waitForSeries(old, "increase(vllm:request_success_total{model_name=\"\(model)\"}[5s]) > 0")

        let engine = await recoveredEngine(model: model, namespace: "fresh", retention: "15s")
        let fromOld = collector(old)

        // Serving, observed continuously for longer than R.
        let start = Date()
        while Date().timeIntervalSince(start) < retention + 2 {
            await tick(engine, fromOld)
            #expect(await engine.decision(for: key)?.desired ?? 1 >= 1)
            try await Task.sleep(for: .milliseconds(500))
        }
        let lastRequest = try #require(exporter.stopGrowing("vllm:request_success_total", counter))
        for _ in 0..<4 {
            await tick(engine, fromOld)
            try await Task.sleep(for: .milliseconds(500))
        }

        // The other replica, fresh, starts scraping the same pods and answers from now on.
        let fresh = try await PrometheusServer()
        defer { fresh.stop() }
        try fresh.addTarget(port: exporter.port, name: "fresh-pods")
        try await waitForSeries(fresh, "increase(vllm:request_success_total{model_name=\"\(model)\"}[20s])")
        let fromFresh = collector(fresh)
        var firstZero: Double?
        while Date().timeIntervalSince(lastRequest) < retention + 3 {
            await tick(engine, fromFresh)
            if firstZero == nil, await engine.decision(for: key)?.desired == 0 {
                firstZero = Date().timeIntervalSince(lastRequest)
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(firstZero.map { $0 >= retention - 0.5 } ?? true,
                "zero \(firstZero ?? -1)s after the last request, R = \(retention)s")
    }

    /// The recommender is a Deployment: after a restart its pod (and so the `instance`/`pod` target
    /// labels of its `inferno_desired_replicas`) is new. Pod A last exported 1 for a model; pod B
    /// later took it to 0; pod C restarts within the recovery window. `max by (namespace,
    /// model_name) (last_over_time(...))` takes the max over A's and B's series: 1, so the restart
    /// wakes a model that went to sleep since the previous restart.
    @Test func recoveryReadsTheLatestValueNotTheLargestOfEarlierRecommenderPods() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let podA = try await TestExporter(prometheus: prometheus, name: "recommender-pod-a")
        let podB = try await TestExporter(prometheus: prometheus, name: "recommender-pod-b")
        let labels = "namespace=\"rec\",model_name=\"org/rec\",variant_name=\"rec\",variantautoscaling_name=\"rec\",variantautoscaling_namespace=\"rec\""
        podA.set("inferno_desired_replicas", labels, 1)
        try await waitForSeries(prometheus, "inferno_desired_replicas{model_name=\"org/rec\",target=\"recommender-pod-a\"} == 1")
        podA.remove("inferno_desired_replicas", labels)  // pod A is gone (restart)
        try await waitForSeries(prometheus, "inferno_desired_replicas{model_name=\"org/rec\",target=\"recommender-pod-a\"}", count: 0)
        podB.set("inferno_desired_replicas", labels, 0)  // pod B took the model to zero
        try await waitForSeries(prometheus, "inferno_desired_replicas{model_name=\"org/rec\",target=\"recommender-pod-b\"} == 0")

        let recovered = await collector(prometheus).recover(window: ConfigDuration(seconds: 3600))
        let key = ModelKey(namespace: "rec", modelID: "org/rec")
        #expect((try? recovered.get())?[key] == 0)

        let engine = await decidedEngine(models: [], config: ["default": "enable_scale_to_zero: true\nretention_period: 10s"])
        await engine.recover(recovered, now: Instant(seconds: 2))
        await engine.tick(completeFleet(retentions: [ConfigDuration(seconds: 10)]), outcomes: [], duration: 0, now: Instant(seconds: 3))
        #expect(await engine.decision(for: key)?.desired == 0)
    }

    /// A new replica joins an idle model's old one (a surge pod of a rollout, a scale-up). It served
    /// requests before its first scrape, so its counter's first sample is already above 0 — which
    /// `increase` cannot see — while the old pod's samples fill the window and make the model look
    /// observed and quiet. The window's sample count is the smallest over the current series: no
    /// zero before the new pod has been scraped for R. (Were the old pod removed, its shrinking
    /// sample count would hold the zero off as well.)
    @Test func aNewReplicaIsNoEvidenceBeforeItHasBeenScrapedForR() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let exporter = try await TestExporter(prometheus: prometheus, name: "rollout-pods")
        defer { exporter.stop() }
        let model = "org/rollout", retention = 10.0
        let key = ModelKey(namespace: "rollout", modelID: model)
        exporter.vllmPod(namespace: "rollout", model: model, pod: "old", requests: 5, gateway: false)
        try await waitForSeries(prometheus, "count_over_time(vllm:request_success_total{model_name=\"\(model)\"}[10s]) >= 8")

        let engine = await recoveredEngine(model: model, namespace: "rollout", retention: "10s")
        let collector = collector(prometheus)
        // Half of R observed on the old pod, quiet: without the rule the zero would come R/2 after the swap.
        try await tickFor(retention / 2, engine, collector)
        #expect(await engine.decision(for: key)?.desired == 1)

        // A second pod appears having served 3 requests before its first scrape.
        exporter.vllmPod(namespace: "rollout", model: model, pod: "new", requests: 3, gateway: false)
        try await waitForSeries(prometheus, "vllm:request_success_total{model_name=\"\(model)\",pod=\"new\"}")
        let firstZero = try await firstZero(of: key, within: retention + 4, engine, collector)
        // Requests the new pod served came at most one scrape before its first sample.
        #expect(firstZero.map { $0 >= retention - 1.5 } ?? false,
                "zero \(firstZero.map { String($0) } ?? "never")s after the new replica's first sample, R = \(retention)s")
    }

    /// A replica removed by a scale-down may have served a request after its last scrape: that
    /// request is in no sample. Its series ends inside the window (`rr_window_ended`), and the
    /// window is no evidence until the series has left it: no zero before R after the removal,
    /// even though the last request Prometheus saw is older (without the rule: R after that one).
    @Test func aReplicaRemovedInsideTheWindowHoldsTheZeroForRAfterItsRemoval() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let exporter = try await TestExporter(prometheus: prometheus, name: "scaled-down-pods")
        defer { exporter.stop() }
        let model = "org/scaled-down", retention = 10.0
        let key = ModelKey(namespace: "scaled", modelID: model)
        exporter.vllmPod(namespace: "scaled", model: model, pod: "stays", requests: 5, gateway: false)
        exporter.vllmPod(namespace: "scaled", model: model, pod: "goes", requests: 3, gateway: false)
        try await waitForSeries(prometheus, "count_over_time(vllm:request_success_total{model_name=\"\(model)\"}[12s]) >= 11", count: 2, timeout: 30)

        let engine = await recoveredEngine(model: model, namespace: "scaled", retention: "10s")
        let collector = collector(prometheus)
        // A request on the replica that will go, seen by Prometheus; then, 4 s later, the replica is removed.
        exporter.vllmPod(namespace: "scaled", model: model, pod: "goes", requests: 4, gateway: false)
        try await tickFor(4, engine, collector)
        exporter.removePod(namespace: "scaled", model: model, pod: "goes")
        let firstZero = try await firstZero(of: key, within: retention + 4, engine, collector)
        // The removed replica's last sample is at most one scrape (1 s) before its removal.
        #expect(firstZero.map { $0 >= retention - 1.5 } ?? false,
                "zero \(firstZero.map { String($0) } ?? "never")s after the replica was removed, R = \(retention)s")
    }

    /// The endpoint picker creates a model's request-counter series with the first request for it
    /// (1 at its first scrape), and the client does not retry at once: Prometheus' `increase`
    /// never counts a series' first value, so only the first-series rule of the gateway query
    /// (`rr_present`) wakes the model (without it, the model stays at 0 on both backends).
    @Test(arguments: [Backend.prometheus, .victoriaMetrics])
    func theRequestThatCreatesTheGatewaysCounterWakesAModelAtZero(backend: Backend) async throws {
        let prometheus = try await SharedPrometheus.instance.get(backend)
        let model = "org/born-\(backend)"
        let exporter = try await TestExporter(prometheus: prometheus, name: "born-\(backend)")
        let rig = try await Rig(prometheusURL: prometheus.url, config: [
            "m": "model_id: \(model)\nnamespace: born\nenable_scale_to_zero: true\nretention_period: 2s\nwake_path: api\n",
        ])
        // At zero, its pod gone, and no gateway series for it yet.
        exporter.vllmPod(namespace: "born", model: model, gateway: false)
        try await waitForSeries(prometheus, "vllm:num_requests_running{model_name=\"\(model)\"}")
        _ = try await rig.trace("born", model, for: 20) { $0.desired == 0 }
        #expect(await rig.decision("born", model)?.desired == 0)
        exporter.removePod(namespace: "born", model: model)
        try await waitForSeries(prometheus, "vllm:num_requests_running{model_name=\"\(model)\"}", count: 0)
        for _ in 0..<3 { await rig.tick() }
        #expect(await rig.decision("born", model)?.desired == 0)

        exporter.gatewayRoutes(model, count: 1)
        try await waitForSeries(prometheus, "inference_objective_request_total{target_model_name=\"\(model)\"}")
        let woken = try await rig.trace("born", model, for: 10) { $0.desired >= 1 }
        let last = try #require(woken.last?.decision)
        #expect(last.desired >= 1, "\(woken.map { "\($0.elapsed): \($0.decision.desired) \($0.decision.reason) \($0.decision.detail)" })")
        #expect(last.reason == .wake)
    }

    /// The last process's queries failed (partial answers) while requests queued at the gateway
    /// for a model at zero; the gateway's scrapes failed soon after (its series went stale), and
    /// the process restarted. A new process's first answer reads the gateway back over R − 3
    /// scrapes only, which misses the queue: it reads back from when the last process last read
    /// the gateway (`recommender_gateway_last_answered_timestamp_seconds`, recovered) instead.
    @Test func aNewProcessReadsTheGatewayBackFromWhereTheLastOneStopped() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let lastProcess = try await TestExporter(prometheus: prometheus, name: "recommender-last-process")
        let gateway = try await TestExporter(prometheus: prometheus, name: "blind-gateway")
        defer { lastProcess.stop(); gateway.stop() }
        let model = "org/queued-while-blind"
        let queue = "llm_d_epp_flow_control_queue_size"
        let target = "target_model_name=\"\(model)\""
        // The last process read the gateway up to here, then its answers failed.
        lastProcess.set("recommender_gateway_last_answered_timestamp_seconds", "", Date().timeIntervalSince1970 - 1)
        try await waitForSeries(prometheus, "recommender_gateway_last_answered_timestamp_seconds{target=\"recommender-last-process\"}")
        gateway.set(queue, target, 2)
        try await waitForSeries(prometheus, "\(queue){\(target)} == 2")
        gateway.remove(queue, target)  // the gateway's scrapes fail from here: the series goes stale
        try await waitForSeries(prometheus, "\(queue){\(target)}", count: 0)
        // The last process is gone: its series goes stale, its samples stay in the TSDB. (Its
        // exporter stays up: a server stopped while Prometheus connects can trip NIO's writer
        // assertion in a debug build.)
        lastProcess.remove("recommender_gateway_last_answered_timestamp_seconds", "")
        // Long enough that the queue's samples are older than R − 3 scrapes.
        let retention = ConfigDuration(seconds: 6)
        try await Task.sleep(for: .seconds(6))

        let key = GatewayKey(namespace: nil, name: model)
        let unrecovered = collector(prometheus)
        let (before, _) = await unrecovered.collect(retentions: [retention])
        #expect((try? before.demand.get())?[key] == nil, "R − 3 scrapes alone miss the queue (else this test proves nothing)")

        let recovering = collector(prometheus)
        let answered = await recovering.recoverGatewayAnswered(window: ConfigDuration(seconds: 3600), now: Instant(seconds: Date().timeIntervalSince1970))
        #expect((try? answered.get())?.queue != nil, "a series without the signal label counts for both")
        recovering.gatewayAnsweredRecovered(try answered.get())
        let (fleet, outcomes) = await recovering.collect(retentions: [retention])
        #expect((try? fleet.demand.get())?[key] == 2, "the queue of the blind stretch is demand")
        #expect(outcomes.contains { $0.signal == .demandCatchUp && $0.error == nil })
    }

    /// The last process read the gateway, then its gateway queries failed and it restarted; a
    /// request for a model at zero was rejected meanwhile (no flow control): the endpoint picker
    /// created the error counter with it, and `increase` never counts a series' first value. The
    /// new process's first answer counts it — the counter is present now and was not when the last
    /// process last read the gateway (`offset`, real Prometheus) — though it is older than the
    /// R − 3 scrapes a process with nothing recovered reads back. On both backends.
    @Test(arguments: [Backend.prometheus, .victoriaMetrics])
    func aNewProcessCountsAnErrorCounterBornAfterTheLastOneLastReadTheGateway(backend: Backend) async throws {
        let prometheus = try await SharedPrometheus.instance.get(backend)
        let lastProcess = try await TestExporter(prometheus: prometheus, name: "recommender-before-rejection-\(backend)")
        let gateway = try await TestExporter(prometheus: prometheus, name: "rejecting-while-blind-\(backend)")
        defer { lastProcess.stop(); gateway.stop() }
        let model = "org/rejected-while-blind-\(backend)"
        let target = "model_name=\"\(model)\",target_model_name=\"\(model)\""
        gateway.set("inference_objective_request_total", target, 7)
        try await waitForSeries(prometheus, "count_over_time(inference_objective_request_total{model_name=\"\(model)\"}[10s]) >= 3")
        lastProcess.set("recommender_gateway_last_answered_timestamp_seconds", "", Date().timeIntervalSince1970)
        try await waitForSeries(prometheus, "recommender_gateway_last_answered_timestamp_seconds{target=\"recommender-before-rejection-\(backend)\"}")
        lastProcess.remove("recommender_gateway_last_answered_timestamp_seconds", "")
        try await Task.sleep(for: .seconds(2))
        gateway.set("inference_objective_request_error_total", target + ",error_code=\"ServiceUnavailable\"", 3)
        try await waitForSeries(prometheus, "inference_objective_request_error_total{model_name=\"\(model)\",error_code=\"ServiceUnavailable\"}")
        // Older than R − 3 scrapes (R 6 s) by the time the new process answers.
        try await Task.sleep(for: .seconds(7))
        let retention = ConfigDuration(seconds: 6)
        let key = GatewayKey(namespace: nil, name: model)

        let unrecovered = collector(prometheus)
        let (fresh, _) = await unrecovered.collect(retentions: [retention])
        #expect((try? fresh.gatewayRequests.get())?[key] == 0, "R − 3 scrapes alone do not reach its birth (else this test proves nothing)")

        // Recovery reads this test's last process only (other tests' series share the TSDB).
        let recovering = SignalCollector(
            client: PrometheusClient(
                transport: CurlTransport(connection: PrometheusConnection(url: prometheus.url, timeoutSeconds: 2)), retry: RetryPolicy(attempts: 1)),
            queries: QueryBuilder(recommenderSelector: "target=\"recommender-before-rejection-\(backend)\"", scrapeInterval: ConfigDuration(seconds: 1)))
        let answered = await recovering.recoverGatewayAnswered(window: ConfigDuration(seconds: 3600), now: Instant(seconds: Date().timeIntervalSince1970))
        recovering.gatewayAnsweredRecovered(try answered.get())
        let (first, outcomes) = await recovering.collect(retentions: [retention])
        #expect((try? first.gatewayRequests.get())?[key] == 3, "the rejection nobody counted is demand: \(outcomes.filter { $0.error != nil })")
        // Once the stretch's answers no longer linger over it (a gateway window; VictoriaMetrics'
        // `increase` counts a small new counter's first value, so a lingering read counts it again).
        try await Task.sleep(for: .seconds(4))
        let (second, _) = await recovering.collect(retentions: [retention])
        #expect((try? second.gatewayRequests.get())?[key] == 0, "counted once")
    }

    /// A model the gateway has routed before (its request counter exists) is at zero; a client's
    /// request and two quick retries are rejected, and it gives up. The endpoint picker creates
    /// the error counter with the first rejection: its first sample already holds 3, which
    /// `increase` never counts. A target's error counter new to the process counts that value —
    /// once (and a malformed request's rejection, `BadRequest`, never).
    @Test func aNewErrorCounterOfARoutedModelIsDemandOnce() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let gateway = try await TestExporter(prometheus: prometheus, name: "rejecting-gateway")
        defer { gateway.stop() }
        let model = "org/rejected-at-zero"
        let target = "model_name=\"\(model)\",target_model_name=\"\(model)\""
        gateway.set("inference_objective_request_total", target, 7)
        gateway.set("inference_objective_request_error_total", target + ",error_code=\"BadRequest\"", 2)
        try await waitForSeries(prometheus, "count_over_time(inference_objective_request_total{model_name=\"\(model)\"}[10s]) >= 3")
        let collector = collector(prometheus)
        let key = GatewayKey(namespace: nil, name: model)
        var seen: [Double] = []
        for _ in 0..<8 {
            let (fleet, _) = await collector.collect(retentions: [ConfigDuration(seconds: 60)])
            seen.append((try? fleet.gatewayRequests.get())?[key] ?? -1)
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(seen.allSatisfy { $0 == 0 }, "a routed model, no demand yet (a malformed request's rejection is none): \(seen)")
        gateway.set("inference_objective_request_error_total", target + ",error_code=\"ServiceUnavailable\"", 3)
        try await waitForSeries(prometheus, "inference_objective_request_error_total{model_name=\"\(model)\",error_code=\"ServiceUnavailable\"}")
        seen = []
        for _ in 0..<12 {
            let (fleet, _) = await collector.collect(retentions: [ConfigDuration(seconds: 60)])
            seen.append((try? fleet.gatewayRequests.get())?[key] ?? -1)
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(seen.filter { $0 == 3 }.count == 1, "the first rejections count once: \(seen)")
        #expect(seen.allSatisfy { $0 == 0 || $0 == 3 }, "\(seen)")
    }
}
