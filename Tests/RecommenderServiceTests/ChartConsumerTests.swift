import Foundation
import Testing
import Yams
import ModelConfig
import PrometheusClient
@testable import RecommenderService

/// The queries in the objects the Helm chart generates, run against a real Prometheus scraping two
/// running recommenders and a gateway exporter: one series each, the values KEDA and the HPA act
/// on, and `explain --consumer` printing the same queries and values.
struct ChartConsumerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let namespace = "chart-consumers"
    static let model = "chart/llama-3.1-8b"

    /// Runs a tool (helm from .tools/bin, or a built executable) and returns its status and output.
    func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = Self.root + "/.tools/bin:" + (environment["PATH"] ?? "/usr/bin:/bin")
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The chart's ScaledObject and HPA for the test model, rendered by helm.
    func renderedObjects() throws -> (scaledObject: [String: Any], hpa: [String: Any]) {
        let values = NSTemporaryDirectory() + "rr-chart-consumers-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: values) }
        try """
            autoscaling:
              targets:
                - {name: llama, namespace: \(Self.namespace), model: \(Self.model), aliases: [chart-llama-lora], autoscaler: keda}
                - {name: llama-hpa, namespace: \(Self.namespace), model: \(Self.model), autoscaler: hpa}
            """.write(toFile: values, atomically: true, encoding: .utf8)
        let (status, output) = try run("helm", ["template", "rr", Self.root + "/charts/replica-recommender", "-f", values])
        try #require(status == 0, "\(output)")
        var scaledObject: [String: Any]?
        var hpa: [String: Any]?
        for document in try Yams.load_all(yaml: output) {
            guard let object = document as? [String: Any] else { continue }
            if object["kind"] as? String == "ScaledObject" { scaledObject = object }
            if object["kind"] as? String == "HorizontalPodAutoscaler" { hpa = object }
        }
        return (try #require(scaledObject), try #require(hpa))
    }

    func triggerQuery(_ scaledObject: [String: Any], _ name: String) throws -> String {
        let triggers = (scaledObject["spec"] as? [String: Any])?["triggers"] as? [[String: Any]] ?? []
        let trigger = triggers.first { $0["name"] as? String == name }
        return try #require((trigger?["metadata"] as? [String: Any])?["query"] as? String)
    }

    @Test func chartQueriesReturnOneSeriesWithTheValuesConsumersActOn() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let client = PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: prometheus.url)))
        let directory = NSTemporaryDirectory() + "rr-chart-consumers-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "model_id: \(Self.model)\nnamespace: \(Self.namespace)\nenable_scale_to_zero: false\nmin_replicas: 2\n"
            .write(toFile: directory + "/llama", atomically: true, encoding: .utf8)

        let (scaledObject, hpa) = try renderedObjects()
        let variant = ConfigResolver.derivedVariantName(Self.model)
        let recommendation = try triggerQuery(scaledObject, "recommendation")
        let demand = try triggerQuery(scaledObject, "gateway-demand")
        // The CLI's queries are the chart's.
        #expect(recommendation == ConsumerQueries.kedaRecommendation(variant: variant, namespace: Self.namespace))
        #expect(demand == ConsumerQueries.kedaDemand(names: [Self.model, "chart-llama-lora"], namespace: Self.namespace))
        let selector = ((((hpa["spec"] as? [String: Any])?["metrics"] as? [[String: Any]])?.first?["external"] as? [String: Any])?["metric"] as? [String: Any])?["selector"]
        #expect(((selector as? [String: Any])?["matchLabels"] as? [String: Any])?["variantautoscaling_name"] as? String == variant)

        // A gateway series for a model whose id differs only where the chart's regex escapes a dot.
        let gateway = try await TestExporter(prometheus: prometheus, name: "chart-gateway")
        gateway.set("llm_d_epp_flow_control_queue_size", #"target_model_name="chart/llama-3X1-8b""#, 100)

        var servers: [Task<Void, any Error>] = []
        defer { servers.forEach { $0.cancel() }; gateway.stop() }
        for name in ["chart-consumers-a", "chart-consumers-b"] {
            var configuration = ServerConfiguration(configPath: directory, prometheusURL: prometheus.url)
            configuration.host = "127.0.0.1"
            configuration.port = try freePort()
            configuration.interval = .milliseconds(500)
            servers.append(startServer(configuration))
            try prometheus.addTarget(port: configuration.port, name: name)
        }
        try await waitForSeries(prometheus, "inferno_desired_replicas{variantautoscaling_name=\"\(variant)\",variantautoscaling_namespace=\"\(Self.namespace)\"}", count: 2, timeout: 20)
        try await waitForSeries(prometheus, #"llm_d_epp_flow_control_queue_size{target_model_name="chart/llama-3X1-8b"}"#)

        // KEDA's recommendation trigger: one series (two replicas folded), the recommendation.
        #expect(try await client.query(recommendation).map(\.value) == [2])
        // The demand trigger: one series, 0 without demand for this model (the decoy is not it).
        #expect(try await client.query(demand).map(\.value) == [0])
        // prometheus-adapter, with the shipped rule, for the chart's HPA: one series, the recommendation.
        let adapter = try Yams.load(yaml: String(contentsOfFile: Self.root + "/config/integrations/prometheus-adapter-values.yaml", encoding: .utf8)) as? [String: Any]
        let rule = try #require(((adapter?["rules"] as? [String: Any])?["external"] as? [[String: Any]])?.first)
        let adapterQuery = try #require(rule["metricsQuery"] as? String)
            .replacingOccurrences(of: "<<.Series>>", with: "inferno_desired_replicas")
            .replacingOccurrences(of: "<<.LabelMatchers>>", with: "variantautoscaling_name=\"\(variant)\",variantautoscaling_namespace=\"\(Self.namespace)\"")
        #expect(adapterQuery == ConsumerQueries.adapter(variant: variant, namespace: Self.namespace))
        #expect(try await client.query(adapterQuery).map(\.value) == [2])

        // explain --consumer prints the same queries and what they return now.
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("replica-recommender").path
        let keda = [
            "explain", "--config", directory, "--model", Self.model, "--namespace", Self.namespace, "--consumer", "keda",
            "--alias", "chart-llama-lora", "--prometheus-url", prometheus.url,
        ]
        let (status, text) = try await offPool { try self.run(binary, keda) }
        #expect(status == 0, "\(text)")
        #expect(text.contains(recommendation) && text.contains(demand), "\(text)")
        #expect(text.contains("now: 2: 2 replica(s), active"), "\(text)")
        #expect(text.contains("now: 0: inactive"), "\(text)")
        let hpaArguments = [
            "explain", "--config", directory, "--model", Self.model, "--namespace", Self.namespace, "--consumer", "hpa",
            "--prometheus-url", prometheus.url, "--json",
        ]
        let (hpaStatus, hpaText) = try await offPool { try self.run(binary, hpaArguments) }
        #expect(hpaStatus == 0, "\(hpaText)")
        let report = try JSONSerialization.jsonObject(with: Data(hpaText.utf8)) as? [String: Any]
        let hpaQuery = (report?["queries"] as? [[String: Any]])?.first
        #expect(report?["variant_name"] as? String == variant)
        #expect(hpaQuery?["query"] as? String == adapterQuery)
        #expect(hpaQuery?["value"] as? Double == 2)

        // Requests queue for the model: the demand trigger turns active.
        gateway.set("llm_d_epp_flow_control_queue_size", #"target_model_name="chart/llama-3.1-8b""#, 3)
        try await waitUntil(timeout: 15) { (try? await client.query(demand).map(\.value)) == [3] }
        // No flow control: requests counted under an alias wake it just the same.
        gateway.remove("llm_d_epp_flow_control_queue_size", #"target_model_name="chart/llama-3.1-8b""#)
        gateway.grow("inference_objective_request_total", #"model_name="chart-llama-lora",target_model_name="chart-llama-lora""#, by: 1)
        try await waitUntil(timeout: 20) {
            guard let values = try? await client.query(demand).map(\.value) else { return false }
            return values.count == 1 && values[0] > 0
        }
    }
}
