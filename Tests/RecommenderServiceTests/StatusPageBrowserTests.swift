import Foundation
import ModelConfig
import PrometheusClient
import Testing
@testable import RecommenderService
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The status pages as people see them: a whole recommender on a real Prometheus, its pages read
/// over HTTP and opened in headless Chromium (Debian's `chromium`, installed by scripts/setup).
@Suite(.serialized)
struct StatusPageBrowserTests {
    static let busy = ModelKey(namespace: "prod", modelID: "org/llama-3.1-8b")
    static let sleeper = ModelKey(namespace: "prod", modelID: "org/sleeper")
    static let hostile = ModelKey(namespace: "team-a", modelID: #"<script>alert("pwned")</script> & 'friends'"#)

    @Test func aRunningServiceServesBothPagesAndChromiumRendersThemWithoutAConsoleMessage() async throws {
        let chromium = try which("chromium")
        let prometheus = try await PrometheusServer()
        let exporter = try await TestExporter(prometheus: prometheus, name: "status-pods")
        for key in [Self.busy, Self.sleeper, Self.hostile] {
            // Exposition label values escape `\` and `"`.
            let label = key.modelID.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            exporter.vllmPod(namespace: key.namespace, model: label, running: key == Self.busy ? 2 : 0)
        }
        try await waitForSeries(prometheus, "count(vllm:num_requests_running) == 3")

        let directory = NSTemporaryDirectory() + "rr-status-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "enable_scale_to_zero: true\nretention_period: 2s\n".write(toFile: directory + "/default", atomically: true, encoding: .utf8)
        try "model_id: org/llama-3.1-8b\nnamespace: prod\nretention_period: 10m\n".write(toFile: directory + "/llama", atomically: true, encoding: .utf8)
        var configuration = ServerConfiguration(configPath: directory, prometheusURL: prometheus.url)
        configuration.host = "127.0.0.1"
        configuration.port = try freePort()
        configuration.interval = .milliseconds(500)
        configuration.queries = QueryBuilder(scrapeInterval: ConfigDuration(seconds: 1))
        let base = "http://127.0.0.1:\(configuration.port)"
        let server = startServer(configuration)
        defer { server.cancel() }
        try await waitUntil(timeout: 20) { await httpStatus("\(base)/readyz") == 200 }
        // The idle models reach zero after their 2 s of evidence; the busy one serves.
        try await waitUntil(timeout: 20) {
            let page = try await Self.get("\(base)/?state=zero").body
            return page.contains("2 of 3 models match")
        }

        let (fleet, response) = try await Self.get("\(base)/")
        #expect(response.statusCode == 200)
        #expect(response.value(forHTTPHeaderField: "Content-Type") == "text/html; charset=utf-8")
        #expect(response.value(forHTTPHeaderField: "Content-Security-Policy")?.contains("default-src 'none'") == true)
        #expect(fleet.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &#39;friends&#39;"))
        #expect(!fleet.lowercased().contains("<script"))
        #expect(fleet.contains("<h2>Prometheus</h2><p class=\"big\">ok</p>"))
        let modelURL = base + HTML.modelLink(Self.hostile)
        let (model, modelResponse) = try await Self.get(modelURL)
        #expect(modelResponse.statusCode == 200)
        #expect(model.contains("<span class=\"state s-zero\">zero</span>"))
        #expect(model.contains("<path d=\"M"), "the chart has lines")
        #expect(try await Self.get("\(base)/models/prod/org%2Fnot-here").response.statusCode == 404)
        // The page is not behind the wake token; the wake API is.
        #expect(!model.lowercased().contains("<script"))

        let output = ProcessInfo.processInfo.environment["STATUS_PAGE_SCREENSHOTS"] ?? NSTemporaryDirectory() + "rr-status-page-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        for (name, url, expected) in [
            ("fleet", base + "/", ["org/llama-3.1-8b", "org/sleeper", "&lt;script&gt;alert(\"pwned\")&lt;/script&gt; &amp; 'friends'", "GPU replicas now"]),
            ("model", modelURL, ["Recommendation and ready replicas", "retention_period", "model_request_count", "<svg"]),
        ] {
            let shot = try await Chromium(path: chromium).open(url, screenshot: "\(output)/\(name).png", width: 1400, height: 1000)
            #expect(shot.exitCode == 0, "chromium exited \(shot.exitCode): \(shot.log.suffix(2000))")
            for text in expected { #expect(shot.dom.contains(text), "\(name): \(text) missing from the rendered DOM") }
            #expect(!shot.dom.lowercased().contains("<script"), "\(name): a script element in the DOM")
            // Any message the page sends to the console (an error, a CSP refusal of a fetch or a
            // script) is a failure: the page runs nothing and loads nothing.
            let console = shot.log.split(separator: "\n").filter { $0.contains(":CONSOLE") || $0.contains("Uncaught") || $0.contains("Content Security Policy") }
            #expect(console.isEmpty, "\(name): console messages: \(console)")
            let png = try Data(contentsOf: URL(fileURLWithPath: "\(output)/\(name).png"))
            #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(name): not a PNG")
            let size = Self.pngSize(png)
            #expect(size?.width == 1400 && size?.height == 1000, "\(name): \(String(describing: size))")
            // A blank page of this size compresses to a few KB; text, tables and colours do not.
            #expect(png.count > 40_000, "\(name): \(png.count) bytes, a blank page?")
        }
        print("status page screenshots: \(output)/fleet.png, \(output)/model.png")
    }

    static func get(_ url: String) async throws -> (body: String, response: HTTPURLResponse) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return (String(decoding: data, as: UTF8.self), response as! HTTPURLResponse)
    }

    /// Width and height from a PNG's IHDR chunk.
    static func pngSize(_ png: Data) -> (width: Int, height: Int)? {
        guard png.count >= 24 else { return nil }
        let bytes = Array(png[16..<24])
        let width = bytes[0..<4].reduce(0) { $0 << 8 | Int($1) }
        let height = bytes[4..<8].reduce(0) { $0 << 8 | Int($1) }
        return (width, height)
    }
}

/// Headless Chromium, one page at a time: a screenshot, the DOM after rendering, and the log
/// (console messages included) on standard error.
struct Chromium {
    let path: String

    struct Result {
        let exitCode: Int32
        let dom: String
        let log: String
    }

    func open(_ url: String, screenshot: String, width: Int, height: Int, timeout: Double = 90) async throws -> Result {
        let profile = NSTemporaryDirectory() + "rr-chromium-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let stdout = profile + ".dom", stderr = profile + ".log"
        _ = FileManager.default.createFile(atPath: stdout, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: stdout)
            try? FileManager.default.removeItem(atPath: stderr)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [
            // --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
            "--user-data-dir=\(profile)", "--window-size=\(width),\(height)", "--screenshot=\(screenshot)", "--dump-dom",
            "--enable-logging=stderr", "--v=0", url,
        ]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdout))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                throw HarnessError("chromium did not finish within \(timeout)s")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return Result(
            exitCode: process.terminationStatus,
            dom: (try? String(contentsOfFile: stdout, encoding: .utf8)) ?? "",
            log: (try? String(contentsOfFile: stderr, encoding: .utf8)) ?? "")
    }
}
