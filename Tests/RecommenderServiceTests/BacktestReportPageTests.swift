import Backtest
import Foundation
import ModelConfig
import Testing

/// `backtest --html` as a user runs it: the built binary replays a small trace (a class column, a
/// hostile model id) and writes the page; headless Chromium opens the file, renders it, and reports
/// no console message (no script ran, nothing was fetched).
struct BacktestReportPageTests {
    @Test func theBuiltBinaryWritesAPageChromiumRendersWithItsChartsAndNoConsoleMessage() async throws {
        let chromium = try which("chromium")
        let binary = try EndToEndTests().binary("replica-recommender")
        let directory = NSTemporaryDirectory() + "rr-backtest-page-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var generator = FleetGenerator(duration: 2 * 86_400, seed: 4)
        generator.counts = [.timer: 2, .bursty: 1, .rare: 1, .busy: 1]
        let fleet = generator.generate()
        var arrivals = Dictionary(uniqueKeysWithValues: zip(fleet.models, fleet.arrivals))
        var classes = Dictionary(uniqueKeysWithValues: zip(fleet.models, fleet.classes!))
        let hostile = ModelKey(namespace: "default", modelID: #"<script>alert("pwned")</script>"#)
        arrivals[hostile] = [100, 20_000, 90_000]
        classes[hostile] = "<img src=x>"
        try Trace(arrivals: arrivals, hasNamespaces: false, classes: classes).write(path: directory + "/trace.csv.gz")
        try "default: |\n  enable_scale_to_zero: true\n  keep_alive: adaptive\n  retention_period: 1h\n  cold_start_cost: 30m\n"
            .write(toFile: directory + "/models.yaml", atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "backtest", "--trace", directory + "/trace.csv.gz", "--config", directory + "/models.yaml",
            "--compare", "fixed:5m,fixed:10m,fixed:1h,adaptive", "--json", "--html", directory + "/report.html",
        ]
        _ = FileManager.default.createFile(atPath: directory + "/report.json", contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/report.json"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/null"))
        try process.run()
        try await waitUntil(timeout: 120) { !process.isRunning }
        #expect(process.terminationStatus == 0)
        // The policies differ (the ConfigMap applied): the page has something to compare.
        struct Output: Decodable {
            struct Run: Decodable {
                struct Fleet: Decodable { let cold_starts: Int; let gpu_replica_hours: Double }
                let name: String
                let fleet: Fleet
            }
            let runs: [Run]
        }
        let output = try JSONDecoder().decode(Output.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/report.json")))
        #expect(output.runs.map(\.name) == ["config", "fixed:5m", "fixed:10m", "fixed:1h", "adaptive"])
        #expect(Set(output.runs.map(\.fleet.gpu_replica_hours)).count == 5)
        #expect(output.runs[1].fleet.cold_starts > output.runs[3].fleet.cold_starts)

        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        #expect(html.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"))
        #expect(html.contains("&lt;img src=x&gt;"))
        #expect(!html.contains("<script") && !html.contains("<img"))
        // The fleet chart and one per class (bursty, busy, rare, timer and the hostile one).
        #expect(html.components(separatedBy: "<svg ").count - 1 == 6)

        let shot = try await Chromium(path: chromium).open("file://" + directory + "/report.html", screenshot: directory + "/report.png", width: 1400, height: 1400)
        #expect(shot.exitCode == 0, "chromium exited \(shot.exitCode): \(shot.log.suffix(2000))")
        for text in ["Fleet: GPU-hours against cold starts", "Per traffic class", "fixed:10m", "timer: 2 models", "&lt;script&gt;alert(\"pwned\")&lt;/script&gt;"] {
            #expect(shot.dom.contains(text), "\(text) missing from the rendered DOM")
        }
        #expect(shot.dom.components(separatedBy: "<circle ").count - 1 >= 6 * 5, "a point per policy in every chart")
        #expect(!shot.dom.lowercased().contains("<script"), "a script element in the DOM")
        let console = shot.log.split(separator: "\n").filter { $0.contains(":CONSOLE") || $0.contains("Uncaught") || $0.contains("Content Security Policy") }
        #expect(console.isEmpty, "console messages: \(console)")
        let png = try Data(contentsOf: URL(fileURLWithPath: directory + "/report.png"))
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "not a PNG")
        #expect(StatusPageBrowserTests.pngSize(png).map { [$0.width, $0.height] } == [1400, 1400])
        // A blank page of this size compresses to a few KB; charts, text and tables do not.
        #expect(png.count > 40_000, "\(png.count) bytes, a blank page?")
        if let keep = ProcessInfo.processInfo.environment["STATUS_PAGE_SCREENSHOTS"] {
            try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: keep + "/backtest.png")
            try FileManager.default.copyItem(atPath: directory + "/report.png", toPath: keep + "/backtest.png")
        }
    }
}
