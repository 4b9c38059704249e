import Foundation
import PrometheusClient
import Testing

/// Adaptive keep-alive and pre-warm end to end: the built `replica-recommender` and `vllm-sim`, a
/// real Prometheus scraping both every second, the simulator following the recommendation the way
/// KEDA would.
///
/// Learning a period takes five bursts at least ten minutes apart, and trusting a gap histogram
/// eight gaps: too long for a test in real time. The service learns them before this test starts,
/// as after a restart: what it exported is in Prometheus (backfilled with promtool: samples up to
/// five and a half minutes ago, so that they are stale now, as a replaced pod's are), and it reads
/// it back with its last recommendations, exactly as a restarted pod does. From then on everything
/// is live.
///
/// - `ka/batch` (`keep_alive: adaptive`, pre-warm by default) ran a batch every 11 minutes; it is at
///   zero, its next batch is due in about 40 s. It is brought up ahead of the batch (reason
///   `prewarm`), and no request of the batch waits.
/// - `ka/batch-fixed`, the same batches with a fixed keep-alive, is woken by the batch: its requests
///   wait for the cold start.
/// - `ka/rare` (adaptive, between 30 s and 1 h) saw rare, irregular requests (gaps of hours); it
///   serves a few requests and is released 30 s after them (its learned retention).
/// - `ka/rare-fixed`, the same traffic with a fixed retention of 1 h, stays up.
struct KeepAliveEndToEndTests {
    static let period = 660.0

    @Test func aPeriodicModelIsPreWarmedBeforeItsBatchAndARareOneReleasedSoonerThanAFixedRetention() async throws {
        let reference = Date().timeIntervalSince1970.rounded(.down)
        // The next batch of the periodic models, in wall-clock seconds.
        let expected = reference + 40
        let prometheus = try await PrometheusServer(backfill: Self.backfill(reference: reference, expected: expected))
        let directory = prometheus.directory
        try FileManager.default.createDirectory(atPath: directory + "/models", withIntermediateDirectories: true)
        let entries = [
            "default": "enable_scale_to_zero: true\n",
            "batch": "model_id: ka/batch\nnamespace: ka\nkeep_alive: adaptive\nretention_period: 1h\n",
            "batch-fixed": "model_id: ka/batch-fixed\nnamespace: ka\nretention_period: 10m\n",
            "rare": "model_id: ka/rare\nnamespace: ka\nkeep_alive: adaptive\nmin_retention_period: 30s\nretention_period: 1h\n",
            "rare-fixed": "model_id: ka/rare-fixed\nnamespace: ka\nretention_period: 1h\n",
        ]
        for (key, text) in entries { try text.write(toFile: directory + "/models/" + key, atomically: true, encoding: .utf8) }

        let e2e = EndToEndTests()
        let recommenderPort = try freePort(), simulatorPort = try freePort()
        let recommender = try e2e.launch(try e2e.binary("replica-recommender"), [
            "serve", "--config", directory + "/models", "--prometheus-url", prometheus.url,
            "--listen", "127.0.0.1:\(recommenderPort)", "--interval", "1s", "--scrape-interval", "1s",
        ], log: directory + "/recommender.log")
        defer { recommender.terminate() }
        try prometheus.addTarget(port: recommenderPort, name: "ka-recommender")
        try prometheus.addTarget(port: simulatorPort, name: "ka-simulator")

        // Scenario time is wall time here (time_scale 1): the batch's offset is counted from the
        // simulator's start.
        let simulatorStart = Date().timeIntervalSince1970
        let offset = expected - simulatorStart
        let scenario = """
            flow_control: true
            time_scale: 1
            cold_start: 3s
            service_time: 1s
            replica_concurrency: 8
            seed: 7
            models:
              - {id: ka/batch, namespace: ka, initial_replicas: 0, traffic: {kind: periodic, rate: 2, every: \(Int(Self.period))s, for: 8s, offset: \(String(format: "%.1f", offset))s}}
              - {id: ka/batch-fixed, namespace: ka, initial_replicas: 0, traffic: {kind: periodic, rate: 2, every: \(Int(Self.period))s, for: 8s, offset: \(String(format: "%.1f", offset))s}}
              - {id: ka/rare, namespace: ka, initial_replicas: 1, traffic: {kind: periodic, rate: 5, every: 100000s, for: 2s, offset: 2s}}
              - {id: ka/rare-fixed, namespace: ka, initial_replicas: 1, traffic: {kind: periodic, rate: 5, every: 100000s, for: 2s, offset: 2s}}
            """
        try scenario.write(toFile: directory + "/scenario.yaml", atomically: true, encoding: .utf8)
        // Until the batch has been served, and the rare model's 30 s after its requests have passed.
        let duration = max(expected + 14, simulatorStart + 55) - simulatorStart
        let simulator = try e2e.launch(try e2e.binary("vllm-sim"), [
            "--scenario", directory + "/scenario.yaml", "--listen", "127.0.0.1:\(simulatorPort)",
            "--prometheus-url", prometheus.url, "--follow-interval", "1", "--duration", "\(Int(duration.rounded(.up)))",
            "--report", directory + "/report.json",
        ], log: directory + "/simulator.log")
        try await waitUntil(timeout: duration + 30) { !simulator.isRunning }
        #expect(simulator.terminationStatus == 0, "vllm-sim: \((try? String(contentsOfFile: directory + "/simulator.log", encoding: .utf8)) ?? "")")

        let log = (try? String(contentsOfFile: directory + "/recommender.log", encoding: .utf8)) ?? ""
        let decisions = log.split(separator: "\n").filter { $0.contains("decision changed") }
        let context: Comment = "decisions:\n\(decisions.joined(separator: "\n"))\n\nlog:\n\(log.suffix(4000))"
        let timestamps = ISO8601DateFormatter()
        timestamps.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        func changes(_ model: String) -> [(desired: Int, previous: String, reason: String, at: Double)] {
            decisions.compactMap { line in
                func field(_ name: String) -> String? {
                    line.split(separator: " ").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
                }
                guard field("model") == model, let desired = field("desired").flatMap({ Int($0) }),
                      let at = field("ts").flatMap({ timestamps.date(from: $0) }) else { return nil }
                return (desired, field("previous") ?? "", field("reason") ?? "", at.timeIntervalSince1970)
            }
        }
        let reports = try JSONDecoder().decode([EndToEndTests.Report].self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/report.json")))
        let byModel = Dictionary(uniqueKeysWithValues: reports.map { ($0.model, $0) })

        // The periodic model: up ahead of its batch, for the batch, with a reason saying why.
        let prewarm = try #require(changes("ka/batch").first { $0.reason == "prewarm" }, context)
        #expect(prewarm.desired >= 1 && prewarm.previous == "0", context)
        #expect(prewarm.at < expected - 10, "pre-warmed \(expected - prewarm.at) s before the batch; \(context)")
        let batch = try #require(byModel["ka/batch"])
        #expect(batch.arrived > 0, "the batch came")
        #expect(batch.waited == 0, "\(batch.waited) requests of the pre-warmed batch waited; \(context)")
        #expect(batch.served == batch.arrived)
        // The same batch under a fixed keep-alive waits for its cold start.
        let fixedBatch = try #require(byModel["ka/batch-fixed"])
        #expect(fixedBatch.arrived > 0)
        #expect(fixedBatch.waited > 0, context)
        #expect(changes("ka/batch-fixed").allSatisfy { $0.reason != "prewarm" }, context)

        // The rare model: released its learned 30 s after its requests, where a fixed hour holds.
        let release = try #require(changes("ka/rare").first { $0.desired == 0 }, context)
        #expect(release.reason == "idle", context)
        #expect(try #require(byModel["ka/rare"]).arrived > 0)
        #expect(try #require(byModel["ka/rare"]).zero_seconds > 0, "released \(release.at - simulatorStart) s after the simulator started, for \(duration) s")
        print("keep-alive end to end: pre-warmed \(String(format: "%.1f", expected - prewarm.at)) s before the batch; rare model released \(String(format: "%.1f", release.at - simulatorStart)) s after the simulator started")
        #expect(changes("ka/rare-fixed").allSatisfy { $0.desired >= 1 }, context)
        #expect(try #require(byModel["ka/rare-fixed"]).zero_seconds == 0)

        // What the service exports says the same: the learned retention, the pre-warm counted.
        let client = PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: prometheus.url)))
        let keepAlive = try await client.query("recommender_model_keep_alive_seconds{model_name=\"ka/rare\",target=\"ka-recommender\"}").first?.value
        #expect(keepAlive == 30, context)
        let prewarms = try await client.query("max(recommender_prewarms_total{target=\"ka-recommender\"})").first?.value
        #expect((prewarms ?? 0) >= 1, context)
    }

    /// What the recommender exported before this test, as OpenMetrics: a sample every 15 s from 15
    /// to 5.5 minutes before `reference` (past Prometheus' 5-minute lookback: stale, like the series of
    /// a pod that is gone; restart recovery reads them with `last_over_time`).
    static func backfill(reference: Double, expected: Double) -> String {
        let times = stride(from: reference - 900, through: reference - 330, by: 15).map { Int($0) }
        var lines: [String] = []
        func family(_ name: String, _ series: [(labels: String, value: Double)]) {
            lines.append("# TYPE \(name) gauge")
            for (labels, value) in series {
                for t in times { lines.append("\(name){\(labels)} \(value) \(t)") }
            }
        }
        func model(_ id: String, _ extra: String = "") -> String { "namespace=\"ka\",model_name=\"\(id)\"" + extra }
        // The last recommendations: the batch models let go after their last batch, the rare ones up.
        family("inferno_desired_replicas", [(model("ka/batch"), 0), (model("ka/batch-fixed"), 0), (model("ka/rare"), 1), (model("ka/rare-fixed"), 1)])
        // The gateway routes all four (a wake path).
        family("recommender_model_gateway_last_seen_timestamp_seconds", ["ka/batch", "ka/batch-fixed", "ka/rare", "ka/rare-fixed"].map { (model($0), reference - 30) })
        // The batch model's last five bursts, a period apart (burst 1 the latest); its last arrival
        // a few seconds into the latest; its last cold start.
        family("recommender_model_burst_start_timestamp_seconds", (1...5).map { (model("ka/batch", ",burst=\"\($0)\""), expected - Double($0) * period) })
        family("recommender_model_last_arrival_timestamp_seconds", [(model("ka/batch"), expected - period + 8), (model("ka/rare"), reference - 3 * 3600)])
        family("recommender_model_last_cold_start_seconds", [(model("ka/batch"), 5)])
        // The rare model's idle gaps: twenty, of two hours to two days.
        let quantiles = zip(["0.125", "0.375", "0.625", "0.825", "0.935", "0.98", "0.995"], [7200.0, 14_400, 28_800, 43_200, 86_400, 129_600, 172_800])
        family("recommender_model_idle_gap_seconds", quantiles.map { (model("ka/rare", ",quantile=\"\($0.0)\""), $0.1) })
        family("recommender_model_idle_gaps", [(model("ka/rare"), 20)])
        family("recommender_model_keep_alive_seconds", [(model("ka/rare"), 30), (model("ka/batch"), 60)])
        return (lines + ["# EOF"]).joined(separator: "\n") + "\n"
    }
}
