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
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// With the endpoint picker's flow control on (requests wait in its queue at zero) and off
    /// (rejected at once, only its request counter moves, the client retries after 30 s), on
    /// Prometheus; and with flow control on VictoriaMetrics.
    @Test(arguments: zip([true, false, true], [Backend.prometheus, .prometheus, .victoriaMetrics]))
    func compressedScenarioIdlesWakesServesAndProtects(flowControl: Bool, backend: Backend) async throws {
        let prometheus = try await PrometheusServer(backend: backend)
        let directory = prometheus.directory
        let scenario = """
            flow_control: \(flowControl)
            retry_after: 30s
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
            "--listen", "127.0.0.1:\(recommenderPort)", "--interval", "1s", "--scrape-interval", "1s",
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

        let decisions = ((try? String(contentsOfFile: directory + "/recommender.log", encoding: .utf8)) ?? "")
            .split(separator: "\n").filter { $0.contains("decision changed") }.joined(separator: "\n")
        if flowControl {
            // The idle model reached zero (the EPP's queue series proves the gateway routes it).
            #expect(try await minimum("e2e/idle") == 0)
            #expect(try #require(byModel["e2e/idle"]).zero_seconds > 0)
        } else {
            // Without flow control the gateway has no series for a model it never received a
            // request for: nothing could bring it back, so it is held at 1 and says why.
            #expect(try await minimum("e2e/idle") == 1)
            #expect(try #require(byModel["e2e/idle"]).zero_seconds == 0)
            let held = decisions.split(separator: "\n").contains { $0.contains("model=e2e/idle") && $0.contains("reason=no_wake_path") }
            #expect(held, "decisions:\n\(decisions)")
        }
        #expect(try #require(try await minimum("e2e/busy")) >= 1, "decisions:\n\(decisions)")
        #expect(try await minimum("e2e/protected") == 1)
        #expect(try #require(byModel["e2e/protected"]).zero_seconds == 0)
        #expect(try #require(byModel["e2e/busy"]).zero_seconds == 0)

        // The bursty model went to zero between bursts, woke on gateway demand (the queue, or the
        // request counter of rejected requests) and served everything.
        let bursty = try #require(byModel["e2e/bursty"])
        #expect(bursty.zero_seconds > 0)
        #expect(bursty.cold_starts >= 1)
        #expect(bursty.waited > 0)
        #expect(bursty.served > 0)
        #expect(reports.allSatisfy { $0.dropped == 0 })

        // No request waited longer than the cold start + 2 ticks + 1 scrape + 1 KEDA-style poll
        // (+ 2 s of scheduling slack: one real second is a scenario minute, and a loaded 2-core
        // machine ran 0.1 s over a 1 s slack), in scenario seconds; without flow control, plus
        // the client's retry interval (its first attempt was rejected). The wake latency itself is
        // a benchmark figure (`Benchmarks/activation-latency.py`).
        let bound = 180.0 + (2 * 1 + 1 + 1 + 2) * 60 + (flowControl ? 0 : 30)
        for report in reports {
            #expect(report.wait_max_seconds <= bound, "\(report.model) waited \(report.wait_max_seconds) scenario seconds")
        }
    }

    /// Spec §5 step 4 end to end: sized by saturation, a model over-provisioned for its light load
    /// comes down one step per stabilization window to the size that fits; a saturated one goes up
    /// in one step to enough replicas; a rolling update (a surge pod reporting metrics) of a steady
    /// model never raises its recommendation.
    @Test func saturationSizingComesDownStepsUpAndIgnoresSurgePods() async throws {
        let prometheus = try await PrometheusServer()
        let directory = prometheus.directory
        let scenario = """
            time_scale: 60
            cold_start: 1m
            service_time: 10s
            replica_concurrency: 8
            seed: 5
            models:
              - {id: sat/over, namespace: sat, initial_replicas: 4, traffic: {kind: constant, rate: 0.2}}
              - {id: sat/hot, namespace: sat, initial_replicas: 1, traffic: {kind: constant, rate: 3}}
              - {id: sat/steady, namespace: sat, initial_replicas: 2, rollout_at: 8m, traffic: {kind: constant, rate: 0.8}}
            """
        try scenario.write(toFile: directory + "/scenario.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: directory + "/models", withIntermediateDirectories: true)
        try "enable_scale_to_zero: false\nmax_replicas: 8\n".write(toFile: directory + "/models/default", atomically: true, encoding: .utf8)
        // The steady model is kept at 2 (min_replicas) so that the rollout's surge pod makes 3.
        try "model_id: sat/steady\nnamespace: sat\nmin_replicas: 2\n".write(toFile: directory + "/models/steady", atomically: true, encoding: .utf8)

        let recommenderPort = try freePort(), simulatorPort = try freePort()
        let recommender = try launch(try binary("replica-recommender"), [
            "serve", "--config", directory + "/models", "--prometheus-url", prometheus.url,
            "--listen", "127.0.0.1:\(recommenderPort)", "--interval", "1s", "--scrape-interval", "1s",
            "--scale-down-stabilization", "4s",
        ], log: directory + "/recommender.log")
        defer { recommender.terminate() }
        try prometheus.addTarget(port: recommenderPort, name: "sat-recommender")
        try prometheus.addTarget(port: simulatorPort, name: "sat-simulator")
        let duration = 30.0
        let simulatorStart = Date()
        let simulator = try launch(try binary("vllm-sim"), [
            "--scenario", directory + "/scenario.yaml", "--listen", "127.0.0.1:\(simulatorPort)",
            "--prometheus-url", prometheus.url, "--follow-interval", "1", "--duration", "\(duration)",
            "--report", directory + "/report.json",
        ], log: directory + "/simulator.log")
        try await waitUntil(timeout: duration + 30) { !simulator.isRunning }
        #expect(simulator.terminationStatus == 0)

        // Every change of each model's recommendation, in order, from the decision log.
        let log = (try? String(contentsOfFile: directory + "/recommender.log", encoding: .utf8)) ?? ""
        var changes: [String: [(previous: Int?, desired: Int, at: Date)]] = [:]
        let timestamps = ISO8601DateFormatter()
        timestamps.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for line in log.split(separator: "\n") where line.contains("decision changed") {
            func field(_ name: String) -> String? {
                line.split(separator: " ").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
            }
            guard let model = field("model"), let desired = field("desired").flatMap({ Int($0) }),
                  let at = field("ts").flatMap({ timestamps.date(from: $0) }) else { continue }
            changes[model, default: []].append((field("previous").flatMap { Int($0) }, desired, at))
        }
        let decisionLines = log.split(separator: "\n").filter { $0.contains("decision changed") }.joined(separator: "\n")
        let context: Comment = "decisions:\n\(decisionLines)"

        // Light load on 4 replicas (about 2 requests in flight): down to 1, one step at a time.
        let over = try #require(changes["sat/over"], context)
        #expect(over.last?.desired == 1, context)
        #expect(over.dropFirst().allSatisfy { ($0.previous ?? 0) - $0.desired <= 1 }, context)
        // 30 requests in flight on one replica: up in one step to enough (≥ 4 at 8 per replica).
        let hot = try #require(changes["sat/hot"], context)
        let firstUp = try #require(hot.first { $0.desired > ($0.previous ?? 1) }, context)
        #expect(firstUp.desired >= 4, context)
        // A steady load, then a rolling update from scenario minute 8 (8 real seconds after the
        // simulator started): the surge pod never raises the recommendation above what the load
        // needed before it.
        let steady = try #require(changes["sat/steady"], context)
        let rolloutStart = simulatorStart.addingTimeInterval(8)
        let before = steady.filter { $0.at < rolloutStart }.map(\.desired).max() ?? 0
        #expect(before >= 2, context)
        #expect(steady.filter { $0.at >= rolloutStart }.allSatisfy { $0.desired <= before }, context)
        let reports = try JSONDecoder().decode([RolloutReport].self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/report.json")))
        let steadyReport = try #require(reports.first { $0.model == "sat/steady" })
        #expect(steadyReport.rollouts == 1)
        #expect(steadyReport.peak_replicas == 3, context)  // the surge pod was there and reported metrics
    }

    struct RolloutReport: Decodable {
        let model: String
        let rollouts: Int
        let peak_replicas: Int
    }
}
