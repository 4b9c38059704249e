import Foundation
import Logging
import ModelConfig
import PrometheusClient
import Recommendation
@testable import RecommenderService

/// The recommender wired to a real Prometheus, ticked by the test.
final class Rig: Sendable {
    let engine: Engine
    let loop: TickLoop
    let watcher: ConfigWatcher
    let configDirectory: String
    let collector: SignalCollector

    init(prometheusURL: String, config: [String: String], options: EngineOptions = EngineOptions(), attempts: Int = 2) async throws {
        configDirectory = NSTemporaryDirectory() + "rr-cm-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: configDirectory, withIntermediateDirectories: true)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        engine = Engine(options: options, logger: logger)
        let client = PrometheusClient(
            transport: CurlTransport(connection: PrometheusConnection(url: prometheusURL, timeoutSeconds: 2)),
            retry: RetryPolicy(attempts: attempts, initialBackoff: .milliseconds(50)))
        collector = SignalCollector(client: client, queries: QueryBuilder(scrapeInterval: ConfigDuration(seconds: 1)))
        loop = TickLoop(engine: engine, collector: collector, clock: SystemTime(), interval: .seconds(1), recoveryWindow: ConfigDuration(seconds: 3600))
        watcher = ConfigWatcher(path: configDirectory, engine: engine, clock: SystemTime(), pollInterval: .milliseconds(100))
        try write(config)
        await watcher.load()
    }

    /// Replaces the ConfigMap volume's files (one per key).
    func write(_ config: [String: String]) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: configDirectory) {
            try FileManager.default.removeItem(atPath: configDirectory + "/" + name)
        }
        for (key, text) in config { try text.write(toFile: configDirectory + "/" + key, atomically: true, encoding: .utf8) }
    }

    func tick() async { await loop.tickOnce() }

    deinit { try? FileManager.default.removeItem(atPath: configDirectory) }

    func decision(_ namespace: String, _ model: String) async -> Decision? {
        await engine.decision(for: ModelKey(namespace: namespace, modelID: model))
    }

    /// Ticks every `every` seconds for at most `seconds`, recording (elapsed, decision) of one model,
    /// until `stop` holds.
    func trace(_ namespace: String, _ model: String, every: Double = 0.25, for seconds: Double,
               until stop: (Decision) -> Bool = { _ in false }) async throws -> [(elapsed: Double, decision: Decision)] {
        let start = Date()
        var points: [(Double, Decision)] = []
        while Date().timeIntervalSince(start) < seconds {
            await tick()
            if let decision = await decision(namespace, model) {
                points.append((Date().timeIntervalSince(start), decision))
                if stop(decision) { break }
            }
            try await Task.sleep(for: .milliseconds(Int(every * 1000)))
        }
        return points
    }
}

extension Rig {
    /// Brings models to zero the way it happens for real: one idle replica reports metrics until
    /// the recommendation is 0, then its series disappear (KEDA scaled it away).
    func putToSleep(_ exporter: TestExporter, _ prometheus: PrometheusServer, namespace: String, models: [String], within seconds: Double = 12) async throws {
        for model in models { exporter.vllmPod(namespace: namespace, model: model) }
        for model in models {
            try await waitForSeries(prometheus, "vllm:num_requests_running{namespace=\"\(namespace)\",model_name=\"\(model)\"}")
        }
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            await tick()
            var all = true
            for model in models where await decision(namespace, model)?.desired != 0 { all = false }
            if all { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        for model in models {
            exporter.removePod(namespace: namespace, model: model)
            try await waitForSeries(prometheus, "vllm:num_requests_running{namespace=\"\(namespace)\",model_name=\"\(model)\"}", count: 0)
        }
    }
}

/// Waits until Prometheus returns `count` series for `query`.
func waitForSeries(_ prometheus: PrometheusServer, _ query: String, count: Int = 1, timeout: Double = 15) async throws {
    let client = PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: prometheus.url)))
    try await waitUntil(timeout: timeout) { (try? await client.query(query).count) == count }
}

/// Model ConfigMap text enabling scale-to-zero with a retention.
func enabled(_ retention: String) -> String { "enable_scale_to_zero: true\nretention_period: \(retention)\n" }

/// Runs a whole recommender server in this process (no signal handling); cancel the task to stop it.
func startServer(_ configuration: ServerConfiguration) -> Task<Void, any Error> {
    var logger = Logger(label: "server")
    logger.logLevel = .critical
    let server = RecommenderServer(configuration: configuration, logger: logger)
    return Task { try await server.run(signals: false) }
}
