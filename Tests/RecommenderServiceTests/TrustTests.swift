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
        try rig.write(["cold": "model_id: \(model)\nnamespace: cold\nenable_scale_to_zero: true\nretention_period: 1s\n"])
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
        let entry = { (id: String) in "model_id: org/\(id)\nnamespace: grp\nenable_scale_to_zero: true\nretention_period: 1s\ngroup: pipeline\n" }
        let rig = try await Rig(prometheusURL: prometheus.url, config: ["a": entry("embed"), "b": entry("rerank"), "c": "model_id: org/other\nnamespace: grp\nenable_scale_to_zero: true\nretention_period: 1s\n"])
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
        let config = ["m": "model_id: org/kill\nnamespace: ks\nenable_scale_to_zero: true\nretention_period: 1s\n"]
        let exporter = try await TestExporter(prometheus: prometheus, name: "kill")
        let rig = try await Rig(prometheusURL: prometheus.url, config: config)
        try await rig.putToSleep(exporter, prometheus, namespace: "ks", models: ["org/kill"])
        #expect(await rig.decision("ks", "org/kill")?.desired == 0)

        try rig.write(config.merging(["global": "scale_to_zero_allowed: false\n"]) { $1 })
        await rig.watcher.load()
        await rig.tick()
        let decision = try #require(await rig.decision("ks", "org/kill"))
        #expect(decision.desired == 1)
        #expect(decision.detail == "kill switch: scale-to-zero not allowed")
        #expect(await rig.engine.renderMetrics().contains("recommender_kill_switch 1\n"))
        #expect(await rig.engine.readiness().detail.contains("kill switch: engaged, scale-to-zero frozen, every model ≥ 1"))
    }

    @Test(arguments: Backend.allCases)
    func restartWhileAModelIsAtZeroNeverExportsOne(backend: Backend) async throws {
        let prometheus = try await SharedPrometheus.instance.get(backend)
        let directory = NSTemporaryDirectory() + "rr-restart-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "model_id: org/restart\nnamespace: rs\nenable_scale_to_zero: true\nretention_period: 1s\n"
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

struct InventoryTests {
    @Test func modelAbsentFromEverySourceIsForgottenAfterTheConfiguredPeriod() async {
        let key = ModelKey(namespace: "ns", modelID: "org/gone")
        let engine = await decidedEngine(models: [key], options: EngineOptions(forgetAfterSeconds: 10))
        #expect(await engine.modelCount == 1)
        let empty = FleetSignals(
            requests: [ConfigDuration(seconds: 600): .success([:])], running: .success([:]), waiting: .success([:]),
            ready: .success([:]), kvCache: .success([:]), demand: .success([:]))
        await engine.tick(empty, outcomes: [], duration: 0, now: Instant(seconds: 10))
        #expect(await engine.modelCount == 1)
        await engine.tick(empty, outcomes: [], duration: 0, now: Instant(seconds: 12))
        #expect(await engine.modelCount == 0)
        #expect(!(await engine.renderMetrics()).contains("org/gone"))
    }

    @Test func demandForAnUnknownModelMakesItKnownInTheDefaultNamespace() async {
        let engine = await decidedEngine(models: [], options: EngineOptions(defaultNamespace: "models"))
        let fleet = FleetSignals(
            requests: [ConfigDuration(seconds: 600): .success([:])], running: .success([:]), waiting: .success([:]),
            ready: .success([:]), kvCache: .success([:]), demand: .success(["org/new": 4]))
        await engine.tick(fleet, outcomes: [], duration: 0, now: Instant(seconds: 5))
        let decision = await engine.decision(for: ModelKey(namespace: "models", modelID: "org/new"))
        #expect(decision?.desired == 1)
        #expect(decision?.reason == .wake)
        #expect(decision?.detail == "gateway demand 4")
    }
}
