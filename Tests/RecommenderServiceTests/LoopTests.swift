import Foundation
import Testing
import ModelConfig
import PrometheusClient
import Recommendation
@testable import RecommenderService

/// The loop through the real PromQL engine: a Prometheus server scraping a test exporter every second.
@Suite(.serialized)
struct LoopTests {
    @Test(arguments: Backend.allCases)
    func idleModelReachesZeroAfterItsRetentionAndNotBefore(backend: Backend) async throws {
        let prometheus = try await SharedPrometheus.instance.get(backend)
        let exporter = try await TestExporter(prometheus: prometheus, name: "idle")
        exporter.vllmPod(namespace: "idle", model: "org/idle-a")
        try await waitForSeries(prometheus, "vllm:num_requests_running{model_name=\"org/idle-a\"}")
        try await Task.sleep(for: .seconds(2))  // the counter is flat for longer than the 3s window

        let rig = try await Rig(prometheusURL: prometheus.url, config: ["default": enabled("3s")])
        let trace = try await rig.trace("idle", "org/idle-a", for: 10) { $0.desired == 0 }
        let zeroAt = try #require(trace.first { $0.decision.desired == 0 }?.elapsed)
        #expect(trace.filter { $0.elapsed < 3 }.allSatisfy { $0.decision.desired == 1 })
        #expect(zeroAt >= 3)
        #expect(zeroAt <= 3 + 2 * 0.25 + 0.5)  // retention + 2 ticks, with scheduling slack
        #expect(trace.last?.decision.reason == .idle)
    }

    @Test func busyModelStaysUp() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let exporter = try await TestExporter(prometheus: prometheus, name: "busy")
        exporter.vllmPod(namespace: "busy", model: "org/busy", pod: "p0")
        exporter.vllmPod(namespace: "busy", model: "org/busy", pod: "p1")
        exporter.grow("vllm:request_success_total", "namespace=\"busy\",model_name=\"org/busy\",pod=\"p0\",finished_reason=\"stop\"", by: 1)
        try await waitForSeries(prometheus, "increase(vllm:request_success_total{model_name=\"org/busy\"}[3s]) > 0")

        let rig = try await Rig(prometheusURL: prometheus.url, config: ["default": enabled("2s")])
        let trace = try await rig.trace("busy", "org/busy", for: 6)
        #expect(trace.count > 10)
        #expect(trace.allSatisfy { $0.decision.desired == 2 })  // its two ready replicas
        #expect(trace.allSatisfy { $0.decision.reason == .active })
        #expect((trace.last?.decision.state.lastActivity).map { Date().timeIntervalSince1970 - $0.seconds < 2 } == true)
    }

    @Test func disabledModelNeverGoesBelowOne() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let exporter = try await TestExporter(prometheus: prometheus, name: "disabled")
        exporter.vllmPod(namespace: "keep", model: "org/protected")
        try await waitForSeries(prometheus, "vllm:num_requests_running{model_name=\"org/protected\"}")

        let rig = try await Rig(
            prometheusURL: prometheus.url,
            config: ["default": enabled("1s"), "protected": "model_id: org/protected\nenable_scale_to_zero: false\n"],
            options: EngineOptions(environmentScaleToZero: true))
        let trace = try await rig.trace("keep", "org/protected", for: 4)
        #expect(trace.count > 8)
        #expect(trace.allSatisfy { $0.decision.desired == 1 })
        #expect(trace.last?.decision.detail == "scale-to-zero disabled")
    }

    @Test(arguments: ["llm_d_epp_flow_control_queue_size", "inference_extension_flow_control_queue_size"], Backend.allCases)
    func queuedGatewayDemandWakesAModelAtZero(metric: String, backend: Backend) async throws {
        let prometheus = try await SharedPrometheus.instance.get(backend)
        let model = "org/sleeper-\(metric.prefix(4))"
        let exporter = try await TestExporter(prometheus: prometheus, name: "demand-\(metric.prefix(4))")
        let rig = try await Rig(
            prometheusURL: prometheus.url,
            config: ["sleeper": "model_id: \(model)\nnamespace: demand\nenable_scale_to_zero: true\nretention_period: 1s\n"])
        exporter.set(metric, "target_model_name=\"\(model)\"", 0)  // the gateway's gauge, once the model was routed to
        try await rig.putToSleep(exporter, prometheus, namespace: "demand", models: [model])
        #expect(await rig.decision("demand", model)?.desired == 0)
        await rig.tick()  // at zero with no pods, it stays there
        #expect(await rig.decision("demand", model)?.desired == 0)

        exporter.set(metric, "target_model_name=\"\(model)\"", 2)
        let start = Date()
        let up = try await rig.trace("demand", model, for: 6) { $0.desired >= 1 }
        let wokeAfter = Date().timeIntervalSince(start)
        #expect(up.last?.decision.desired == 1)
        #expect(up.last?.decision.reason == .wake)
        #expect(up.last?.decision.detail == "gateway demand 2")
        #expect(wokeAfter <= 2 * 0.25 + 1 + 1)  // 2 ticks + 1 scrape, with slack for the file-SD refresh
    }

    @Test(arguments: Backend.allCases)
    func stoppingPrometheusHoldsEveryValue(backend: Backend) async throws {
        let prometheus = try await PrometheusServer(backend: backend)
        let exporter = try await TestExporter(prometheus: prometheus, name: "outage")
        exporter.vllmPod(namespace: "out", model: "org/up")
        exporter.grow("vllm:request_success_total", "namespace=\"out\",model_name=\"org/up\",pod=\"p0\",finished_reason=\"stop\"", by: 1)
        try await waitForSeries(prometheus, "increase(vllm:request_success_total{model_name=\"org/up\"}[2s]) > 0")

        let rig = try await Rig(
            prometheusURL: prometheus.url,
            config: ["default": enabled("2s"), "zero": "model_id: org/zero\nnamespace: out\n"], attempts: 1)
        try await rig.putToSleep(exporter, prometheus, namespace: "out", models: ["org/zero"])
        #expect(await rig.decision("out", "org/zero")?.desired == 0)
        #expect(await rig.decision("out", "org/up")?.desired == 1)

        prometheus.stop()
        let up = try await rig.trace("out", "org/up", every: 0.3, for: 4)  // twice the retention
        #expect(up.allSatisfy { $0.decision.desired == 1 && $0.decision.reason == .hold })
        #expect(await rig.decision("out", "org/zero")?.desired == 0)
        #expect(await rig.decision("out", "org/zero")?.reason == .hold)
        let metrics = await rig.engine.renderMetrics()
        #expect(metrics.contains("recommender_prometheus_query_errors_total{signal=\"requests\"} \(up.count)"))
    }

    @Test func queriesPerTickAreOnePerSignalPlusOnePerDistinctRetention() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let exporter = try await TestExporter(prometheus: prometheus, name: "fleet")
        for index in 0..<100 { exporter.vllmPod(namespace: "fleet", model: "org/m\(index)") }
        try await waitForSeries(prometheus, "count(vllm:num_requests_running{namespace=\"fleet\"})")
        var counts: [Int: Int] = [:]
        for models in [1, 10, 100] {
            var config = ["default": enabled("5m"), "fast": "model_id: org/m0\nretention_period: 1m\n"]
            for index in 0..<models { config["m\(index)"] = "model_id: org/m\(index)\nnamespace: fleet\n" }
            let rig = try await Rig(prometheusURL: prometheus.url, config: config)
            await rig.tick()
            let retentions = await rig.engine.retentionsInUse
            let (_, outcomes) = await rig.collector.collect(retentions: retentions)
            counts[models] = outcomes.count
            #expect(await rig.engine.modelCount >= models)
        }
        // 5 signals + 2 distinct retention periods (5m, 1m), whatever the number of models.
        #expect(counts == [1: 7, 10: 7, 100: 7])
    }
}
