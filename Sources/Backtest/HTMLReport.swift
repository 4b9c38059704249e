import Foundation
import HTMLPage

// The backtest's report as one self-contained HTML page (`backtest --html FILE`): inline CSS and
// inline SVG, no script, nothing loaded (a Content-Security-Policy in the page forbids it), every
// value from the outside (model ids, namespaces, classes, policy names, settings) escaped.

/// Models grouped for the report: by the traffic class the trace names, else by request rate.
public struct ReportGroups: Sendable, Equatable {
    /// One group: its name and the indices of its models in the runs' model lists.
    public struct Group: Sendable, Equatable {
        /// The class, or the rate band.
        public let name: String
        /// Indices into ``RunResult/models``.
        public let models: [Int]
    }

    /// Whether the groups are the trace's classes (true) or request-rate bands (false).
    public let byClass: Bool
    /// The non-empty groups, in order: classes by name (unnamed last), bands busiest first.
    public let groups: [Group]

    /// The request-rate bands used when the trace names no classes, busiest first: requests per
    /// day at least `perDay`.
    public static let bands: [(name: String, perDay: Double)] = [
        ("at least 1 request a minute", 1440), ("1 an hour to 1 a minute", 24), ("1 a day to 1 an hour", 1), ("under 1 a day", 0),
    ]

    /// Groups the models of `run` (every run of a report lists the same models in the same order)
    /// by `classes` (aligned with the models) when given, else by their mean request rate over
    /// `seconds`.
    public init(run: RunResult, classes: [String]?, seconds: Double) {
        if let classes, classes.count == run.models.count {
            byClass = true
            var members: [String: [Int]] = [:]
            for (index, name) in classes.enumerated() { members[name, default: []].append(index) }
            groups = members.keys.sorted { ($0.isEmpty ? 1 : 0, $0) < ($1.isEmpty ? 1 : 0, $1) }.map {
                Group(name: $0.isEmpty ? "(no class)" : $0, models: members[$0]!)
            }
        } else {
            byClass = false
            let days = max(seconds, 1) / 86_400
            var members = Array(repeating: [Int](), count: Self.bands.count)
            for (index, model) in run.models.enumerated() {
                let perDay = Double(model.requests) / days
                members[Self.bands.firstIndex { perDay >= $0.perDay } ?? Self.bands.count - 1].append(index)
            }
            groups = zip(Self.bands, members).filter { !$0.1.isEmpty }.map { Group(name: $0.0.name, models: $0.1) }
        }
    }
}

extension BacktestReport {
    /// At most this many models get a row in the page's model table (the busiest; the page says so).
    public static let htmlModelRows = 1000

    /// The report as one HTML page: the settings, a trade-off chart of GPU-hours against cold starts
    /// (one point per policy) with the fleet table, the same chart and table per traffic class (or
    /// request-rate band, see ``ReportGroups``), and a table of the models.
    public func html(classes: [String]?) -> String {
        guard let first = runs.first else { return Self.page(body: "<p>No policy was replayed.</p>\n") }
        let groups = ReportGroups(run: first, classes: classes, seconds: seconds)
        var body = ""
        body.reserveCapacity(65_536 + first.models.count * 120 * runs.count)
        body += "<header><h1>Backtest</h1><span class=\"muted\">\(HTMLText.escape(Stats.duration(seconds))) of history, "
        body += "\(Format.count(first.models.count)) models, \(Format.count(first.fleet.requests)) requests, "
        body += "\(runs.count) polic\(runs.count == 1 ? "y" : "ies")</span></header>\n"

        body += "<section><h2>Settings</h2><table class=\"kv\"><tbody>"
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) {
            body += "<tr><th>\(HTMLText.escape(key))</th><td><code>\(HTMLText.escape(value))</code></td></tr>"
        }
        body += "</tbody></table></section>\n"

        body += "<section><h2>Fleet: GPU-hours against cold starts</h2>\n"
        body += "<p class=\"muted\">One point per policy; down and to the left is better. Policies of one kind (fixed, adaptive, "
        body += "adaptive with pre-warm) are joined in order of GPU-hours: their trade-off curve.</p>\n"
        body += TradeOffChart.svg(points(runs.indices.map { ($0, Array(first.models.indices)) }), title: "Fleet: GPU replica-hours against cold starts", width: 760, height: 420)
        fleetTable(into: &body)
        body += "</section>\n"

        body += "<section><h2>\(groups.byClass ? "Per traffic class" : "Per request rate")</h2>\n"
        body += groups.byClass
            ? "<p class=\"muted\">Models grouped by the <code>class</code> column of the trace.</p>\n"
            : "<p class=\"muted\">The trace names no traffic classes (no <code>class</code> column): models are grouped by their mean request rate over the history.</p>\n"
        body += "<div class=\"charts\">\n"
        for group in groups.groups {
            let requests = group.models.reduce(0) { $0 + first.models[$1].requests }
            let title = "\(group.name): \(Format.count(group.models.count)) model\(group.models.count == 1 ? "" : "s"), \(Format.count(requests)) requests"
            body += "<figure>" + TradeOffChart.svg(points(runs.indices.map { ($0, group.models) }), title: title, width: 420, height: 300) + "</figure>\n"
        }
        body += "</div>\n"
        groupTable(groups, into: &body)
        body += "</section>\n"

        modelTable(groups, into: &body)
        body += "<footer class=\"muted\">Written by <code>replica-recommender backtest --html</code>. GPU replica-hours count starting replicas; "
        body += "a cold start is a wake a request waited for; waits are at the gateway, in seconds.</footer>\n"
        return Self.page(body: body)
    }

    /// Per run, the sums over the given models.
    private func points(_ selections: [(run: Int, models: [Int])]) -> [TradeOffChart.Point] {
        selections.map { selection in
            let run = runs[selection.run]
            var gpu = 0.0, cold = 0, waited = 0
            for index in selection.models {
                gpu += run.models[index].gpuHours
                cold += run.models[index].coldStarts
                waited += run.models[index].waited
            }
            return TradeOffChart.Point(policy: run.name, gpuHours: gpu, coldStarts: Double(cold), waited: waited)
        }
    }

    private func fleetTable(into body: inout String) {
        let rows: [(String, (FleetResult) -> String)] = [
            ("GPU replica-hours", { Format.number($0.gpuHours) }),
            ("cold starts", { Format.count($0.coldStarts) }),
            ("wakes", { Format.count($0.wakes) }),
            ("pre-warms", { Format.count($0.prewarms) }),
            ("requests that waited", { Format.count($0.waited) }),
            ("wait p50 (s)", { Stats.number($0.waitP50) }),
            ("wait p99 (s)", { Stats.number($0.waitP99) }),
            ("wait max (s)", { Stats.number($0.waitMax) }),
            ("dropped", { Format.count($0.dropped) }),
        ]
        body += "<table class=\"models\"><thead><tr><th>fleet</th>"
        for run in runs { body += "<th class=\"num\">\(HTMLText.escape(run.name))</th>" }
        body += "</tr></thead><tbody>"
        for (label, value) in rows {
            body += "<tr><th>\(label)</th>"
            for run in runs { body += "<td class=\"num\">\(value(run.fleet))</td>" }
            body += "</tr>"
        }
        if let base = runs.first, runs.count > 1 {
            body += "<tr><th>GPU-h vs \(HTMLText.escape(base.name))</th>"
            for run in runs { body += "<td class=\"num\">\(Stats.percent(run.fleet.gpuHours, base.fleet.gpuHours))</td>" }
            body += "</tr><tr><th>cold starts vs \(HTMLText.escape(base.name))</th>"
            for run in runs { body += "<td class=\"num\">\(Stats.percent(Double(run.fleet.coldStarts), Double(base.fleet.coldStarts)))</td>" }
            body += "</tr>"
        }
        body += "</tbody></table>\n"
    }

    private func groupTable(_ groups: ReportGroups, into body: inout String) {
        guard let first = runs.first else { return }
        body += "<table class=\"models\"><thead><tr><th>\(groups.byClass ? "class" : "request rate")</th><th class=\"num\">models</th><th class=\"num\">requests</th>"
        for run in runs { body += "<th class=\"num\">\(HTMLText.escape(run.name))<br><span class=\"muted\">GPU-h / cold starts</span></th>" }
        body += "</tr></thead><tbody>"
        for group in groups.groups {
            body += "<tr><th>\(HTMLText.escape(group.name))</th><td class=\"num\">\(Format.count(group.models.count))</td>"
            body += "<td class=\"num\">\(Format.count(group.models.reduce(0) { $0 + first.models[$1].requests }))</td>"
            for point in points(runs.indices.map { ($0, group.models) }) {
                body += "<td class=\"num\">\(Format.number(point.gpuHours)) / \(Format.count(Int(point.coldStarts)))</td>"
            }
            body += "</tr>"
        }
        body += "</tbody></table>\n"
    }

    private func modelTable(_ groups: ReportGroups, into body: inout String) {
        guard let first = runs.first else { return }
        var groupOf = Array(repeating: "", count: first.models.count)
        for group in groups.groups { for index in group.models { groupOf[index] = group.name } }
        // The busiest models first; ties by namespace and id.
        let order = first.models.indices.sorted {
            (first.models[$0].requests, first.models[$1].model) > (first.models[$1].requests, first.models[$0].model)
        }
        let shown = order.prefix(Self.htmlModelRows)
        body += "<section><h2>Models</h2>\n"
        body += "<p class=\"muted\">\(shown.count < order.count ? "The \(Format.count(shown.count)) busiest of \(Format.count(order.count)) models" : "Every model"), "
        body += "busiest first: GPU replica-hours, cold starts, requests that waited and the wait p99 (s) under each policy.</p>\n"
        body += "<table class=\"models\"><thead><tr><th>model</th><th>namespace</th><th>\(groups.byClass ? "class" : "request rate")</th><th class=\"num\">requests</th>"
        for run in runs { body += "<th class=\"num\" colspan=\"4\">\(HTMLText.escape(run.name))</th>" }
        body += "</tr><tr><th></th><th></th><th></th><th></th>"
        for _ in runs { body += "<th class=\"num\">GPU-h</th><th class=\"num\">cold</th><th class=\"num\">waited</th><th class=\"num\">p99</th>" }
        body += "</tr></thead><tbody>\n"
        for index in shown {
            let model = first.models[index]
            body += "<tr><td class=\"model\">\(HTMLText.escape(model.model.modelID))</td><td>\(HTMLText.escape(model.model.namespace))</td>"
            body += "<td>\(HTMLText.escape(groupOf[index]))</td><td class=\"num\">\(Format.count(model.requests))</td>"
            for run in runs {
                let m = run.models[index]
                body += "<td class=\"num\">\(Stats.number(m.gpuHours))</td><td class=\"num\">\(Format.count(m.coldStarts))</td>"
                body += "<td class=\"num\">\(Format.count(m.waited))</td><td class=\"num\">\(Stats.number(m.wait(0.99)))</td>"
            }
            body += "</tr>\n"
        }
        body += "</tbody></table></section>\n"
    }

    private static func page(body: String) -> String {
        var html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        // Opened from a file there are no response headers: the policy travels in the page.
        html += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>replica-recommender: backtest</title>\n"
        html += "<style>\(PageStyle.css)\n.charts{display:flex;flex-wrap:wrap;gap:.8em} figure{margin:0} table.models{margin:.6em 0}</style></head><body>\n"
        html += body
        html += "</body></html>\n"
        return html
    }
}

/// Numbers as the page writes them.
enum Format {
    /// `1,234`.
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = value < 0 ? "-" : ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out += "," }
            out.append(character)
        }
        return out
    }

    /// `33,431`, `12.5`, `0.25`: grouped when large, one decimal under 100, two under 1.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return String(value) }
        if abs(value) >= 100 { return count(Int(value.rounded())) }
        if abs(value) >= 1 || value == 0 { return value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value) }
        return String(format: "%.2f", value)
    }
}

/// A scatter chart of GPU-hours (x) against cold starts (y), one labelled point per policy, inline
/// SVG; points of one kind of policy are joined in order of GPU-hours.
enum TradeOffChart {
    /// One policy's totals.
    struct Point: Equatable {
        let policy: String
        let gpuHours: Double
        let coldStarts: Double
        let waited: Int
    }

    /// The kind of a policy, by its name: `fixed:…`, `adaptive…`, `prewarm…`, or the configuration.
    static func kind(_ policy: String) -> (name: String, colour: String) {
        if policy.hasPrefix("fixed:") { return ("fixed keep-alive", "#6b7683") }
        if policy.hasPrefix("adaptive") { return ("adaptive", "#0b5cad") }
        if policy.hasPrefix("prewarm") { return ("adaptive + pre-warm", "#2f9e55") }
        return (policy == "config" ? "the configuration" : "other", "#c0392b")
    }

    /// Round tick values covering `low...high`, about `count` of them, at least `minimumStep` apart.
    static func ticks(_ low: Double, _ high: Double, count: Int = 5, minimumStep: Double = 0) -> (values: [Double], step: Double) {
        let span = max(high - low, 1e-9)
        let raw = max(span / Double(count), minimumStep)
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw * (1 - 1e-9) } ?? 10 * magnitude
        var values: [Double] = []
        var index = (low / step).rounded(.down)
        while index * step <= high + step * 1e-6 {
            if index * step >= low - step * 1e-6 { values.append(index * step) }
            index += 1
        }
        return (values, step)
    }

    /// The axis for `values`: padded by 8 % (a lone value by a unit or a fifth of itself), never
    /// below zero for non-negative values, widened to round ticks; `integral` axes (counts) have
    /// ticks at least 1 apart.
    static func range(_ values: [Double], integral: Bool = false) -> (low: Double, high: Double, ticks: [Double], step: Double) {
        let smallest = values.min() ?? 0, largest = values.max() ?? 1
        var low: Double, high: Double
        if largest - smallest > 0 {
            let span = largest - smallest
            (low, high) = (smallest - span * 0.08, largest + span * 0.08)
        } else {
            let half = max(integral ? 1 : 0.5, abs(largest) * 0.1)
            (low, high) = (smallest - half, largest + half)
        }
        if smallest >= 0 { low = max(0, low) }
        let step = ticks(low, high, minimumStep: integral ? 1 : 0).step
        low = (low / step).rounded(.down) * step
        high = (high / step).rounded(.up) * step
        return (low, high, ticks(low, high, minimumStep: integral ? 1 : 0).values, step)
    }

    /// A tick's label: as many decimals as the step needs, thousands grouped.
    static func tickLabel(_ value: Double, step: Double) -> String {
        var decimals = 0
        while decimals < 6, abs(step * pow(10, Double(decimals)) - (step * pow(10, Double(decimals))).rounded()) > 1e-6 { decimals += 1 }
        guard decimals > 0 else { return Format.count(Int(value.rounded())) }
        return String(format: "%.\(decimals)f", value)
    }

    /// Label positions for points at pixel positions: points within 3 px of each other share one
    /// label (their names joined); a label that would overlap one already placed moves down a line.
    static func labels(_ positions: [(x: Double, y: Double, name: String)], plotRight: Double) -> [(x: Double, y: Double, text: String, end: Bool)] {
        var clusters: [(x: Double, y: Double, names: [String])] = []
        for position in positions {
            if let index = clusters.firstIndex(where: { abs($0.x - position.x) <= 3 && abs($0.y - position.y) <= 3 }) {
                clusters[index].names.append(position.name)
            } else {
                clusters.append((position.x, position.y, [position.name]))
            }
        }
        var placed: [(x0: Double, x1: Double, y: Double)] = []
        var result: [(x: Double, y: Double, text: String, end: Bool)] = []
        for cluster in clusters.sorted(by: { ($0.y, $0.x) < ($1.y, $1.x) }) {
            let text = cluster.names.joined(separator: ", ")
            let width = Double(text.count) * 5.6
            // Labels go right of their point, or left when they would cross the plot's right edge.
            let end = cluster.x + 8 + width > plotRight
            let x0 = end ? cluster.x - 8 - width : cluster.x + 8, x1 = x0 + width
            var y = cluster.y - 6
            while placed.contains(where: { $0.x0 < x1 && x0 < $0.x1 && abs($0.y - y) < 11 }) { y += 11 }
            placed.append((x0, x1, y))
            result.append((end ? cluster.x - 8 : cluster.x + 8, y, text, end))
        }
        return result
    }

    /// The chart.
    static func svg(_ points: [Point], title: String, width: Double, height: Double) -> String {
        let (left, right, top, bottom) = (64.0, 16.0, 30.0, 58.0)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let xs = range(points.map(\.gpuHours)), ys = range(points.map(\.coldStarts), integral: true)
        func x(_ v: Double) -> Double { left + (v - xs.low) / (xs.high - xs.low) * plotWidth }
        func y(_ v: Double) -> Double { top + plotHeight - (v - ys.low) / (ys.high - ys.low) * plotHeight }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        let label = HTMLText.escape(title)

        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"tradeoff\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(label)\">"
        svg += "<title>\(label)</title>"
        svg += "<text x=\"\(f(left))\" y=\"18\" font-size=\"13\" font-weight=\"600\" fill=\"#1d2430\">\(label)</text>"
        for value in ys.ticks {
            svg += "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(y(value)))\" y2=\"\(f(y(value)))\" stroke=\"#e6e9ed\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y(value) + 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#6b7683\">\(tickLabel(value, step: ys.step))</text>"
        }
        for value in xs.ticks {
            svg += "<line x1=\"\(f(x(value)))\" x2=\"\(f(x(value)))\" y1=\"\(f(top))\" y2=\"\(f(top + plotHeight))\" stroke=\"#f0f2f4\"/>"
            svg += "<text x=\"\(f(x(value)))\" y=\"\(f(top + plotHeight + 15))\" text-anchor=\"middle\" font-size=\"11\" fill=\"#6b7683\">\(tickLabel(value, step: xs.step))</text>"
        }
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight + 32))\" text-anchor=\"middle\" font-size=\"11\" fill=\"#4a5563\">GPU replica-hours</text>"
        svg += "<text transform=\"translate(14 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"11\" fill=\"#4a5563\">cold starts</text>"

        // The curves: points of one kind joined in order of GPU-hours.
        var kinds: [String: [Point]] = [:]
        for point in points { kinds[kind(point.policy).name, default: []].append(point) }
        for (_, members) in kinds.sorted(by: { $0.key < $1.key }) where members.count > 1 {
            let sorted = members.sorted { ($0.gpuHours, $0.coldStarts) < ($1.gpuHours, $1.coldStarts) }
            let d = sorted.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(f(x($0.element.gpuHours))) \(f(y($0.element.coldStarts)))" }.joined()
            svg += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(kind(sorted[0].policy).colour)\" stroke-width=\"1.5\" stroke-opacity=\"0.6\"/>"
        }
        for point in points {
            let (kindName, colour) = kind(point.policy)
            svg += "<circle cx=\"\(f(x(point.gpuHours)))\" cy=\"\(f(y(point.coldStarts)))\" r=\"\(kindName == "the configuration" ? 6 : 4.5)\" fill=\"\(colour)\" stroke=\"#fff\" stroke-width=\"1\">"
            svg += "<title>\(HTMLText.escape(point.policy)) (\(HTMLText.escape(kindName))): \(Format.number(point.gpuHours)) GPU replica-hours, "
            svg += "\(Format.count(Int(point.coldStarts))) cold starts, \(Format.count(point.waited)) requests waited</title></circle>"
        }
        for label in labels(points.map { (x($0.gpuHours), y($0.coldStarts), $0.policy) }, plotRight: width - right) {
            svg += "<text x=\"\(f(label.x))\" y=\"\(f(label.y))\" text-anchor=\"\(label.end ? "end" : "start")\" font-size=\"10\" fill=\"#1d2430\">\(HTMLText.escape(label.text))</text>"
        }
        // The legend: the kinds present.
        var legendX = left
        let present = ["the configuration", "fixed keep-alive", "adaptive", "adaptive + pre-warm", "other"].filter { kinds[$0] != nil }
        for kindName in present {
            let colour = points.first { kind($0.policy).name == kindName }.map { kind($0.policy).colour } ?? "#000"
            svg += "<circle cx=\"\(f(legendX + 5))\" cy=\"\(f(height - 10))\" r=\"4\" fill=\"\(colour)\"/>"
            svg += "<text x=\"\(f(legendX + 13))\" y=\"\(f(height - 6))\" font-size=\"11\" fill=\"#1d2430\">\(kindName)</text>"
            legendX += 22 + Double(kindName.count) * 6.2
        }
        svg += "</svg>\n"
        return svg
    }
}
