import Foundation
import Logging
import ModelConfig
import Recommendation
@testable import RecommenderService
import Testing

/// Reading the endpoint picker's queue directly, between Prometheus scrapes.
@Suite struct GatewayQueueScannerTests {
    static let page = """
        # HELP llm_d_epp_flow_control_queue_size Requests queued.
        # TYPE llm_d_epp_flow_control_queue_size gauge
        llm_d_epp_flow_control_queue_size{target_model_name="meta/llama-3.1-8b",model_name="meta/llama-3.1-8b",priority="0"} 2
        llm_d_epp_flow_control_queue_size{target_model_name="meta/llama-3.1-8b",model_name="meta/llama-3.1-8b",priority="1"} 1
        llm_d_epp_flow_control_queue_size{target_model_name="",model_name="org/by-model-name"} 4
        llm_d_epp_flow_control_queue_size{namespace="gw",target_model_name="org/\\"quoted\\"\\\\name"} 1
        llm_d_epp_flow_control_queue_size_bytes{target_model_name="org/other-family"} 100
        inference_extension_flow_control_queue_size{target_model_name="meta/llama-3.1-8b"} 50
        inference_extension_flow_control_queue_size{target_model_name="org/older-only"} 3 1700000000000
        inference_objective_request_total{target_model_name="org/counter"} 9
        go_goroutines 42
        llm_d_epp_flow_control_queue_size{target_model_name="org/not-a-number"} many
        llm_d_epp_flow_control_queue_size{target_model_name="org/empty"} 0
        """

    static let expected: [GatewayKey: Double] = [
        GatewayKey(namespace: nil, name: "meta/llama-3.1-8b"): 3,  // summed; the older name loses to the newer
        GatewayKey(namespace: nil, name: "org/by-model-name"): 4,
        GatewayKey(namespace: "gw", name: "org/\"quoted\"\\name"): 1,
        GatewayKey(namespace: nil, name: "org/older-only"): 3,
        GatewayKey(namespace: nil, name: "org/empty"): 0,
    ]

    @Test func scannerReadsTheQueueGaugesOnlyUnderTheDemandQuerysIdentity() {
        let (queued, malformed) = GatewayQueueScanner.scan(Array(Self.page.utf8))
        #expect(queued == Self.expected)
        #expect(malformed == 1)
    }

    @Test func scannerGivesTheSameAnswerWhereverTheBodyIsCut() {
        let body = Array(Self.page.utf8)
        for cut in stride(from: 1, to: body.count, by: 7) {
            var scanner = GatewayQueueScanner()
            scanner.feed(Array(body[..<cut]))
            scanner.feed(Array(body[cut...]))
            #expect(scanner.finish() == Self.expected, "cut at \(cut)")
        }
        var bytewise = GatewayQueueScanner()
        for byte in body { bytewise.feed([byte]) }
        #expect(bytewise.finish() == Self.expected)
    }

    @Test func scannerSkipsAnOverlongLineAndReadsTheNextOne() {
        let long = "llm_d_epp_flow_control_queue_size{target_model_name=\"" + String(repeating: "x", count: 20_000) + "\"} 1\n"
        let body = long + "llm_d_epp_flow_control_queue_size{target_model_name=\"org/after\"} 2\n"
        #expect(GatewayQueueScanner.scan(Array(body.utf8)).queued == [GatewayKey(namespace: nil, name: "org/after"): 2])
    }

    @Test func dnsTargetsAreNameColonPort() {
        #expect(GatewayPollingOptions.DNSTarget(parsing: "epp.gw.svc:9090") == .init(host: "epp.gw.svc", port: 9090))
        #expect(GatewayPollingOptions.DNSTarget(parsing: "epp.gw.svc") == nil)
        #expect(GatewayPollingOptions.DNSTarget(parsing: ":9090") == nil)
        #expect(GatewayPollingOptions.DNSTarget(parsing: "epp:0") == nil)
        #expect(GatewayPollingOptions.DNSTarget(parsing: "http://epp:9090") == nil)
    }
}

/// The poller against a real endpoint (the exporter Prometheus scrapes) and a real Prometheus.
@Suite(.serialized) struct GatewayPollingTests {
    static func poller(_ rig: Rig, urls: [String] = [], dns: [GatewayPollingOptions.DNSTarget] = []) -> GatewayPoller {
        var logger = Logger(label: "poller")
        logger.logLevel = .critical
        return GatewayPoller(
            options: GatewayPollingOptions(urls: urls, dnsTargets: dns, interval: .milliseconds(500), timeout: .seconds(1)),
            engine: rig.engine, clock: SystemTime(), logger: logger)
    }

    /// Runs `poller` every interval until cancelled.
    static func run(_ poller: GatewayPoller) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                await poller.pollOnce()
                try? await Task.sleep(for: poller.options.interval)
            }
        }
    }

    @Test func polledQueueWakesAModelAtZeroWithinASecondWithoutATick() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let model = "org/polled"
        let exporter = try await TestExporter(prometheus: prometheus, name: "polled")
        let rig = try await Rig(
            prometheusURL: prometheus.url,
            config: ["m": "model_id: \(model)\nnamespace: poll\nenable_scale_to_zero: true\nretention_period: 1s\n"])
        exporter.set("llm_d_epp_flow_control_queue_size", "target_model_name=\"\(model)\"", 0)
        try await rig.putToSleep(exporter, prometheus, namespace: "poll", models: [model])
        #expect(await rig.decision("poll", model)?.desired == 0)

        let polling = Self.run(Self.poller(rig, urls: ["http://127.0.0.1:\(exporter.port)/metrics"]))
        defer { polling.cancel() }
        try await Task.sleep(for: .milliseconds(700))  // a poll or two of an empty queue change nothing
        #expect(await rig.decision("poll", model)?.desired == 0)

        exporter.set("llm_d_epp_flow_control_queue_size", "target_model_name=\"\(model)\"", 2)
        let start = Date()
        try await waitUntil(timeout: 3) { await rig.decision("poll", model)?.desired == 1 }
        let wokeAfter = Date().timeIntervalSince(start)
        let decision = try #require(await rig.decision("poll", model))
        #expect(decision.reason == .wake)
        #expect(decision.detail == "gateway demand 2")
        // No tick runs here, so any wake is the poll's. The bound allows for a loaded 2-core CI
        // machine running the suite in parallel (1.6 s seen); the latency itself is a benchmark
        // figure (Benchmarks/activation-latency.py), not this test's.
        #expect(wokeAfter < 2.5, "woke after \(wokeAfter) s")
        let metrics = await rig.engine.renderMetrics()
        #expect(metrics.contains("recommender_gateway_poll_wakes_total 1\n"))
        #expect(metrics.contains("recommender_gateway_poll_errors_total 0\n"))
        #expect(metrics.contains("recommender_wakes_total 1\n"))

        // The Prometheus path agrees at the next tick, and the wake keeps the model up.
        await rig.tick()
        #expect(await rig.decision("poll", model)?.desired == 1)
    }

    @Test func polledDemandOnlyWakesAndNeverMovesAModelTowardZero() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let exporter = try await TestExporter(prometheus: prometheus, name: "polled-up")
        exporter.vllmPod(namespace: "pollup", model: "org/busy", running: 7)
        try await waitForSeries(prometheus, "vllm:num_requests_running{model_name=\"org/busy\"} == 7")
        let rig = try await Rig(
            prometheusURL: prometheus.url,
            config: ["m": "model_id: org/busy\nnamespace: pollup\nenable_scale_to_zero: true\nretention_period: 1s\ntarget_concurrency: 2\n"])
        await rig.tick()
        let before = try #require(await rig.decision("pollup", "org/busy"))
        #expect(before.desired == 4)
        exporter.set("llm_d_epp_flow_control_queue_size", "target_model_name=\"org/busy\"", 5)
        exporter.set("llm_d_epp_flow_control_queue_size", "target_model_name=\"org/nobody-knows\"", 5)
        let poller = Self.poller(rig, urls: ["http://127.0.0.1:\(exporter.port)/metrics"])
        let outcome = await poller.pollOnce()
        #expect(outcome.queued[GatewayKey(namespace: nil, name: "org/busy")] == 5)
        #expect(outcome.failures.isEmpty)
        // Above zero: nothing decided; a name nobody configured or saw: nothing adopted.
        #expect(await rig.decision("pollup", "org/busy") == before)
        #expect(await !rig.engine.recommendations().contains { $0.modelID == "org/nobody-knows" })
    }

    @Test func unreachablePollTargetIsCountedAndPrometheusStillWakes() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let model = "org/poll-down"
        let exporter = try await TestExporter(prometheus: prometheus, name: "poll-down")
        let rig = try await Rig(
            prometheusURL: prometheus.url,
            config: ["m": "model_id: \(model)\nnamespace: polldown\nenable_scale_to_zero: true\nretention_period: 1s\n"])
        exporter.set("llm_d_epp_flow_control_queue_size", "target_model_name=\"\(model)\"", 0)
        try await rig.putToSleep(exporter, prometheus, namespace: "polldown", models: [model])
        #expect(await rig.decision("polldown", model)?.desired == 0)

        let closed = try freePort()  // nothing listens there
        let poller = Self.poller(rig, urls: ["http://127.0.0.1:\(closed)/metrics"], dns: [.init(host: "no-such-epp.invalid", port: 9090)])
        exporter.set("llm_d_epp_flow_control_queue_size", "target_model_name=\"\(model)\"", 1)
        let outcome = await poller.pollOnce()
        #expect(outcome.failures.map(\.target).sorted() == ["http://127.0.0.1:\(closed)/metrics", "no-such-epp.invalid:9090"])
        #expect(await rig.decision("polldown", model)?.desired == 0)

        let up = try await rig.trace("polldown", model, for: 6) { $0.desired >= 1 }
        #expect(up.last?.decision.desired == 1)
        #expect(up.last?.decision.reason == .wake)
        let metrics = await rig.engine.renderMetrics()
        #expect(metrics.contains("recommender_gateway_poll_errors_total 2\n"))
        #expect(metrics.contains("recommender_gateway_poll_wakes_total 0\n"))
    }

    @Test func dnsTargetReadsEveryAddressOfTheName() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let model = "org/poll-dns"
        let exporter = try await TestExporter(prometheus: prometheus, name: "poll-dns")
        let rig = try await Rig(
            prometheusURL: prometheus.url,
            config: ["m": "model_id: \(model)\nnamespace: polldns\nenable_scale_to_zero: true\nretention_period: 1s\n"])
        exporter.set("llm_d_epp_flow_control_queue_size", "target_model_name=\"\(model)\"", 0)
        try await rig.putToSleep(exporter, prometheus, namespace: "polldns", models: [model])
        exporter.set("llm_d_epp_flow_control_queue_size", "target_model_name=\"\(model)\"", 1)
        // localhost resolves to 127.0.0.1 (and, on hosts with IPv6, ::1, where the exporter does not
        // listen: that address fails and is counted, the other one wakes the model).
        let outcome = await Self.poller(rig, dns: [.init(host: "localhost", port: exporter.port)]).pollOnce()
        #expect(outcome.targets >= 1)
        #expect(outcome.queued[GatewayKey(namespace: nil, name: model)] == 1)
        #expect(await rig.decision("polldns", model)?.desired == 1)
        #expect(await rig.decision("polldns", model)?.reason == .wake)
    }
}
