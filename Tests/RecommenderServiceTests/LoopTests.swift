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
        // Liveness holds on good data: zero within retention + 2 ticks (with scheduling slack) of
        // the start, or of the last tick the evidence was impaired. On a loaded machine a scrape
        // can time out (1 s interval, 1 s timeout); Prometheus then marks the target's series stale,
        // which reads as a replica's counter ended inside the window and rightly holds the zero.
        // Such a hold is excused only when Prometheus itself recorded the failed scrape. (Before R
        // has passed the model is up anyway: the process has observed it for less than R.)
        let impaired = trace.filter { $0.elapsed >= 3 && Self.evidenceImpaired($0.decision) }
        if let last = impaired.last {
            try await waitForSeries(prometheus, "min_over_time(up{target=\"idle\"}[2m]) == 0", timeout: 2)
            #expect(zeroAt <= last.elapsed + 2 * 0.25 + 0.5, "zero at \(zeroAt)s; evidence last impaired at \(last.elapsed)s: \(last.decision.detail)")
        } else {
            let held = trace.last { $0.decision.desired != 0 }?.decision.detail ?? ""
            #expect(zeroAt <= 3 + 2 * 0.25 + 0.5, "zero at \(zeroAt)s; last hold: \(held)")  // retention + 2 ticks, with scheduling slack
        }
        #expect(trace.last?.decision.reason == .idle)
    }

    /// A decision held for want of whole evidence: a signal unknown, or the requests window not
    /// holding R (reset, ended series, or fewer seconds than R stored).
    static func evidenceImpaired(_ decision: Decision) -> Bool {
        decision.reason == .hold || decision.detail.contains("no zero before")
    }

    /// Spec §5 step 3: R is measured from the last request. The recommender observes the model
    /// while it serves; once the last request completes at t, zero comes at t + R (plus at most one
    /// scrape and one tick), never before, and never at t + 2R.
    @Test func retentionIsMeasuredFromTheLastRequest() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let exporter = try await TestExporter(prometheus: prometheus, name: "lastreq")
        let labels = "namespace=\"lastreq\",model_name=\"org/last\",pod=\"p0\",finished_reason=\"stop\""
        exporter.vllmPod(namespace: "lastreq", model: "org/last")
        exporter.grow("vllm:request_success_total", labels, by: 1)
        try await waitForSeries(prometheus, "increase(vllm:request_success_total{model_name=\"org/last\"}[4s]) > 0")
        let rig = try await Rig(prometheusURL: prometheus.url, config: ["default": enabled("4s")])
        // Serving for 6 s: the observation is established before the last request.
        let busy = try await rig.trace("lastreq", "org/last", for: 6)
        #expect(busy.allSatisfy { $0.decision.desired == 1 })
        // The last request: the counter stops growing now (its last step landed at the last scrape).
        let lastRequest = try #require(exporter.stopGrowing("vllm:request_success_total", labels))
        let start = Date()
        let trace = try await rig.trace("lastreq", "org/last", every: 0.2, for: 12) { $0.desired == 0 }
        let zeroAt = try #require(trace.first { $0.decision.desired == 0 }?.elapsed)
        let afterLast = start.timeIntervalSince(lastRequest) + zeroAt
        #expect(afterLast >= 4 - 0.1, "zero \(afterLast)s after the last request, retention 4s")
        #expect(afterLast <= 4 + 1 + 0.2 + 0.6, "zero \(afterLast)s after the last request: not R + one scrape + one tick")
    }

    @Test func busyModelStaysUp() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let exporter = try await TestExporter(prometheus: prometheus, name: "busy")
        exporter.vllmPod(namespace: "busy", model: "org/busy", pod: "p0")
        exporter.vllmPod(namespace: "busy", model: "org/busy", pod: "p1")
        exporter.grow("vllm:request_success_total", "namespace=\"busy\",model_name=\"org/busy\",pod=\"p0\",finished_reason=\"stop\"", by: 1)
        try await waitForSeries(prometheus, "increase(vllm:request_success_total{model_name=\"org/busy\"}[3s]) > 0")
        // The requests window must hold the whole retention of samples, or the signal is unknown.
        try await waitForSeries(prometheus, "count_over_time(vllm:request_success_total{model_name=\"org/busy\",pod=\"p0\"}[4s]) >= 4")

        let rig = try await Rig(prometheusURL: prometheus.url, config: ["default": enabled("3s")])
        let trace = try await rig.trace("busy", "org/busy", for: 6)
        #expect(trace.count > 10)
        // Two lightly loaded replicas (KV-cache 10% each) would fit in one at the 80% target, but a
        // model never decided starts its scale-down window from the replicas it has: 2 for the
        // 60 s window, and never zero while requests complete.
        #expect(trace.allSatisfy { $0.decision.desired == 2 })
        #expect(trace.last?.decision.detail.contains("holding 2") == true)
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
        #expect(trace.last?.decision.detail.hasPrefix("scale-to-zero disabled") == true)
    }

    @Test(arguments: ["llm_d_epp_flow_control_queue_size", "inference_extension_flow_control_queue_size"], Backend.allCases)
    func queuedGatewayDemandWakesAModelAtZero(metric: String, backend: Backend) async throws {
        let prometheus = try await SharedPrometheus.instance.get(backend)
        let model = "org/sleeper-\(metric.prefix(4))"
        let exporter = try await TestExporter(prometheus: prometheus, name: "demand-\(metric.prefix(4))")
        let rig = try await Rig(
            prometheusURL: prometheus.url,
            config: ["sleeper": "model_id: \(model)\nnamespace: demand\nenable_scale_to_zero: true\nretention_period: 3s\n"])
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
            config: ["default": enabled("3s"), "zero": "model_id: org/zero\nnamespace: out\n"], attempts: 1)
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
        // 6 signals + 2 distinct retention periods (5m, 1m), whatever the number of models: within
        // the bar of spec §10 (distinct retentions + 6).
        #expect(counts == [1: 8, 10: 8, 100: 8])
    }
}

/// No zero without a wake path (spec §5 step 3), end to end through a real Prometheus.
@Suite(.serialized)
struct WakePathTests {
    @Test func anIdleModelTheGatewayNeverRoutedStaysUpAndSaysWhy() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let exporter = try await TestExporter(prometheus: prometheus, name: "nopath")
        exporter.vllmPod(namespace: "nopath", model: "org/orphan", gateway: false)
        exporter.vllmPod(namespace: "nopath", model: "org/api-only", gateway: false)
        try await waitForSeries(prometheus, "count(vllm:num_requests_running{namespace=\"nopath\"}) == 2")
        let rig = try await Rig(prometheusURL: prometheus.url, config: [
            "default": enabled("3s"),
            "api": "model_id: org/api-only\nnamespace: nopath\nwake_path: api\n",
        ])
        // Until it is held (R = 3 s of evidence; longer when the machine is busy), at most 20 s.
        let orphan = try await rig.trace("nopath", "org/orphan", for: 20) { $0.reason == .noWakePath }
        #expect(orphan.allSatisfy { $0.decision.desired == 1 })
        #expect(orphan.last?.decision.reason == .noWakePath)
        #expect(orphan.last?.decision.wakePath == WakePathStatus.none)
        #expect(orphan.last?.decision.detail.contains("no wake path") == true)
        // Declared wake_path: api, the same idle model goes to zero.
        #expect(await rig.decision("nopath", "org/api-only")?.desired == 0)
        let metrics = await rig.engine.renderMetrics()
        #expect(metrics.contains("recommender_model_wake_path{namespace=\"nopath\",model_name=\"org/orphan\",path=\"none\"} 1"))
        #expect(metrics.contains("recommender_model_wake_path{namespace=\"nopath\",model_name=\"org/api-only\",path=\"api\"} 1"))
        #expect((await rig.engine.readiness()).detail.contains { $0.hasPrefix("wake path: 1 idle model(s) held") })
    }

    /// Flow control off: a request for a model at zero is rejected at once and nothing is queued;
    /// only the gateway's request counter moves. It wakes the model within 2 ticks + 1 scrape.
    @Test func requestsRejectedAtZeroWakeTheModelThroughTheGatewayCounter() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let exporter = try await TestExporter(prometheus: prometheus, name: "noflow")
        let model = "org/noflow"
        let rig = try await Rig(prometheusURL: prometheus.url, config: [
            "m": "model_id: \(model)\nnamespace: noflow\nenable_scale_to_zero: true\nretention_period: 3s\n",
        ])
        try await rig.putToSleep(exporter, prometheus, namespace: "noflow", models: [model])
        #expect(await rig.decision("noflow", model)?.desired == 0)
        for _ in 0..<4 { await rig.tick() }  // at zero for a while: the counter is flat, nothing wakes
        #expect(await rig.decision("noflow", model)?.desired == 0)

        exporter.gatewayRequests(model, 1)  // one rejected request
        let start = Date()
        let trace = try await rig.trace("noflow", model, every: 0.25, for: 6) { $0.desired >= 1 }
        let wokeAfter = Date().timeIntervalSince(start)
        #expect(trace.last?.decision.desired == 1)
        #expect(trace.last?.decision.reason == .wake)
        #expect(trace.last?.decision.detail.hasPrefix("gateway requests") == true)
        #expect(wokeAfter <= 2 * 0.25 + 1 + 0.5, "woke \(wokeAfter)s after the request")
    }
}
