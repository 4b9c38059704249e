import Foundation
import ModelConfig
import Recommendation
import Testing
@testable import Backtest

struct HTMLReportTests {
    static let hostile = ModelKey(namespace: "team-<b>", modelID: #"<script>alert("pwned")</script> & 'friends'"#)

    /// A day of a timer every hour, a steady model and a hostile id, with a class column, replayed
    /// under the configuration (adaptive with pre-warm) and two fixed keep-alives.
    static func report(classes: Bool) -> (BacktestReport, Trace) {
        var arrivals: [ModelKey: [Double]] = [:]
        arrivals[ModelKey(namespace: "default", modelID: "hourly")] = (0..<24).flatMap { hour in (0..<5).map { Double(hour * 3600 + 600 + $0) } }
        arrivals[ModelKey(namespace: "default", modelID: "steady")] = stride(from: 5.0, to: 86_400, by: 20).map { $0 }
        arrivals[hostile] = [4000, 30_000, 70_000]
        let names = [
            ModelKey(namespace: "default", modelID: "hourly"): "timer", ModelKey(namespace: "default", modelID: "steady"): "busy",
            hostile: "<i>odd</i>",
        ]
        let trace = Trace(arrivals: arrivals, hasNamespaces: true, classes: classes ? names : nil)
        var options = ReplayOptions()
        options.end = 86_400
        let base = trace.models.map { ResolvedModelConfig(model: $0, enableScaleToZero: true) }
        let policies = [Alternative(name: "config", keepAlive: .adaptive, prewarm: true)] + (try! Alternative.parseList("fixed:10m,fixed:1h"))
        let runs = policies.map { Backtest.run(trace: trace, configs: base.map($0.apply), options: options, name: $0.name).result }
        return (BacktestReport(runs: runs, seconds: runs[0].seconds, settings: ["input": "<trace>.csv", "cold start": "90s"]), trace)
    }

    @Test func thePageShowsEveryPolicyEveryClassAndEveryModelWithOutsideTextEscaped() {
        let (report, trace) = Self.report(classes: true)
        let html = report.html(classes: trace.classes)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for policy in ["config", "fixed:10m", "fixed:1h"] { #expect(html.contains(">\(policy)</th>"), "\(policy) has a column") }
        #expect(html.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &#39;friends&#39;"))
        #expect(html.contains("team-&lt;b&gt;"))
        #expect(html.contains("&lt;i&gt;odd&lt;/i&gt;"))
        #expect(html.contains("&lt;trace&gt;.csv"))
        #expect(!html.contains("<script"), "a script element")
        #expect(!html.contains("<b>") && !html.contains("<i>"))
        // Nothing is loaded: no link, image, frame or style URL; a CSP in the page forbids it anyway.
        for forbidden in ["<link", "<img", "<iframe", "src=", "url(", "@import"] { #expect(!html.contains(forbidden), "\(forbidden)") }
        #expect(html.contains("default-src 'none'"))
        // One chart for the fleet, one per class.
        #expect(html.components(separatedBy: "<svg ").count - 1 == 4)
        #expect(html.contains("Per traffic class"))
        for name in ["timer: 1 model, 120 requests", "busy: 1 model, 4,320 requests", "&lt;i&gt;odd&lt;/i&gt;: 1 model, 3 requests"] {
            #expect(html.contains(name), "\(name)")
        }
        // The fleet table carries the run's figures.
        let fixed = report.runs[1].fleet
        #expect(html.contains("<td class=\"num\">\(Format.count(fixed.coldStarts))</td>"))
        #expect(html.contains(">\(Format.number(report.runs[0].fleet.gpuHours))</td>"))
    }

    @Test func withoutClassesModelsAreGroupedByRequestRate() {
        let (report, _) = Self.report(classes: false)
        let groups = ReportGroups(run: report.runs[0], classes: nil, seconds: report.seconds)
        #expect(!groups.byClass)
        // steady: 4,320 a day (3 a minute); hourly: 120 a day; the hostile one: 3 a day.
        #expect(groups.groups.map(\.name) == ["at least 1 request a minute", "1 an hour to 1 a minute", "1 a day to 1 an hour"])
        let html = report.html(classes: nil)
        #expect(html.contains("Per request rate"))
        #expect(html.components(separatedBy: "<svg ").count - 1 == 4)
    }

    @Test func eachPointSitsWhereItsGPUHoursAndColdStartsSayInsideThePlot() throws {
        let points = [
            TradeOffChart.Point(policy: "config", gpuHours: 120, coldStarts: 30, waited: 40),
            TradeOffChart.Point(policy: "fixed:10m", gpuHours: 100, coldStarts: 300, waited: 500),
            TradeOffChart.Point(policy: "fixed:1h", gpuHours: 400, coldStarts: 10, waited: 12),
        ]
        let svg = TradeOffChart.svg(points, title: "t", width: 760, height: 420)
        let circles = svg.components(separatedBy: "<circle cx=\"").dropFirst().prefix(points.count).map { part -> (Double, Double) in
            let cx = Double(part.prefix { $0 != "\"" })!
            let cy = Double(part.components(separatedBy: "cy=\"")[1].prefix { $0 != "\"" })!
            return (cx, cy)
        }
        #expect(circles.count == 3)
        // More GPU-hours: further right; more cold starts: higher up (smaller y).
        #expect(circles[1].0 < circles[0].0 && circles[0].0 < circles[2].0)
        #expect(circles[1].1 < circles[0].1 && circles[0].1 < circles[2].1)
        for (cx, cy) in circles { #expect(cx >= 64 && cx <= 760 - 16 && cy >= 30 && cy <= 420 - 58) }
        // The two fixed keep-alives are joined, in order of GPU-hours.
        #expect(svg.contains("<path d=\"M\(String(format: "%.1f", circles[1].0)) \(String(format: "%.1f", circles[1].1))L"))
    }

    @Test(arguments: [(0.0, 1.0), (17.0, 17.0), (30_989.0, 52_651.0), (0.4, 0.9)])
    func axisTicksAreRoundAndCoverTheValues(low: Double, high: Double) {
        let axis = TradeOffChart.range([low, high])
        #expect(axis.low <= low && axis.high >= high)
        #expect(axis.low >= 0)
        #expect(axis.ticks.count >= 2 && axis.ticks.count <= 12)
        #expect(axis.ticks.first! >= axis.low - 1e-9 && axis.ticks.last! <= axis.high + 1e-9)
    }

    @Test func countsGetWholeTicksAndLabelsSayAsMuchAsTheStepNeeds() {
        let none = TradeOffChart.range([0, 0, 0], integral: true)
        #expect(none.ticks.allSatisfy { $0 == $0.rounded() } && none.ticks.contains(0) && none.ticks.count >= 2)
        let hours = TradeOffChart.range([282.9, 288.1])
        #expect(hours.ticks.map { TradeOffChart.tickLabel($0, step: hours.step) }.count == Set(hours.ticks.map { TradeOffChart.tickLabel($0, step: hours.step) }).count)
        #expect(TradeOffChart.tickLabel(282.5, step: 2.5) == "282.5")
        #expect(TradeOffChart.tickLabel(35_000, step: 5000) == "35,000")
    }

    @Test func policiesAtTheSamePlaceShareOneLabelAndNearLabelsDoNotOverlap() {
        let labels = TradeOffChart.labels([(100, 100, "config"), (101, 100, "fixed:5m"), (100, 104, "fixed:1h"), (400, 300, "adaptive")], plotRight: 700)
        #expect(labels.map(\.text) == ["config, fixed:5m", "fixed:1h", "adaptive"])
        #expect(abs(labels[0].y - labels[1].y) >= 11)
    }
}
