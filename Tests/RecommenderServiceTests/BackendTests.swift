import Foundation
import Testing
import PrometheusClient
@testable import RecommenderService

/// What differs between the backends, measured on the real servers (Debian's `prometheus` and
/// `victoria-metrics` 1.79); `docs/backends.md` explains each difference.
@Suite(.serialized)
struct BackendTests {
    /// Seconds until `query` first returns a series through `client`, or nil within `timeout`.
    func secondsUntilVisible(_ client: PrometheusClient, _ query: String, timeout: Double) async throws -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if let samples = try? await client.query(query), !samples.isEmpty { return Date().timeIntervalSince(start) }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    @Test func victoriaMetricsAnswersAtNowOnlyWithTheDefaultNocacheParameter() async throws {
        let server = try await SharedPrometheus.instance.get(.victoriaMetrics)
        let exporter = try await TestExporter(prometheus: server, name: "latency-offset")
        let current = PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: server.url)))
        let delayed = PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: server.url, parameters: [])))
        #expect(PrometheusConnection.defaultParameters.map { "\($0.0)=\($0.1)" } == ["nocache=1"])

        // A value that changes on an existing series, as the gateway queue does at a wake.
        exporter.set("rr_probe_queue", "case=\"offset\"", 0)
        _ = try #require(try await secondsUntilVisible(current, "rr_probe_queue{case=\"offset\"} == 0", timeout: 15))
        exporter.set("rr_probe_queue", "case=\"offset\"", 3)
        async let withoutParameters = secondsUntilVisible(delayed, "rr_probe_queue{case=\"offset\"} == 3", timeout: 8)
        let withDefault = try #require(try await secondsUntilVisible(current, "rr_probe_queue{case=\"offset\"} == 3", timeout: 8))
        #expect(withDefault <= 3, "one scrape and VictoriaMetrics' ingestion buffer")
        // Without nocache=1, VictoriaMetrics evaluates an instant query at now - -search.latencyOffset (30 s).
        #expect(try await withoutParameters == nil)
    }

    @Test(arguments: Backend.allCases)
    func demandOnAGatewaySeriesNeverSeenBeforeWakesWithinTheBackendsNewSeriesDelay(backend: Backend) async throws {
        let prometheus = try await SharedPrometheus.instance.get(backend)
        let model = "org/first-demand"
        let exporter = try await TestExporter(prometheus: prometheus, name: "first-demand")
        let rig = try await Rig(
            prometheusURL: prometheus.url,
            config: ["m": "model_id: \(model)\nnamespace: first\nenable_scale_to_zero: true\nretention_period: 1s\n"])
        try await rig.putToSleep(exporter, prometheus, namespace: "first", models: [model])
        #expect(await rig.decision("first", model)?.desired == 0)

        // The first request ever routed to this model: the gateway creates its queue series now.
        exporter.set("llm_d_epp_flow_control_queue_size", "target_model_name=\"\(model)\"", 1)
        let start = Date()
        let up = try await rig.trace("first", model, for: 15) { $0.desired >= 1 }
        let wokeAfter = Date().timeIntervalSince(start)
        #expect(up.last?.decision.desired == 1)
        // Prometheus: 2 ticks + 1 scrape. VictoriaMetrics 1.79 shows a new series to a query it has
        // answered before only after up to ~10 s more (its per-filter series lookup is cached).
        let bound = backend == .prometheus ? 2 * 0.25 + 1 + 1 : 2 * 0.25 + 1 + 1 + 10
        #expect(wokeAfter <= bound, "\(backend): woke after \(wokeAfter) s")
    }
}
