import Backtest
import Foundation
import ModelConfig
import PrometheusClient
import Testing

/// `backtest --prometheus-url`: arrivals reconstructed from a real Prometheus' history of
/// `vllm:request_success_total` (backfilled with promtool), compared with the requests that made it.
struct BacktestHistoryTests {
    /// A day of requests of three models, ending an hour ago.
    static let end = (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 - 3600
    static let start = end - 86_400
    static let arrivals: [String: [Double]] = {
        let every5m: [Double] = Array(stride(from: 100.0, to: 86_400, by: 300))
        var batch: [Double] = []
        for hour in 0..<24 {
            for k in 0..<10 { batch.append(Double(hour) * 3600 + 1800 + Double(k) * 3) }
        }
        return ["every-5m": every5m, "hourly-batch": batch, "rare": [5000, 40_000, 40_020, 70_000]]
    }()

    /// The counters a 15 s scrape of those models would have stored, as OpenMetrics.
    static var openMetrics: String {
        var lines = ["# TYPE vllm:request_success counter"]
        for (model, times) in arrivals.sorted(by: { $0.key < $1.key }) {
            var count = 0
            for t in stride(from: 0.0, through: 86_400, by: 15) {
                while count < times.count, times[count] <= t { count += 1 }
                lines.append("vllm:request_success_total{namespace=\"history\",model_name=\"\(model)\"} \(count) \(Int(start + t))")
            }
        }
        // The recommender's measured cold starts of the hourly batch: 10 s, then 20 s, then 200 s
        // (a third of the day each): their median is 20 s.
        lines.append("# TYPE recommender_model_last_cold_start_seconds gauge")
        for t in stride(from: 0.0, through: 86_400, by: 60) {
            let seconds = t < 28_800 ? 10 : t < 57_600 ? 20 : 200
            lines.append("recommender_model_last_cold_start_seconds{namespace=\"history\",model_name=\"hourly-batch\"} \(seconds) \(Int(start + t))")
        }
        return (lines + ["# EOF"]).joined(separator: "\n") + "\n"
    }

    @Test func arrivalsAreReconstructedFromTheRequestCounterAtItsStep() async throws {
        let prometheus = try await PrometheusServer(backfill: Self.openMetrics)
        let client = PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: prometheus.url)))
        let history = try await PrometheusHistory(client: client).load(since: 86_400, step: 60, end: Date(timeIntervalSince1970: Self.end))
        #expect(history.start == Self.start)
        for (model, times) in Self.arrivals {
            let index = try #require(history.trace.models.firstIndex(of: ModelKey(namespace: "history", modelID: model)))
            let rebuilt = history.trace.arrivals[index]
            // Every hour holds the requests it held (± one at its edges, where increase() extrapolates).
            for hour in 0..<24 {
                let range = Double(hour) * 3600..<Double(hour + 1) * 3600
                let original = times.filter { range.contains($0) }.count
                let reconstructed = rebuilt.filter { range.contains($0) }.count
                #expect(abs(original - reconstructed) <= 1, "\(model), hour \(hour): \(original) vs \(reconstructed)")
            }
            #expect(abs(rebuilt.count - times.count) <= 1, "\(model): \(times.count) requests, \(rebuilt.count) rebuilt")
        }
        // Each model's cold start is the median of those the recommender measured, where it measured any.
        #expect(history.coldStarts == [ModelKey(namespace: "history", modelID: "hourly-batch"): 20])

        // The hourly batch stays an hourly batch: a replay pre-warms it.
        let configs = history.trace.models.map {
            ResolvedModelConfig(model: $0, enableScaleToZero: true, retention: ConfigDuration(seconds: 3600), keepAlive: .adaptive, prewarm: true)
        }
        var options = ReplayOptions()
        options.end = history.duration
        options.coldStarts = history.coldStarts
        let run = Backtest.run(trace: history.trace, configs: configs, options: options, name: "history")
        let batch = try #require(run.result.models.first { $0.model.modelID == "hourly-batch" })
        #expect(batch.prewarms >= 10)
        // A cold start the replay charged the batch model lasted its measured 20 s (plus at most a
        // tick and a scrape before the wake), not the default 90 s.
        let fixed = configs.map { ResolvedModelConfig(model: $0.model, enableScaleToZero: true, retention: ConfigDuration(seconds: 300)) }
        let cold = try #require(Backtest.run(trace: history.trace, configs: fixed, options: options, name: "fixed").result.models.first { $0.model.modelID == "hourly-batch" })
        #expect(cold.coldStarts > 0)
        #expect(cold.wait(1) >= 20 && cold.wait(1) < 20 + options.interval + options.scrapeInterval + 1, "\(cold.wait(1))")

        // The command line reads the same history and replays it.
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("replica-recommender").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["backtest", "--prometheus-url", prometheus.url, "--since", "26h", "--json", "--compare", "fixed:10m"]
        var environment = ProcessInfo.processInfo.environment
        environment["WVA_SCALE_TO_ZERO"] = "true"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let reader = output.fileHandleForReading
        let data = try await offPool { let data = reader.readDataToEndOfFile(); process.waitUntilExit(); return data }
        #expect(process.terminationStatus == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let runs = try #require(report["runs"] as? [[String: Any]])
        #expect(runs.map { $0["name"] as? String } == ["config", "fixed:10m"])
        let fleet = try #require(runs[0]["fleet"] as? [String: Any])
        let total = Self.arrivals.values.reduce(0) { $0 + $1.count }
        #expect(abs((fleet["requests"] as? Int ?? 0) - total) <= 3)
        let settings = try #require(report["settings"] as? [String: String])
        #expect(settings["cold start"] == "90s, measured for 1 model(s)")
    }
}
