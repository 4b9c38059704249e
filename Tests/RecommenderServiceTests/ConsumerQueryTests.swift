import Foundation
import Logging
import Testing
import Yams
import ModelConfig
import PrometheusClient
@testable import RecommenderService

/// The queries KEDA and prometheus-adapter run, taken from the shipped examples, against a real
/// Prometheus scraping running recommenders.
struct ConsumerQueryTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func example(_ name: String) throws -> Any? {
        try Yams.load(yaml: String(contentsOfFile: Self.root + "/config/integrations/" + name, encoding: .utf8))
    }

    func kedaQuery(_ name: String) throws -> String {
        let object = try example(name) as? [String: Any]
        let trigger = ((object?["spec"] as? [String: Any])?["triggers"] as? [[String: Any]])?.first
        return try #require((trigger?["metadata"] as? [String: Any])?["query"] as? String)
    }

    @Test func exampleQueriesReturnExactlyOneSeriesWithTheRecommendation() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let directory = NSTemporaryDirectory() + "rr-consumers-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "model_id: meta/llama-3.1-8b\nnamespace: llm-inference\nvariant_name: llama-8b-autoscaler\nenable_scale_to_zero: false\n"
            .write(toFile: directory + "/seed", atomically: true, encoding: .utf8)
        try "model_id: org/llama-8b\nnamespace: llm-inference\nvariant_name: llama-8b\nenable_scale_to_zero: false\nmin_replicas: 2\n"
            .write(toFile: directory + "/example", atomically: true, encoding: .utf8)

        var servers: [Task<Void, any Error>] = []
        defer { servers.forEach { $0.cancel() } }
        func start(_ name: String) throws {
            var configuration = ServerConfiguration(configPath: directory, prometheusURL: prometheus.url)
            configuration.host = "127.0.0.1"
            configuration.port = try freePort()
            configuration.interval = .milliseconds(500)
            servers.append(startServer(configuration))
            try prometheus.addTarget(port: configuration.port, name: name)
        }
        let client = PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: prometheus.url)))

        // One replica: the seed guide's ScaledObject works as written.
        try start("consumers-a")
        try await waitForSeries(prometheus, "inferno_desired_replicas{variantautoscaling_name=\"llama-8b-autoscaler\"}", timeout: 20)
        let seed = try await client.query(try kedaQuery("keda-scaledobject-seed.yaml"))
        #expect(seed.map(\.value) == [1])

        // Two replicas (HA): each exports the same series; the examples fold them into one.
        try start("consumers-b")
        try await waitForSeries(prometheus, "inferno_desired_replicas{variantautoscaling_name=\"llama-8b\"}", count: 2, timeout: 20)
        let keda = try await client.query(try kedaQuery("keda-scaledobject.yaml"))
        #expect(keda.map(\.value) == [2])

        let adapter = try example("prometheus-adapter-values.yaml") as? [String: Any]
        let rule = try #require(((adapter?["rules"] as? [String: Any])?["external"] as? [[String: Any]])?.first)
        let template = try #require(rule["metricsQuery"] as? String)
        // What prometheus-adapter sends for an HPA in llm-inference selecting variantautoscaling_name=llama-8b
        // (the metric selector's matchers, then the namespace label's: pkg/naming/metrics_query.go BuildExternal).
        let query = template
            .replacingOccurrences(of: "<<.Series>>", with: "inferno_desired_replicas")
            .replacingOccurrences(of: "<<.LabelMatchers>>", with: #"variantautoscaling_name="llama-8b",variantautoscaling_namespace="llm-inference""#)
        let samples = try await client.query(query)
        #expect(samples.count == 1)
        #expect(samples.first?.value == 2)
        #expect(samples.first?.labels == ["variantautoscaling_namespace": "llm-inference", "variantautoscaling_name": "llama-8b"])

        // Without max(), the seed's query now returns two series: KEDA would fail on it.
        #expect(try await client.query(try kedaQuery("keda-scaledobject-seed.yaml")).count == 2)
    }
}
