import Foundation
import Logging
import Testing
import ModelConfig
import PrometheusClient
import Recommendation
@testable import RecommenderService
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The lessons of the seeds as tests through the real PromQL engine: models come back, do not flap,
/// wake with their group, obey the kill switch, and survive a restart at zero.
@Suite(.serialized)
struct TrustTests {
    @Test func wakeThenAnEightSecondColdStartNeverReturnsToZeroWithinRetention() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let exporter = try await TestExporter(prometheus: prometheus, name: "cold")
        let model = "org/cold"
        let rig = try await Rig(
            prometheusURL: prometheus.url,
            config: ["cold": "model_id: \(model)\nnamespace: cold\nenable_scale_to_zero: true\nretention_period: 12s\n"])
        let key = ModelKey(namespace: "cold", modelID: model)
        // Down to zero first: an idle replica, then none.
        try rig.write(["cold": "model_id: \(model)\nnamespace: cold\nenable_scale_to_zero: true\nretention_period: 3s\n"])
        await rig.watcher.load()
        try await rig.putToSleep(exporter, prometheus, namespace: "cold", models: [model])
        #expect(await rig.decision("cold", model)?.desired == 0)
        try rig.write(["cold": "model_id: \(model)\nnamespace: cold\nenable_scale_to_zero: true\nretention_period: 12s\n"])
        await rig.watcher.load()

        let api = RecommenderAPI(engine: rig.engine, clock: SystemTime(), options: APIOptions())
        #expect(await api.wake(path: "/api/v1/models/cold/org%2Fcold/wake", authorization: nil).status == 202)
        let wokeAt = Date()
        var points: [(Double, Int, Phase)] = []
        var podStarted = false
        while Date().timeIntervalSince(wokeAt) < 12 {
            if !podStarted, Date().timeIntervalSince(wokeAt) >= 8 {
                // The pod is finally ready; requests complete slowly.
                exporter.vllmPod(namespace: "cold", model: model, requests: 0, running: 0)
                exporter.grow("vllm:request_success_total", "namespace=\"cold\",model_name=\"\(model)\",pod=\"p0\",finished_reason=\"stop\"", by: 0.2)
                podStarted = true
            }
            await rig.tick()
            if let decision = await rig.engine.decision(for: key) {
                points.append((Date().timeIntervalSince(wokeAt), decision.desired, decision.phase))
            }
            try await Task.sleep(for: .milliseconds(400))
        }
        #expect(points.count > 20)
        #expect(points.allSatisfy { $0.1 >= 1 }, "went to zero within the retention: \(points)")
        #expect(points.filter { $0.0 < 8 }.allSatisfy { $0.2 == .waking }, "\(points)")
        #expect(points.last?.2 != .waking)
        let page = await rig.engine.renderMetrics()
        let line = try #require(page.split(separator: "\n").first { $0.hasPrefix("recommender_model_last_cold_start_seconds{namespace=\"cold\"") })
        let seconds = try #require(Double(line.split(separator: " ").last ?? ""))
        #expect(seconds >= 8 && seconds < 12)
        #expect(page.contains("recommender_cold_start_seconds_count 1\n"))
    }

    @Test func membersOfAGroupWakeTogether() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let exporter = try await TestExporter(prometheus: prometheus, name: "group")
        let entry = { (id: String) in "model_id: org/\(id)\nnamespace: grp\nenable_scale_to_zero: true\nretention_period: 3s\ngroup: pipeline\n" }
        let rig = try await Rig(prometheusURL: prometheus.url, config: ["a": entry("embed"), "b": entry("rerank"), "c": "model_id: org/other\nnamespace: grp\nenable_scale_to_zero: true\nretention_period: 3s\n"])
        try await rig.putToSleep(exporter, prometheus, namespace: "grp", models: ["org/embed", "org/rerank", "org/other"])
        #expect(await rig.decision("grp", "org/embed")?.desired == 0)
        #expect(await rig.decision("grp", "org/rerank")?.desired == 0)
        #expect(await rig.decision("grp", "org/other")?.desired == 0)

        exporter.set("llm_d_epp_flow_control_queue_size", "target_model_name=\"org/embed\"", 1)
        _ = try await rig.trace("grp", "org/embed", for: 6) { $0.desired >= 1 }
        #expect(await rig.decision("grp", "org/embed")?.desired == 1)
        #expect(await rig.decision("grp", "org/rerank")?.desired == 1)
        #expect(await rig.decision("grp", "org/rerank")?.detail == "group pipeline woke")
        #expect(await rig.decision("grp", "org/other")?.desired == 0)
    }

    @Test func killSwitchBringsBackAModelAtZeroWithinOneTick() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let config = ["m": "model_id: org/kill\nnamespace: ks\nenable_scale_to_zero: true\nretention_period: 3s\n"]
        let exporter = try await TestExporter(prometheus: prometheus, name: "kill")
        let rig = try await Rig(prometheusURL: prometheus.url, config: config)
        try await rig.putToSleep(exporter, prometheus, namespace: "ks", models: ["org/kill"])
        #expect(await rig.decision("ks", "org/kill")?.desired == 0)

        try rig.write(config.merging(["global": "scale_to_zero_allowed: false\n"]) { $1 })
        await rig.watcher.load()
        await rig.tick()
        let decision = try #require(await rig.decision("ks", "org/kill"))
        #expect(decision.desired == 1)
        #expect(decision.detail.hasPrefix("kill switch: scale-to-zero not allowed"))
        #expect(await rig.engine.renderMetrics().contains("recommender_kill_switch 1\n"))
        #expect(await rig.engine.readiness().detail.contains("kill switch: engaged, scale-to-zero frozen, every model ≥ 1"))
    }

    @Test(arguments: Backend.allCases)
    func restartWhileAModelIsAtZeroNeverExportsOne(backend: Backend) async throws {
        let prometheus = try await SharedPrometheus.instance.get(backend)
        let directory = NSTemporaryDirectory() + "rr-restart-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "model_id: org/restart\nnamespace: rs\nenable_scale_to_zero: true\nretention_period: 3s\n"
            .write(toFile: directory + "/m", atomically: true, encoding: .utf8)
        var configuration = ServerConfiguration(configPath: directory, prometheusURL: prometheus.url)
        configuration.host = "127.0.0.1"
        configuration.port = try freePort()
        configuration.interval = .milliseconds(250)
        configuration.recoveryWindow = ConfigDuration(seconds: 3600)
        let metricsURL = "http://127.0.0.1:\(configuration.port)/metrics"
        let series = "inferno_desired_replicas{namespace=\"rs\",model_name=\"org/restart\""

        let exporter = try await TestExporter(prometheus: prometheus, name: "restart-pods")
        exporter.vllmPod(namespace: "rs", model: "org/restart")
        try await waitForSeries(prometheus, "vllm:num_requests_running{model_name=\"org/restart\"}")
        let first = startServer(configuration)
        try prometheus.addTarget(port: configuration.port, name: "restart")
        try await waitForSeries(prometheus, "last_over_time(inferno_desired_replicas{model_name=\"org/restart\"}[1h]) == 0", timeout: 20)
        exporter.removePod(namespace: "rs", model: "org/restart")  // scaled away, as KEDA would
        first.cancel()
        _ = await first.result
        try await Task.sleep(for: .seconds(2))  // Prometheus sees the target down

        let second = startServer(configuration)
        defer { second.cancel() }
        var values: [String] = []
        let start = Date()
        while Date().timeIntervalSince(start) < 5 {
            if let page = await fetch(metricsURL) {
                values += page.split(separator: "\n").filter { $0.hasPrefix(series) }.map { String($0.split(separator: " ").last!) }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(values.count > 20)
        #expect(Set(values) == ["0"], "exported after restart: \(Set(values))")
    }

    func fetch(_ url: String) async -> String? {
        guard let (data, response) = try? await URLSession.shared.data(from: URL(string: url)!),
            (response as? HTTPURLResponse)?.statusCode == 200 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A complete tick's answers: `ready` per model, nothing else active, gateway series as given.
func completeFleet(
    ready: [ModelKey: Double] = [:], requests: [ModelKey: Double] = [:], retentions: Set<ConfigDuration> = [ConfigDuration(seconds: 600)],
    demand: [GatewayKey: Double] = [:], gatewayRequests: [GatewayKey: Double] = [:]
) -> FleetSignals {
    var byRetention: [ConfigDuration: Result<[ModelKey: Double], PrometheusError>] = [:]
    for retention in retentions { byRetention[retention] = .success(requests.isEmpty ? ready.mapValues { _ in 0 } : requests) }
    return FleetSignals(
        requests: byRetention, running: .success(ready.mapValues { _ in 0 }), waiting: .success([:]), ready: .success(ready),
        kvCache: .success([:]), demand: .success(demand), gatewayRequests: .success(gatewayRequests))
}

struct InventoryTests {
    @Test func modelAbsentFromEverySourceIsForgottenAfterTheConfiguredPeriodOfCompleteTicks() async {
        let key = ModelKey(namespace: "ns", modelID: "org/gone")
        let engine = await decidedEngine(models: [key], options: EngineOptions(forgetAfterSeconds: 10))
        #expect(await engine.modelCount == 1)
        await engine.tick(completeFleet(), outcomes: [], duration: 0, now: Instant(seconds: 10))
        #expect(await engine.modelCount == 1)
        await engine.tick(completeFleet(), outcomes: [], duration: 0, now: Instant(seconds: 12))
        #expect(await engine.modelCount == 0)
        #expect(!(await engine.renderMetrics()).contains("org/gone"))
    }

    @Test func ticksWhoseQueriesFailedDoNotCountTowardForgetting() async {
        let key = ModelKey(namespace: "ns", modelID: "org/outage")
        let engine = await decidedEngine(models: [key], options: EngineOptions(forgetAfterSeconds: 10))
        for second in stride(from: 2.0, through: 100, by: 2) {
            await engine.tick(.unknown(.unreachable("connection refused")), outcomes: [], duration: 0, now: Instant(seconds: second))
        }
        #expect(await engine.modelCount == 1)
        #expect(await engine.decision(for: key)?.desired == 1)
    }

    @Test func aModelRecommendedZeroIsNeverForgotten() async {
        let key = ModelKey(namespace: "ns", modelID: "org/sleeper")
        let engine = await decidedEngine(models: [], options: EngineOptions(environmentScaleToZero: true, forgetAfterSeconds: 10))
        await engine.recover(.success([key: 0]), now: Instant(seconds: 1))
        for second in stride(from: 2.0, through: 200, by: 2) {
            await engine.tick(completeFleet(), outcomes: [], duration: 0, now: Instant(seconds: second))
        }
        #expect(await engine.modelCount == 1)
        #expect(await engine.decision(for: key)?.desired == 0)
        #expect((await engine.renderMetrics()).contains("model_name=\"org/sleeper\""))
        // Demand, without a namespace label, reaches the real model: it is known, so it is found.
        await engine.tick(completeFleet(demand: [GatewayKey(namespace: nil, name: "org/sleeper"): 2]), outcomes: [], duration: 0, now: Instant(seconds: 202))
        #expect(await engine.decision(for: key)?.desired == 1)
        #expect(await engine.modelCount == 1)
    }

    /// A recovery whose wake-path read fails is no recovery: retried, the sightings come back with
    /// the recommendations (else every idle model would be held at `no_wake_path`).
    @Test func aRecoveryWithoutItsWakePathsIsRetried() async {
        let key = ModelKey(namespace: "ns", modelID: "org/sleeper")
        let engine = Engine(options: EngineOptions(environmentScaleToZero: true), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        await engine.loadConfig([], now: Instant(seconds: 99))
        await engine.recover(.success([key: 0]), wakePaths: .failure(.unreachable("connection refused")), now: Instant(seconds: 100))
        #expect(await !engine.recovered)
        await engine.recover(.success([key: 0]), wakePaths: .success([key: 40]), now: Instant(seconds: 105))
        #expect(await engine.recovered)
        await engine.tick(completeFleet(), outcomes: [], duration: 0, now: Instant(seconds: 110))
        let decision = await engine.decision(for: key)
        #expect(decision?.state.gatewaySeenAt == Instant(seconds: 40))
        #expect(decision?.wakePath == .gateway)
        #expect(decision?.desired == 0)
    }

    /// How far the last process read the gateway is part of the recovery too: without it a new
    /// process's first answer would read back R − 3 scrapes only. The value read is exported from
    /// the first tick (a restart before this process reads the gateway itself keeps it), then
    /// this process's own.
    @Test func aRecoveryWithoutWhereTheLastProcessReadTheGatewayIsRetried() async {
        let engine = Engine(options: EngineOptions(environmentScaleToZero: true), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        await engine.loadConfig([], now: Instant(seconds: 99))
        await engine.recover(.success([:]), gatewayAnswered: .failure(.unreachable("connection refused")), now: Instant(seconds: 100))
        #expect(await !engine.recovered)
        await engine.recover(.success([:]), gatewayAnswered: .success(GatewayReadUpTo(counters: 60, queue: 58)), now: Instant(seconds: 105))
        #expect(await engine.recovered)
        var fleet = completeFleet()
        fleet.gatewayReadUpTo = GatewayReadUpTo(counters: 60, queue: 58)
        await engine.tick(fleet, outcomes: [], duration: 0, now: Instant(seconds: 110))
        var page = await engine.renderMetrics()
        #expect(page.contains("\nrecommender_gateway_last_answered_timestamp_seconds{signal=\"gateway_requests\"} 60\n"), "\(page)")
        #expect(page.contains("\nrecommender_gateway_last_answered_timestamp_seconds{signal=\"demand\"} 58\n"))
        fleet.gatewayReadUpTo = GatewayReadUpTo(counters: 115, queue: 115)
        await engine.tick(fleet, outcomes: [], duration: 0, now: Instant(seconds: 115))
        page = await engine.renderMetrics()
        #expect(page.contains("\nrecommender_gateway_last_answered_timestamp_seconds{signal=\"gateway_requests\"} 115\n"))
    }

    @Test func gatewayDemandWithANamespaceLabelAdoptsTheModelThere() async {
        let engine = await decidedEngine(models: [])
        await engine.tick(completeFleet(demand: [GatewayKey(namespace: "models", name: "org/new"): 4]), outcomes: [], duration: 0, now: Instant(seconds: 5))
        let decision = await engine.decision(for: ModelKey(namespace: "models", modelID: "org/new"))
        #expect(decision?.desired == 1)
        #expect(decision?.reason == .wake)
        #expect(decision?.detail == "gateway demand 4")
    }

    @Test func gatewayDemandWithoutANamespaceForAModelKnownNowhereAdoptsNothing() async {
        let engine = await decidedEngine(models: [])
        await engine.tick(completeFleet(demand: [GatewayKey(namespace: nil, name: "org/stranger"): 4]), outcomes: [], duration: 0, now: Instant(seconds: 5))
        #expect(await engine.modelCount == 0)
    }

    @Test func aSharedGatewayInItsOwnNamespaceWakesTheModelWhereItIsKnown() async {
        let key = ModelKey(namespace: "llm", modelID: "org/m")
        let engine = await decidedEngine(models: [], config: ["m": "model_id: org/m\nnamespace: llm\nenable_scale_to_zero: true"])
        await engine.recover(.success([key: 0]), now: Instant(seconds: 1))
        await engine.tick(completeFleet(demand: [GatewayKey(namespace: "gateway-system", name: "org/m"): 1]), outcomes: [], duration: 0, now: Instant(seconds: 5))
        #expect(await engine.decision(for: key)?.desired == 1)
        #expect(await engine.decision(for: ModelKey(namespace: "gateway-system", modelID: "org/m")) == nil)
    }

    @Test func demandAndActivityUnderAnAliasCountForTheModel() async {
        let key = ModelKey(namespace: "llm", modelID: "org/base")
        let engine = await decidedEngine(models: [], config: [
            "base": "model_id: org/base\nnamespace: llm\nenable_scale_to_zero: true\naliases: [support-adapter, base-chat]",
        ])
        await engine.recover(.success([key: 0]), now: Instant(seconds: 1))
        await engine.tick(completeFleet(demand: [GatewayKey(namespace: nil, name: "support-adapter"): 3]), outcomes: [], duration: 0, now: Instant(seconds: 5))
        #expect(await engine.decision(for: key)?.desired == 1)
        // vLLM series under the served name count as the model's: two replicas 90% full size it
        // to 3 at the 80% target; no model "base-chat" appears.
        let served = ModelKey(namespace: "llm", modelID: "base-chat")
        var fleet = completeFleet(ready: [served: 2])
        fleet.kvCache = .success([served: 0.9])
        await engine.tick(fleet, outcomes: [], duration: 0, now: Instant(seconds: 6))
        #expect(await engine.modelCount == 1)
        #expect(await engine.decision(for: key)?.desired == 3)
    }

    @Test func aReplicaWithNoRequestCounterSeriesLeavesRequestsUnknown() async {
        let key = ModelKey(namespace: "ns", modelID: "org/m")
        let engine = await decidedEngine(models: [key], options: EngineOptions(environmentScaleToZero: true))
        var fleet = completeFleet(ready: [key: 1])
        for retention in await engine.retentionsInUse { fleet.requests[retention] = .success([:]) }
        await engine.tick(fleet, outcomes: [], duration: 0, now: Instant(seconds: 5))
        #expect(await engine.decision(for: key)?.reason == .hold)
        #expect(await engine.decision(for: key)?.detail == "unknown: requests")
    }

    @Test func corruptRecoveredValuesAreIgnoredNotTrapped() async {
        let engine = await decidedEngine(models: [])
        let huge = ModelKey(namespace: "ns", modelID: "huge"), negative = ModelKey(namespace: "ns", modelID: "neg")
        await engine.recover(.success([huge: 1e300, negative: -4, ModelKey(namespace: "ns", modelID: "inf"): .infinity]), now: Instant(seconds: 1))
        await engine.tick(completeFleet(), outcomes: [], duration: 0, now: Instant(seconds: 2))
        #expect(await engine.decision(for: huge)?.desired == 1)
        #expect(await engine.decision(for: negative)?.desired == 1)
    }

    @Test func twoModelsDerivingTheSameVariantNameInOneNamespaceAreReported() async {
        let engine = await decidedEngine(models: [
            ModelKey(namespace: "ns", modelID: "a/llama-8b"), ModelKey(namespace: "ns", modelID: "b/llama-8b"),
            ModelKey(namespace: "other", modelID: "c/llama-8b"),
        ])
        let metrics = await engine.renderMetrics()
        #expect(metrics.contains("recommender_variant_name_conflicts 1"))
        #expect((await engine.readiness()).detail.contains { $0.contains("variant_name ns/llama-8b") && $0.contains("a/llama-8b, b/llama-8b") })
    }
}
