import Foundation
import Testing
import PrometheusClient

/// The whole product as a user runs it: the built `replica-recommender` and `vllm-sim` binaries,
/// a real Prometheus (or VictoriaMetrics) scraping both every second, and the simulator following the recommendation
/// the way KEDA would. A compressed scenario: one real second is one scenario minute.
struct EndToEndTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    struct Report: Decodable {
        let model: String
        let replica_seconds: Double
        let zero_seconds: Double
        let cold_starts: Int
        let arrived: Int
        let served: Int
        let dropped: Int
        let waited: Int
        let wait_max_seconds: Double
    }

    func binary(_ name: String) throws -> String {
        let path = Self.root + "/.build/debug/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("\(path) is not built (scripts/test builds it with `swift build --build-tests`)")
        }
        return path
    }

    func launch(_ path: String, _ arguments: [String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    @Test(arguments: Backend.allCases)
    func compressedScenarioIdlesWakesServesAndProtects(backend: Backend) async throws {
        let prometheus = try await PrometheusServer(backend: backend)
        let directory = prometheus.directory
        let scenario = """
            time_scale: 60
            cold_start: 3m
            service_time: 10s
            replica_concurrency: 8
            seed: 3
            models:
              - {id: e2e/busy, namespace: e2e, traffic: {kind: constant, rate: 1}}
              - {id: e2e/idle, namespace: e2e, traffic: {kind: silent}}
              - {id: e2e/bursty, namespace: e2e, traffic: {kind: bursts, rate: 1, on: 3m, off: 15m}}
              - {id: e2e/protected, namespace: e2e, traffic: {kind: silent}}
            """
        try scenario.write(toFile: directory + "/scenario.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: directory + "/models", withIntermediateDirectories: true)
        let entries = [
            "default": "enable_scale_to_zero: true\nretention_period: 4s\n",
            "busy": "model_id: e2e/busy\nnamespace: e2e\n",
            "idle": "model_id: e2e/idle\nnamespace: e2e\n",
            "bursty": "model_id: e2e/bursty\nnamespace: e2e\n",
            "protected": "model_id: e2e/protected\nnamespace: e2e\nenable_scale_to_zero: false\n",
        ]
        for (key, text) in entries { try text.write(toFile: directory + "/models/" + key, atomically: true, encoding: .utf8) }

        let recommenderPort = try freePort(), simulatorPort = try freePort()
        let recommender = try launch(try binary("replica-recommender"), [
            "serve", "--config", directory + "/models", "--prometheus-url", prometheus.url,
            "--listen", "127.0.0.1:\(recommenderPort)", "--interval", "1s",
        ], log: directory + "/recommender.log")
        defer { recommender.terminate() }
        try prometheus.addTarget(port: recommenderPort, name: "e2e-recommender")
        try prometheus.addTarget(port: simulatorPort, name: "e2e-simulator")

        let duration = 34.0
        let simulator = try launch(try binary("vllm-sim"), [
            "--scenario", directory + "/scenario.yaml", "--listen", "127.0.0.1:\(simulatorPort)",
            "--prometheus-url", prometheus.url, "--follow-interval", "1", "--duration", "\(duration)",
            "--report", directory + "/report.json",
        ], log: directory + "/simulator.log")
        try await waitUntil(timeout: duration + 30) { !simulator.isRunning }
        #expect(simulator.terminationStatus == 0, "vllm-sim: \((try? String(contentsOfFile: directory + "/simulator.log", encoding: .utf8)) ?? "")")

        let reports = try JSONDecoder().decode([Report].self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/report.json")))
        let byModel = Dictionary(uniqueKeysWithValues: reports.map { ($0.model, $0) })
        let client = PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: prometheus.url)))
        func minimum(_ model: String) async throws -> Double? {
            try await client.query("min_over_time(max by (model_name) (inferno_desired_replicas{model_name=\"\(model)\"})[5m:1s])").first?.value
        }

        // The idle model reached zero; the busy and protected ones never did.
        #expect(try await minimum("e2e/idle") == 0)
        #expect(try #require(byModel["e2e/idle"]).zero_seconds > 0)
        let decisions = ((try? String(contentsOfFile: directory + "/recommender.log", encoding: .utf8)) ?? "")
            .split(separator: "\n").filter { $0.contains("decision changed") }.joined(separator: "\n")
        #expect(try await minimum("e2e/busy") == 1, "decisions:\n\(decisions)")
        #expect(try await minimum("e2e/protected") == 1)
        #expect(try #require(byModel["e2e/protected"]).zero_seconds == 0)
        #expect(try #require(byModel["e2e/busy"]).zero_seconds == 0)

        // The bursty model went to zero between bursts, woke on gateway demand and served everything.
        let bursty = try #require(byModel["e2e/bursty"])
        #expect(bursty.zero_seconds > 0)
        #expect(bursty.cold_starts >= 1)
        #expect(bursty.waited > 0)
        #expect(bursty.served > 0)
        #expect(reports.allSatisfy { $0.dropped == 0 })

        // No request waited longer than the cold start + 2 ticks + 1 scrape + 1 KEDA-style poll
        // (+ 1 s of scheduling slack), in scenario seconds.
        let bound = 180.0 + (2 * 1 + 1 + 1 + 1) * 60
        for report in reports {
            #expect(report.wait_max_seconds <= bound, "\(report.model) waited \(report.wait_max_seconds) scenario seconds")
        }
    }
}
