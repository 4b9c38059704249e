import Foundation
import Logging
import Testing
import ModelConfig
import PrometheusClient
@testable import RecommenderService
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The Grafana dashboard (`config/grafana/replica-recommender.json`, shipped by the chart as
/// `files/dashboard.json`): every panel's query runs against a real server scraping a running
/// recommender that has been through a scale to zero, a wake, a cold start and a bad ConfigMap edit.
@Suite(.serialized)
struct DashboardTests {
    static let root = EndToEndTests.root
    static let path = root + "/config/grafana/replica-recommender.json"

    struct Target { let panel: String; let expr: String }

    static func dashboard() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func panels() throws -> [[String: Any]] { try dashboard()["panels"] as? [[String: Any]] ?? [] }

    static func targets() throws -> [Target] {
        try panels().flatMap { panel in
            ((panel["targets"] as? [[String: Any]]) ?? []).map { Target(panel: panel["title"] as? String ?? "?", expr: $0["expr"] as? String ?? "") }
        }
    }

    /// A panel query as Grafana would send it: the namespace variable at "All", `$__rate_interval`
    /// at a window that holds many of the test's 1 s scrapes.
    static func expand(_ expr: String) -> String {
        expr.replacingOccurrences(of: "$namespace", with: ".*").replacingOccurrences(of: "$__rate_interval", with: "1m")
    }

    /// Metric names a query reads (`_bucket`, `_count`, `_sum` map to their histogram).
    static func metricNames(_ expr: String) -> Set<String> {
        let regex = try! NSRegularExpression(pattern: "\\b(inferno|recommender)_[a-z_]+")
        let names = regex.matches(in: expr, range: NSRange(expr.startIndex..., in: expr)).map { String(expr[Range($0.range, in: expr)!]) }
        return Set(names.map { name in
            for suffix in ["_bucket", "_count", "_sum"] where name.hasSuffix(suffix) { return String(name.dropLast(suffix.count)) }
            return name
        })
    }

    @Test func chartShipsTheDashboardOfConfigUnchanged() throws {
        let shipped = try Data(contentsOf: URL(fileURLWithPath: Self.root + "/charts/replica-recommender/files/dashboard.json"))
        #expect(shipped == (try Data(contentsOf: URL(fileURLWithPath: Self.path))), "copy config/grafana/replica-recommender.json to the chart's files/dashboard.json")
    }

    @Test func panelsAreLaidOutOnTheGridWithTheDatasourceVariable() throws {
        let panels = try Self.panels()
        #expect(Set(panels.compactMap { $0["id"] as? Int }).count == panels.count, "panel ids are unique")
        for panel in panels {
            let title = panel["title"] as? String ?? "?"
            let grid = try #require(panel["gridPos"] as? [String: Int], "\(title): gridPos")
            #expect((grid["x"] ?? 99) + (grid["w"] ?? 99) <= 24, "\(title): wider than the 24-column grid")
            guard panel["type"] as? String != "row" else { continue }
            let targets = (panel["targets"] as? [[String: Any]]) ?? []
            #expect(!targets.isEmpty, "\(title): no query")
            #expect(((panel["datasource"] as? [String: String])?["uid"]) == "${datasource}", "\(title): datasource")
            #expect(!((panel["description"] as? String) ?? "").isEmpty, "\(title): no description")
        }
        let variables = (try Self.dashboard()["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        #expect(variables.compactMap { $0["name"] as? String } == ["datasource", "namespace"])
    }

    @Test func theDashboardShowsWhatOperatorsAskFor() throws {
        let used = try Self.targets().reduce(into: Set<String>()) { $0.formUnion(Self.metricNames($1.expr)) }
        // Fleet state, models at zero, wakes, cold starts, time to zero, query errors, config errors, kill switch.
        for name in ["recommender_model_state", "inferno_desired_replicas", "recommender_wakes_total", "recommender_cold_start_seconds",
                     "recommender_model_last_activity_timestamp_seconds", "recommender_prometheus_query_errors_total",
                     "recommender_config_errors", "recommender_kill_switch"] {
            #expect(used.contains(name), "no panel reads \(name)")
        }
    }

    @Test(arguments: Backend.allCases)
    func everyPanelQueryParsesAndReturnsDataFromALiveRecommender(backend: Backend) async throws {
        let prometheus = try await PrometheusServer(backend: backend)
        let exporter = try await TestExporter(prometheus: prometheus, name: "vllm")
        let directory = prometheus.directory + "/models"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let entries = [
            "default": "enable_scale_to_zero: true\nretention_period: 1s\n",
            "busy": "model_id: dash/busy\nnamespace: dash\n",
            "sleeper": "model_id: dash/sleeper\nnamespace: dash\n",
            "idle": "model_id: dash/idle\nnamespace: dash\nretention_period: 1h\n",
        ]
        for (key, text) in entries { try text.write(toFile: directory + "/" + key, atomically: true, encoding: .utf8) }
        exporter.vllmPod(namespace: "dash", model: "dash/busy")
        exporter.grow("vllm:request_success_total", "namespace=\"dash\",model_name=\"dash/busy\",pod=\"p0\",finished_reason=\"stop\"", by: 1)
        exporter.vllmPod(namespace: "dash", model: "dash/sleeper")
        exporter.vllmPod(namespace: "dash", model: "dash/idle")

        var configuration = ServerConfiguration(configPath: directory, prometheusURL: prometheus.url)
        configuration.host = "127.0.0.1"
        configuration.port = try freePort()
        configuration.interval = .milliseconds(250)
        configuration.configPollInterval = .milliseconds(200)
        configuration.recoveryWindow = ConfigDuration(seconds: 3600)
        let server = startServer(configuration)
        defer { server.cancel() }
        try prometheus.addTarget(port: configuration.port, name: "recommender")
        let client = PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: prometheus.url)))
        let sleeper = "namespace=\"dash\",model_name=\"dash/sleeper\""

        // The sleeper goes to zero, KEDA scales its pod away, a caller wakes it, its pod becomes ready.
        try await waitForSeries(prometheus, "inferno_desired_replicas{\(sleeper)} == 0", timeout: 20)
        exporter.removePod(namespace: "dash", model: "dash/sleeper")
        try await waitForSeries(prometheus, "vllm:num_requests_running{\(sleeper)}", count: 0)
        var wake = URLRequest(url: URL(string: "http://127.0.0.1:\(configuration.port)/api/v1/models/dash/dash%2Fsleeper/wake")!)
        wake.httpMethod = "POST"
        let status = (try await URLSession.shared.data(for: wake).1 as? HTTPURLResponse)?.statusCode
        #expect(status == 202)
        try await Task.sleep(for: .seconds(1))
        exporter.vllmPod(namespace: "dash", model: "dash/sleeper")
        try await waitForSeries(prometheus, "recommender_cold_start_seconds_count > 0", timeout: 20)
        // A bad ConfigMap edit: its error is counted while the last good entries stay in force.
        try "model_id: dash/broken\nretention_period: soon\n".write(toFile: directory + "/broken", atomically: true, encoding: .utf8)
        try await waitForSeries(prometheus, "recommender_config_errors > 0", timeout: 20)
        try await Task.sleep(for: .seconds(2))  // a few more scrapes for the rates

        var problems: [String] = []
        let targets = try Self.targets()
        #expect(targets.count >= 15)
        for target in targets {
            let query = Self.expand(target.expr)
            do {
                let samples = try await client.query(query)
                if samples.isEmpty { problems.append("\(target.panel): no data for \(query)") }
            } catch {
                problems.append("\(target.panel): \(error) for \(query)")
            }
        }
        #expect(problems.isEmpty, "\(backend):\n\(problems.joined(separator: "\n"))")
    }

    @Test func everyMetricTheDashboardReadsIsExported() async throws {
        let engine = Engine(options: EngineOptions(), logger: Logger(label: "test"))
        let page = await engine.renderMetrics()
        let exported = Set(page.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        for target in try Self.targets() {
            for name in Self.metricNames(target.expr) {
                #expect(exported.contains(name), "\(target.panel) reads \(name), which /metrics does not export")
            }
        }
    }
}
