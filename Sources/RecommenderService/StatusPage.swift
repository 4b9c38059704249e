import Foundation
import HTMLPage
import ModelConfig
import Recommendation

// The status pages: `GET /` (the fleet) and `GET /models/{namespace}/{model}` (one model).
// Server-rendered HTML with inline CSS and inline SVG: no script, no fetch, nothing loaded from
// anywhere (the Content-Security-Policy forbids it), so it works in an air-gapped cluster. Every
// value that comes from the outside (model ids, namespaces, config values, details, the query) is
// escaped where it is written.

extension RecommenderAPI {
    /// `GET /` with its query string (`namespace`, `state`, `q`, `sort`, `order`, `page`, `per`;
    /// see ``FleetQuery``): the fleet summary and one page of the model table.
    public func fleetPage(query: String) async -> Reply {
        let status = await engine.fleetStatus(FleetQuery(query: query), now: clock.now())
        return Self.page(200, StatusPage.fleet(status))
    }

    /// `GET /models/{namespace}/{model}`, `path` as received: the model id percent-encoded (`%2F`
    /// for `/`) or not, like the wake call. 404 with a page for a bad path or an unknown model.
    public func modelPage(path: String) async -> Reply {
        guard let key = Self.modelPageTarget(path) else {
            return Self.page(404, StatusPage.notFound("expected /models/{namespace}/{model} with a percent-encoded model id"))
        }
        guard let status = await engine.modelStatus(key, now: clock.now()) else {
            return Self.page(404, StatusPage.notFound("the recommender does not know model \(key.modelID) in namespace \(key.namespace)"))
        }
        return Self.page(200, StatusPage.model(status))
    }

    /// Parses `/models/{namespace}/{model…}`: the model is everything after the namespace,
    /// percent-decoded, so `org%2Fllama` and `org/llama` agree.
    static func modelPageTarget(_ rawPath: String) -> ModelKey? {
        let path = rawPath.split(separator: "?", maxSplits: 1).first.map(String.init) ?? rawPath
        let prefix = "/models/"
        guard path.hasPrefix(prefix) else { return nil }
        let parts = path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
            .map { String($0).removingPercentEncoding ?? String($0) }
        guard parts.count >= 2, !parts[0].isEmpty else { return nil }
        let model = parts.dropFirst().joined(separator: "/")
        guard !model.isEmpty, !model.hasPrefix("/"), !model.hasSuffix("/") else { return nil }
        return ModelKey(namespace: parts[0], modelID: model)
    }

    /// An HTML reply that may load nothing and run nothing, and is never cached.
    static func page(_ status: Int, _ html: String) -> Reply {
        var reply = Reply(status: status, contentType: "text/html; charset=utf-8", body: html)
        reply.headers = [
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        ]
        return reply
    }
}

/// HTML and URL escaping.
enum HTML {
    /// Text safe inside an element or a double-quoted attribute: `& < > " '` as entities.
    static func escape(_ text: String) -> String { HTMLText.escape(text) }

    /// Characters left as they are in a path segment or a query value: RFC 3986's unreserved.
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// A query name or value, percent-encoded (`/`, `&`, `=`, `+`, spaces and the rest included).
    static func queryEncode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "" }

    /// The link to a model's page: namespace and model id percent-encoded, `/` in the id as `%2F`.
    static func modelLink(_ key: ModelKey) -> String { "/models/\(queryEncode(key.namespace))/\(queryEncode(key.modelID))" }
}

/// Numbers, durations and times as the pages write them.
enum StatusFormat {
    /// `42s`, `3m 12s`, `2h 05m`, `3d 4h`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "—" }
        let s = Int(max(0, seconds).rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m \(s % 60)s" }
        if s < 86_400 { return "\(s / 3600)h \(String(format: "%02d", (s % 3600) / 60))m" }
        return "\(s / 86_400)d \((s % 86_400) / 3600)h"
    }

    /// `2025-11-30 08:45:12 UTC`.
    static func time(_ seconds: Double) -> String {
        var t = time_t(seconds.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d UTC",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// `08:45` or, with seconds, `08:45:12` (UTC).
    static func clock(_ seconds: Double, withSeconds: Bool) -> String {
        let full = time(seconds)
        let start = full.index(full.startIndex, offsetBy: 11)
        return String(full[start..<full.index(start, offsetBy: withSeconds ? 8 : 5)])
    }

    /// `3m 12s ago`, `just now`.
    static func ago(_ seconds: Double, now: Double) -> String {
        let elapsed = now - seconds
        return elapsed < 1 ? "just now" : "\(duration(elapsed)) ago"
    }

    /// `3`, `0.75`, `unknown`.
    static func number(_ value: Double?) -> String {
        guard let value else { return "unknown" }
        guard value.isFinite else { return String(value) }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: "%.2f", value)
    }

    /// `1,234`.
    static func count(_ value: Int) -> String {
        let digits = String(value)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0, character != "-" { out += "," }
            out.append(character)
        }
        return out
    }
}

/// The HTML of the status pages, as pure functions of their snapshots.
enum StatusPage {
    /// The fleet page.
    static func fleet(_ status: FleetStatus) -> String {
        let q = status.query
        var html = head(title: "replica-recommender: fleet", capacity: 8192 + status.rows.count * 1400 + status.namespaces.count * 80)
        html += "<header><h1>replica-recommender</h1><span class=\"muted\">fleet status at \(StatusFormat.time(status.now))</span></header>\n"
        summary(status, into: &html)
        if !q.problems.isEmpty {
            html += "<ul class=\"problems\">"
            for problem in q.problems { html += "<li>ignored: \(HTML.escape(problem))</li>" }
            html += "</ul>\n"
        }
        filters(status, into: &html)
        let first = status.matching == 0 ? 0 : (q.page - 1) * q.perPage + 1
        let last = min(q.page * q.perPage, status.matching)
        html += "<p class=\"count\">\(StatusFormat.count(status.matching)) of \(StatusFormat.count(status.known)) models match"
        if status.matching > 0 { html += "; showing \(StatusFormat.count(first))–\(StatusFormat.count(last)), page \(q.page) of \(status.pages)" }
        html += "</p>\n"
        pagination(status, into: &html)
        table(status, into: &html)
        pagination(status, into: &html)
        html += "<footer class=\"muted\">Times in UTC. The same data as JSON: <a href=\"/api/v1/recommendations\">/api/v1/recommendations</a>; "
        html += "for Prometheus: <a href=\"/metrics\">/metrics</a>; readiness: <a href=\"/readyz\">/readyz</a>.</footer>\n"
        html += "</body></html>\n"
        return html
    }

    private static func summary(_ status: FleetStatus, into html: inout String) {
        html += "<section class=\"summary\">\n"
        html += "<div class=\"card\"><h2>Models</h2><p class=\"big\">\(StatusFormat.count(status.known))</p><p>"
        let states = FleetQuery.states.filter { $0 != "undecided" || (status.byState[$0] ?? 0) > 0 }
        html += states.map { state in
            let count = status.byState[state] ?? 0
            let link = status.query.queryString { $0.state = state; $0.page = 1 }
            return "<a class=\"state s-\(state)\" href=\"\(HTML.escape(link))\">\(state) \(StatusFormat.count(count))</a>"
        }.joined(separator: " ")
        html += "</p></div>\n"
        html += "<div class=\"card\"><h2>GPU replicas now</h2><p class=\"big\">\(StatusFormat.count(status.desiredTotal))</p>"
        html += "<p>recommended, summed over models; \(StatusFormat.count(status.readyTotal)) ready</p></div>\n"
        if status.killSwitch {
            html += "<div class=\"card bad\"><h2>Kill switch</h2><p class=\"big\">engaged</p><p>scale-to-zero frozen: every model is kept at ≥ 1</p></div>\n"
        } else {
            html += "<div class=\"card\"><h2>Kill switch</h2><p class=\"big\">off</p><p>models may go to zero</p></div>\n"
        }
        if !status.configLoaded {
            html += "<div class=\"card bad\"><h2>Configuration</h2><p class=\"big\">not loaded</p><p>\(HTML.escape(status.configReloadFailure ?? "the ConfigMap has not been read yet"))</p></div>\n"
        } else if !status.configErrors.isEmpty {
            html += "<div class=\"card bad\"><h2>Configuration</h2><p class=\"big\">\(status.configErrors.count) error\(status.configErrors.count == 1 ? "" : "s")</p>"
            html += "<p>last good versions of those entries in force</p><ul>"
            for error in status.configErrors.prefix(5) { html += "<li><code>\(HTML.escape(error))</code></li>" }
            if status.configErrors.count > 5 { html += "<li>and \(status.configErrors.count - 5) more (see the log or check-config)</li>" }
            html += "</ul></div>\n"
        } else if let failure = status.configReloadFailure {
            html += "<div class=\"card bad\"><h2>Configuration</h2><p class=\"big\">reload failed</p><p><code>\(HTML.escape(failure))</code></p></div>\n"
        } else {
            html += "<div class=\"card\"><h2>Configuration</h2><p class=\"big\">ok</p><p>no errors</p></div>\n"
        }
        prometheus(status, into: &html)
        html += "</section>\n"
        if !status.warnings.isEmpty {
            html += "<ul class=\"warnings\">"
            for warning in status.warnings { html += "<li>\(HTML.escape(warning))</li>" }
            html += "</ul>\n"
        }
    }

    private static func prometheus(_ status: FleetStatus, into html: inout String) {
        let lastTick = status.lastTick.map { "last tick \(StatusFormat.ago($0, now: status.now))" }
        if !status.failingSignals.isEmpty {
            html += "<div class=\"card bad\"><h2>Prometheus</h2><p class=\"big\">failing</p><p>queries failing: "
            html += HTML.escape(status.failingSignals.joined(separator: ", "))
            html += "; models needing them are held\(lastTick.map { "; \($0)" } ?? "")</p></div>\n"
        } else if !status.recovered {
            html += "<div class=\"card bad\"><h2>Prometheus</h2><p class=\"big\">waiting</p><p>the last recommendations have not been read back yet: no decision until they are</p></div>\n"
        } else if let lastTick {
            html += "<div class=\"card\"><h2>Prometheus</h2><p class=\"big\">ok</p><p>every query answered; \(lastTick)</p></div>\n"
        } else {
            html += "<div class=\"card bad\"><h2>Prometheus</h2><p class=\"big\">no tick yet</p><p>no tick has decided yet</p></div>\n"
        }
    }

    private static func filters(_ status: FleetStatus, into html: inout String) {
        let q = status.query
        html += "<form method=\"get\" action=\"/\" class=\"filters\">\n"
        html += "<label>Namespace <select name=\"namespace\"><option value=\"\">all</option>"
        for namespace in status.namespaces {
            let selected = namespace.name == q.namespace ? " selected" : ""
            html += "<option value=\"\(HTML.escape(namespace.name))\"\(selected)>\(HTML.escape(namespace.name)) (\(namespace.models))</option>"
        }
        html += "</select></label>\n"
        html += "<label>State <select name=\"state\"><option value=\"\">all</option>"
        for state in FleetQuery.states {
            html += "<option value=\"\(state)\"\(state == q.state ? " selected" : "")>\(state)</option>"
        }
        html += "</select></label>\n"
        html += "<label>Model contains <input type=\"search\" name=\"q\" value=\"\(HTML.escape(q.text ?? ""))\" placeholder=\"text\"></label>\n"
        html += "<label>Sort <select name=\"sort\">"
        for key in FleetQuery.SortKey.allCases {
            html += "<option value=\"\(key.rawValue)\"\(key == q.sort ? " selected" : "")>\(sortLabel(key))</option>"
        }
        html += "</select></label>\n"
        html += "<label>Order <select name=\"order\"><option value=\"asc\"\(q.descending ? "" : " selected")>ascending</option>"
        html += "<option value=\"desc\"\(q.descending ? " selected" : "")>descending</option></select></label>\n"
        html += "<label>Per page <select name=\"per\">"
        for per in Set([50, 100, 500, 1000, q.perPage]).sorted() {
            html += "<option value=\"\(per)\"\(per == q.perPage ? " selected" : "")>\(per)</option>"
        }
        html += "</select></label>\n"
        html += "<button type=\"submit\">Apply</button> <a href=\"/\">reset</a>\n</form>\n"
    }

    private static func sortLabel(_ key: FleetQuery.SortKey) -> String {
        switch key {
        case .namespace: "namespace, model"
        case .model: "model"
        case .state: "state"
        case .desired: "desired"
        case .ready: "ready"
        case .activity: "last activity"
        case .zero: "time to zero"
        case .coldStart: "last cold start"
        case .keepAlive: "keep-alive"
        }
    }

    private static func pagination(_ status: FleetStatus, into html: inout String) {
        let q = status.query
        guard status.pages > 1 else { return }
        func link(_ page: Int, _ text: String) -> String {
            guard page != q.page, (1...status.pages).contains(page) else { return "<span class=\"muted\">\(text)</span>" }
            return "<a href=\"\(HTML.escape(q.queryString { $0.page = page }))\">\(text)</a>"
        }
        html += "<nav class=\"pages\">\(link(1, "« first")) \(link(q.page - 1, "‹ previous")) "
        let window = max(1, q.page - 3)...min(status.pages, q.page + 3)
        html += window.map { $0 == q.page ? "<b>\($0)</b>" : link($0, String($0)) }.joined(separator: " ")
        html += " \(link(q.page + 1, "next ›")) \(link(status.pages, "last »"))</nav>\n"
    }

    private static func table(_ status: FleetStatus, into html: inout String) {
        let q = status.query
        func header(_ text: String, _ key: FleetQuery.SortKey?, _ className: String = "") -> String {
            let attribute = className.isEmpty ? "" : " class=\"\(className)\""
            guard let key else { return "<th\(attribute)>\(text)</th>" }
            let descending = key == q.sort ? !q.descending : false
            let arrow = key == q.sort ? (q.descending ? " ▼" : " ▲") : ""
            let link = q.queryString { $0.sort = key; $0.descending = descending; $0.page = 1 }
            return "<th\(attribute)><a href=\"\(HTML.escape(link))\">\(text)\(arrow)</a></th>"
        }
        html += "<table class=\"models\"><thead><tr>"
        html += header("Namespace", .namespace) + header("Model", .model) + header("State", .state)
        html += header("Desired", .desired, "num") + header("Ready", .ready, "num") + header("Reason", nil)
        html += header("Last activity", .activity) + header("To zero", .zero) + header("Keep-alive", .keepAlive, "num")
        html += header("Cold starts", .coldStart, "num")
        html += "</tr></thead>\n<tbody>\n"
        if status.rows.isEmpty { html += "<tr><td colspan=\"10\" class=\"muted\">no model matches</td></tr>\n" }
        for row in status.rows {
            let state = row.phase?.rawValue ?? "undecided"
            html += "<tr><td>\(HTML.escape(row.key.namespace))</td>"
            html += "<td class=\"model\"><a href=\"\(HTML.escape(HTML.modelLink(row.key)))\">\(HTML.escape(row.key.modelID))</a></td>"
            html += "<td><span class=\"state s-\(state)\">\(state)</span></td>"
            html += "<td class=\"num\">\(row.desired.map(String.init) ?? "—")</td>"
            html += "<td class=\"num\">\(row.ready.map { StatusFormat.number($0) } ?? "unknown")</td>"
            html += "<td>\(reasonCell(row))</td>"
            html += "<td>\(row.lastActivity.map { "<span title=\"\(StatusFormat.time($0))\">\(StatusFormat.ago($0, now: status.now))</span>" } ?? "<span class=\"muted\">never seen</span>")</td>"
            html += "<td class=\"z-\(row.outlook.kind.rawValue)\">\(HTML.escape(row.outlook.text))</td>"
            html += "<td class=\"num\">\(StatusFormat.duration(row.retention))\(row.learned ? "<br><span class=\"muted\">learned</span>" : "")</td>"
            html += "<td class=\"num\">\(row.coldStarts)\(row.lastColdStart.map { "<br><span class=\"muted\">last \(StatusFormat.duration($0))</span>" } ?? "")</td>"
            html += "</tr>\n"
        }
        html += "</tbody></table>\n"
    }

    /// The reason in words, then the decision's own detail.
    static func reasonCell(_ row: ModelRow) -> String {
        guard let reason = row.reason else { return "<span class=\"muted\">not decided yet</span>" }
        return "<b>\(reasonWords(reason))</b><br><span class=\"detail\">\(HTML.escape(row.detail ?? ""))</span>"
    }

    /// What a reason means, in a few words.
    static func reasonWords(_ reason: Reason) -> String {
        switch reason {
        case .active: "sized to load"
        case .wake: "woken"
        case .idle: "idle: zero"
        case .hold: "held on unknown data"
        case .noWakePath: "no wake path"
        case .prewarm: "pre-warmed for an expected arrival"
        }
    }

    // MARK: - One model

    /// One model's page.
    static func model(_ status: ModelStatus) -> String {
        let row = status.row
        let title = "\(row.key.namespace)/\(row.key.modelID)"
        let state = row.phase?.rawValue ?? "undecided"
        var html = head(title: "replica-recommender: \(title)", capacity: 16_384 + status.history.count * 64)
        html += "<header><a href=\"/\">← fleet</a> <span class=\"muted\">model status at \(StatusFormat.time(status.now))</span></header>\n"
        html += "<h1 class=\"model\">\(HTML.escape(row.key.modelID)) <span class=\"muted\">in namespace</span> \(HTML.escape(row.key.namespace)) "
        html += "<span class=\"state s-\(state)\">\(state)</span></h1>\n"

        html += "<section><h2>Decision</h2><table class=\"kv\">"
        func kv(_ name: String, _ value: String) { html += "<tr><th>\(name)</th><td>\(value)</td></tr>" }
        kv("desired replicas", row.desired.map(String.init) ?? "not decided yet")
        kv("ready replicas", StatusFormat.number(row.ready))
        kv("reason", reasonCell(row))
        kv("zero", "<span class=\"z-\(row.outlook.kind.rawValue)\">\(HTML.escape(row.outlook.text))</span>"
            + (row.outlook.at.map { " <span class=\"muted\">(\(StatusFormat.time($0)))</span>" } ?? ""))
        kv("wake path", row.wakePath?.rawValue ?? "—")
        if let learning = status.learning {
            let bounds = "\(StatusFormat.duration(learning.lower))–\(StatusFormat.duration(learning.upper))"
            kv("keep-alive", learning.adaptive
                ? "\(StatusFormat.duration(row.retention)), learned from the model's idle gaps within \(bounds) "
                    + "<span class=\"muted\">(\(StatusFormat.number(learning.gaps.rounded())) gap(s) weighed; \(StatusFormat.number(learning.gapsNeeded)) before they are trusted)</span>"
                : "\(StatusFormat.duration(row.retention)), fixed (retention_period)")
            kv("arrivals", learning.period.map { "periodic: every \(StatusFormat.duration($0)) (± \(StatusFormat.duration(learning.spread)))" }
                ?? "<span class=\"muted\">no period learned</span>")
            kv("cold start (learned)", learning.coldStart.map { StatusFormat.duration($0) } ?? "<span class=\"muted\">none measured</span>")
            if let window = learning.prewarm {
                kv("pre-warm", "up for an arrival expected at \(StatusFormat.time(window.expected.seconds)); let go at \(StatusFormat.time(window.until.seconds)) if nothing comes")
            }
        } else {
            kv("keep-alive", "\(StatusFormat.duration(row.retention)), fixed (retention_period)")
        }
        func instant(_ value: Instant?, _ none: String) -> String {
            value.map { "\(StatusFormat.ago($0.seconds, now: status.now)) <span class=\"muted\">(\(StatusFormat.time($0.seconds)))</span>" }
                ?? "<span class=\"muted\">\(none)</span>"
        }
        kv("last activity", instant(status.state.lastActivity, "never seen"))
        kv("last wake", instant(status.state.lastWake, "none seen"))
        kv("observed continuously since", instant(status.state.observedSince, "not observing (unknown data, or no replica reporting)"))
        kv("cold start in progress since", instant(status.state.coldStartSince, "none"))
        kv("cold starts", "\(row.coldStarts) since the recommender started"
            + (row.lastColdStart.map { "; the last took \(StatusFormat.duration($0))" } ?? ""))
        html += "</table></section>\n"

        html += "<section><h2>Recommendation and ready replicas</h2>\n"
        html += StatusChart.svg(status.history, now: status.now, label: title)
        if status.historyTruncated {
            html += "<p class=\"muted\">Only the last \(ModelHistory.capacity) changes are kept; older ones were dropped.</p>\n"
        }
        recentChanges(status, into: &html)
        html += "</section>\n"

        signals(status, into: &html)

        html += "<section><h2>Configuration</h2><table class=\"kv\"><thead><tr><th>field</th><th>value</th><th>from</th></tr></thead><tbody>"
        for field in status.config.rows {
            html += "<tr><th>\(HTML.escape(field.field))</th><td><code>\(HTML.escape(field.value))</code></td>"
            html += "<td>\(field.source.map { "<code>\(HTML.escape($0))</code>" } ?? "")</td></tr>"
        }
        html += "</tbody></table>"
        if !status.config.notes.isEmpty {
            html += "<ul class=\"warnings\">"
            for note in status.config.notes { html += "<li>\(HTML.escape(note))</li>" }
            html += "</ul>"
        }
        html += "<p class=\"muted\">The same as <code>replica-recommender explain</code> prints.</p></section>\n"
        html += "</body></html>\n"
        return html
    }

    private static func recentChanges(_ status: ModelStatus, into html: inout String) {
        guard !status.history.isEmpty else { return }
        html += "<details><summary>Last changes</summary><table class=\"kv\"><thead><tr><th>time</th><th>desired</th><th>ready</th></tr></thead><tbody>"
        for point in status.history.suffix(20).reversed() {
            html += "<tr><td>\(StatusFormat.time(Double(point.time)))</td><td class=\"num\">\(point.desired)</td>"
            html += "<td class=\"num\">\(point.readyReplicas.map(String.init) ?? "unknown")</td></tr>"
        }
        html += "</tbody></table></details>\n"
    }

    private static func signals(_ status: ModelStatus, into html: inout String) {
        let s = status.signals
        html += "<section><h2>Signals of the last tick</h2>"
        html += "<p class=\"muted\">\(status.lastTick.map { "tick at \(StatusFormat.time($0)), \(StatusFormat.ago($0, now: status.now))" } ?? "no tick has decided yet"); unknown means the query failed, timed out or answered partially.</p>"
        html += "<table class=\"kv\"><tbody>"
        let range = StatusFormat.duration(status.row.retention)
        let rows: [(String, String, String)] = [
            ("model_request_count", StatusFormat.number(s.requests), "completed requests in the last \(range)"),
            ("running", StatusFormat.number(s.running), "requests being processed in the pods"),
            ("waiting", StatusFormat.number(s.waiting), "requests queued in the pods"),
            ("ready", StatusFormat.number(s.ready), "pods reporting vLLM metrics"),
            ("kv_cache_usage", StatusFormat.number(s.kvCacheUsage), "average KV-cache usage, 0 to 1"),
            ("demand", StatusFormat.number(s.demand), "requests queued at the gateway"),
            ("gateway_requests", StatusFormat.number(s.gatewayRequests), "the gateway's request counter (a rise is demand)"),
            ("gateway_seen", s.gatewaySeen ? "yes" : "no", "the gateway has series for this model (a wake path)"),
        ]
        for (name, value, meaning) in rows {
            html += "<tr><th>\(name)</th><td class=\"num\(value == "unknown" ? " unknown" : "")\">\(value)</td><td class=\"muted\">\(meaning)</td></tr>"
        }
        html += "</tbody></table>"
        if !status.failingSignals.isEmpty {
            html += "<p class=\"bad\">Queries failing now: \(HTML.escape(status.failingSignals.joined(separator: ", ")))</p>"
        }
        html += "</section>\n"
    }

    /// A page saying what was not found.
    static func notFound(_ message: String) -> String {
        var html = head(title: "replica-recommender: not found", capacity: 4096)
        html += "<header><a href=\"/\">← fleet</a></header><h1>Not found</h1><p>\(HTML.escape(message))</p></body></html>\n"
        return html
    }

    // MARK: - Shared

    private static func head(title: String, capacity: Int) -> String {
        var html = ""
        html.reserveCapacity(capacity)
        html += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>\(HTML.escape(title))</title>\n"
        html += "<style>\(css)</style></head><body>\n"
        return html
    }

    static let css = PageStyle.css
}

/// The chart of a model's page: its recommendation and ready replicas as step lines over the last
/// hours, inline SVG.
enum StatusChart {
    /// How far back the chart reaches at most.
    static let window = 6.0 * 3600
    /// The shortest span shown.
    static let minimumSpan = 60.0

    /// The SVG, from a little before the oldest point (at most ``window`` back, at least
    /// ``minimumSpan``) to `now`; the value before the span's start is carried into it.
    static func svg(_ points: [ModelHistory.Point], now: Double, label: String) -> String {
        let (width, height) = (760.0, 200.0)
        let (left, right, top, bottom) = (44.0, 12.0, 12.0, 36.0)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let oldest = points.first.map { Double($0.time) } ?? now
        // A margin of 5% before the oldest point shows where the line starts.
        let start = min(max(now - window, oldest - max(1, (now - oldest) * 0.05)), now - minimumSpan)
        let span = now - start
        let highest = points.reduce(1) { max($0, Int($1.desired), $1.readyReplicas ?? 0) }
        let step = highest <= 8 ? 1 : Int((Double(highest) / 5).rounded(.up))
        let top_ = Double(((highest + step - 1) / step) * step)
        func x(_ t: Double) -> Double { left + (max(t, start) - start) / span * plotWidth }
        func y(_ v: Double) -> Double { top + plotHeight - v / top_ * plotHeight }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(HTML.escape("Recommendation and ready replicas of \(label)"))\">"
        svg += "<title>\(HTML.escape("Recommendation and ready replicas of \(label)"))</title>"
        var value = 0
        while value <= Int(top_) {
            svg += "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(y(Double(value))))\" y2=\"\(f(y(Double(value))))\" stroke=\"#e6e9ed\"/>"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y(Double(value)) + 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#6b7683\">\(value)</text>"
            value += step
        }
        let withSeconds = span < 3600
        for index in 0...4 {
            let t = start + span * Double(index) / 4
            let anchor = index == 0 ? "start" : index == 4 ? "end" : "middle"
            svg += "<line x1=\"\(f(x(t)))\" x2=\"\(f(x(t)))\" y1=\"\(f(top))\" y2=\"\(f(top + plotHeight))\" stroke=\"#f0f2f4\"/>"
            svg += "<text x=\"\(f(x(t)))\" y=\"\(f(height - bottom + 16))\" text-anchor=\"\(anchor)\" font-size=\"11\" fill=\"#6b7683\">\(StatusFormat.clock(t, withSeconds: withSeconds))</text>"
        }
        svg += "<text x=\"\(f(width - right))\" y=\"\(f(height - 4))\" text-anchor=\"end\" font-size=\"11\" fill=\"#6b7683\">UTC, last \(StatusFormat.duration(span))</text>"
        if points.isEmpty {
            svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" font-size=\"13\" fill=\"#6b7683\">no decision yet</text>"
        } else {
            // Ready over recommended, dashed: where they agree both colours show.
            svg += "<path d=\"\(path(points, value: { Int($0.desired) }, x: x, y: y, end: now, start: start))\" fill=\"none\" stroke=\"#0b5cad\" stroke-width=\"2.5\"/>"
            svg += "<path d=\"\(path(points, value: { $0.readyReplicas }, x: x, y: y, end: now, start: start))\" fill=\"none\" stroke=\"#2f9e55\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>"
        }
        svg += "<line x1=\"\(f(left + 4))\" x2=\"\(f(left + 24))\" y1=\"\(f(height - 8))\" y2=\"\(f(height - 8))\" stroke=\"#0b5cad\" stroke-width=\"2\"/>"
        svg += "<text x=\"\(f(left + 28))\" y=\"\(f(height - 4))\" font-size=\"11\" fill=\"#1d2430\">recommended</text>"
        svg += "<line x1=\"\(f(left + 118))\" x2=\"\(f(left + 138))\" y1=\"\(f(height - 8))\" y2=\"\(f(height - 8))\" stroke=\"#2f9e55\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>"
        svg += "<text x=\"\(f(left + 142))\" y=\"\(f(height - 4))\" font-size=\"11\" fill=\"#1d2430\">ready</text>"
        svg += "</svg>\n"
        return svg
    }

    /// A step line through the points from `start` to `end`; nil values break it (unknown ready).
    static func path(
        _ points: [ModelHistory.Point], value: (ModelHistory.Point) -> Int?, x: (Double) -> Double, y: (Double) -> Double,
        end: Double, start: Double
    ) -> String {
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        // The last point at or before the start carries its value into the span.
        let firstShown = points.lastIndex { Double($0.time) <= start } ?? 0
        var d = ""
        var drawing = false
        for (index, point) in points.enumerated().dropFirst(firstShown) {
            let t = max(Double(point.time), start)
            let nextTime = index + 1 < points.count ? Double(points[index + 1].time) : end
            guard let v = value(point) else {
                drawing = false
                continue
            }
            if drawing {
                d += "V\(f(y(Double(v))))"
            } else {
                d += "M\(f(x(t))) \(f(y(Double(v))))"
                drawing = true
            }
            d += "H\(f(x(max(nextTime, start))))"
        }
        return d
    }
}
