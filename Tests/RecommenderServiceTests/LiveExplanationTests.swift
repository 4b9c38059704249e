import Foundation
import Testing
import ModelConfig
import PrometheusClient
import Recommendation
@testable import RecommenderService

struct LiveExplanationTests {
    @Test func explainWithPrometheusShowsLiveSignalsAndDecision() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let exporter = try await TestExporter(prometheus: prometheus, name: "explain")
        exporter.vllmPod(namespace: "ex", model: "org/explained", running: 3, waiting: 2)
        exporter.vllmPod(namespace: "ex", model: "org/explained", pod: "p1", running: 1)
        try await waitForSeries(prometheus, "vllm:num_requests_running{model_name=\"org/explained\"}", count: 2)

        let set = ModelConfigSet.build(entries: [RawEntry(key: "e", text: "model_id: org/explained\ntarget_concurrency: 2\nmax_replicas: 8\n", location: EntryLocation(file: "e"))], previous: nil)
        let resolver = ConfigResolver(config: set, environmentScaleToZero: true)
        let collector = SignalCollector(
            client: PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: prometheus.url))), queries: QueryBuilder())
        // What explain shows when the data is there: on a starved machine a scrape of the
        // exporter can time out and its series go stale for a moment, so probe again (up to 20 s)
        // until both pods are answered.
        var live = await LiveExplanation.probe(
            resolved: resolver.resolve(ModelKey(namespace: "ex", modelID: "org/explained")), resolver: resolver, killSwitchFlag: false,
            collector: collector, recoveryWindow: ConfigDuration(seconds: 3600), now: SystemTime().now())
        for _ in 0..<20 where live.signals.ready != 2 {
            try await Task.sleep(for: .seconds(1))
            live = await LiveExplanation.probe(
                resolved: resolver.resolve(ModelKey(namespace: "ex", modelID: "org/explained")), resolver: resolver, killSwitchFlag: false,
                collector: collector, recoveryWindow: ConfigDuration(seconds: 3600), now: SystemTime().now())
        }
        withExtendedLifetime(exporter) {}
        #expect(live.errors.isEmpty)
        #expect(live.decision.desired == 3)  // ceil((4 running + 2 waiting) / 2)
        #expect(live.decision.reason == .active)

        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let object = try JSONSerialization.jsonObject(with: encoder.encode(live)) as! [String: Any]
        #expect(object["model_id"] as? String == "org/explained")
        #expect(object["enable_scale_to_zero"] as? Bool == true)
        #expect(object["retention_seconds"] as? Double == 600)
        #expect(object["promql_range"] as? String == "10m")
        #expect((object["sources"] as? [String: String])?["target_concurrency"] == "override:e")
        #expect(object["desired"] as? Int == 3)
        #expect((object["signals"] as? [String: Any])?["running"] as? Double == 4)
        #expect((object["signals"] as? [String: Any])?["ready"] as? Double == 2)
    }
}
