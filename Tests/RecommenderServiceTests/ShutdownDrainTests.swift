import Foundation
import Testing
import PrometheusClient
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A wake accepted just before the pod stops (a rolling update sends SIGTERM) must reach
/// Prometheus: the built `replica-recommender`, a real Prometheus scraping it every second, a real
/// SIGTERM a few milliseconds after the wake. Without the drain the process exits before the next
/// scrape, Prometheus never holds the 1, the consumer never scales up, and the next pod recovers 0.
struct ShutdownDrainTests {
    @Test func aWakeAcceptedJustBeforeSIGTERMIsScrapedBeforeTheProcessExits() async throws {
        let prometheus = try await PrometheusServer()
        let directory = prometheus.directory
        try FileManager.default.createDirectory(atPath: directory + "/models", withIntermediateDirectories: true)
        let entries = [
            "default": "enable_scale_to_zero: true\nretention_period: 2s\n",
            "m": "model_id: drain/m\nnamespace: drain\nwake_path: api\n",
        ]
        for (key, text) in entries { try text.write(toFile: directory + "/models/" + key, atomically: true, encoding: .utf8) }
        // One idle replica reporting: evidence for the zero.
        let exporter = try await TestExporter(prometheus: prometheus, name: "drain-pod")
        exporter.vllmPod(namespace: "drain", model: "drain/m", gateway: false)

        let e2e = EndToEndTests()
        let port = try freePort()
        let log = directory + "/recommender.log"
        let recommender = try e2e.launch(try e2e.binary("replica-recommender"), [
            "serve", "--config", directory + "/models", "--prometheus-url", prometheus.url,
            "--listen", "127.0.0.1:\(port)", "--interval", "1s", "--scrape-interval", "1s", "--shutdown-drain", "10s",
        ], log: log)
        defer { if recommender.isRunning { recommender.terminate() } }
        try prometheus.addTarget(port: port, name: "drain-recommender")
        let client = PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: prometheus.url)))
        let series = #"inferno_desired_replicas{model_name="drain/m"}"#
        // At zero, and Prometheus has scraped the zero.
        try await waitUntil(timeout: 40) { try await client.query(series).first?.value == 0 }

        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/v1/models/drain/drain%2Fm/wake")!)
        request.httpMethod = "POST"
        let (body, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 202, "\(String(decoding: body, as: UTF8.self))")
        let stopped = Date()
        recommender.terminate()  // SIGTERM
        try await waitUntil(timeout: 15) { !recommender.isRunning }
        let waited = Date().timeIntervalSince(stopped)
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(recommender.terminationReason == .exit && recommender.terminationStatus == 0, "log:\n\(text.suffix(3000))")
        // The 1 was scraped before the exit (within a scrape interval, not the 10 s limit).
        let scraped = try await client.query("max_over_time(\(series)[30s])").first?.value
        #expect(scraped == 1, "waited \(waited) s; log:\n\(text.suffix(3000))")
        #expect(waited < 8, "the drain waited \(waited) s for a scrape every second")
        #expect(text.contains("the last change of the recommendations was scraped"), "log:\n\(text.suffix(3000))")
    }
}
