import Foundation
import Logging
import ModelConfig
import PrometheusClient
import Recommendation
import Testing
@testable import RecommenderService

/// A clock that reads what the test says.
struct FixedClock: TimeSource {
    let seconds: Double
    func now() -> Instant { Instant(seconds: seconds) }
}

/// A complete tick's answers: `ready` replicas and `running` requests per model (0 for the others),
/// `requests` completed in every window (0 for the others), and the gateway's request series
/// (no new request) for the model ids in `gateway`.
func statusFleet(
    ready: [ModelKey: Double], running: [ModelKey: Double] = [:], requests completed: [ModelKey: Double] = [:], gateway: [String],
    retentions: [Int64]
) -> FleetSignals {
    var requests: [ConfigDuration: Result<[ModelKey: Double], PrometheusError>] = [:]
    for seconds in retentions { requests[ConfigDuration(seconds: seconds)] = .success(ready.mapValues { _ in 0 }.merging(completed) { $1 }) }
    return FleetSignals(
        requests: requests, running: .success(ready.mapValues { _ in 0 }.merging(running) { $1 }), waiting: .success([:]),
        ready: .success(ready), kvCache: .success([:]), demand: .success([:]),
        gatewayRequests: .success(Dictionary(uniqueKeysWithValues: gateway.map { (GatewayKey(namespace: nil, name: $0), 0.0) })))
}

/// The models of the fleet page tests, each in a state the page has to explain.
enum Fleet {
    static let idle = ModelKey(namespace: "prod", modelID: "org/idle")
    static let busy = ModelKey(namespace: "prod", modelID: "org/busy")
    static let alwaysOn = ModelKey(namespace: "prod", modelID: "org/always-on")
    static let noGateway = ModelKey(namespace: "dev", modelID: "org/no-gateway")
    static let sleeper = ModelKey(namespace: "dev", modelID: "org/sleeper")
    static let recent = ModelKey(namespace: "prod", modelID: "org/recent")
    static let adaptive = ModelKey(namespace: "prod", modelID: "org/adaptive")
    static let hostile = ModelKey(namespace: "prod", modelID: #"<script>alert("x")</script>"#)
    static let quoted = ModelKey(namespace: "team<b>&co", modelID: #"a&b 'single' "double""#)
    static let all = [idle, busy, alwaysOn, noGateway, sleeper, recent, adaptive, hostile, quoted]

    static let config = [
        "default": "enable_scale_to_zero: true\nretention_period: 100s\n",
        "always-on": "model_id: org/always-on\nnamespace: prod\nenable_scale_to_zero: false\n",
        "sleeper": "model_id: org/sleeper\nnamespace: dev\nretention_period: 10s\n",
        // No gap learned yet: the break-even retention, the cold-start cost, within [20s, 100s].
        "adaptive": "model_id: org/adaptive\nnamespace: prod\nkeep_alive: adaptive\ncold_start_cost: 30s\nmin_retention_period: 20s\n",
    ]

    /// An engine that has ticked at 0, 1 and 20 s: the sleeper is at zero (10 s retention), the idle
    /// models count down their 100 s, the busy one serves, one has no wake path, one completed
    /// requests within its window (nothing in flight), one learns its keep-alive (30 s so far).
    static func engine(options: EngineOptions = EngineOptions()) async -> Engine {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let engine = Engine(options: options, logger: logger)
        await engine.loadConfig(config.map { RawEntry(key: $0.key, text: $0.value, location: EntryLocation(file: $0.key)) }, now: Instant(seconds: 0))
        await engine.recover(.success([:]), now: Instant(seconds: 0))
        var ready: [ModelKey: Double] = [:]
        for key in all { ready[key] = 1 }
        ready[busy] = 2
        let gateway = all.filter { $0 != noGateway }.map(\.modelID)
        for second in [0.0, 1, 20] {
            let fleet = statusFleet(ready: ready, running: [busy: 3], requests: [recent: 3], gateway: gateway, retentions: [100, 10, 30])
            await engine.tick(fleet, outcomes: [], duration: 0.01, now: Instant(seconds: second))
        }
        return engine
    }
}

/// The status pages tell, per model, where it is and why, and cannot be turned against the reader.
struct StatusPageTests {
    /// The `<tr>` of the model table whose model link is `key`'s.
    func row(_ page: String, _ key: ModelKey) -> String? {
        let link = "href=\"\(HTML.escape(HTML.modelLink(key)))\""
        return page.components(separatedBy: "<tr>").first { $0.contains(link) }
    }

    @Test func theFleetPageCountsTheStatesAndSaysWhenEachModelGoesToZeroOrWhatKeepsIt() async throws {
        let engine = await Fleet.engine()
        let api = RecommenderAPI(engine: engine, clock: FixedClock(seconds: 20), options: APIOptions())
        let reply = await api.fleetPage(query: "")
        #expect(reply.status == 200)
        #expect(reply.contentType == "text/html; charset=utf-8")
        #expect(reply.headers["Content-Security-Policy"]?.hasPrefix("default-src 'none';") == true)
        let page = reply.body

        // Summary: 9 models, the sleeper at zero, the busy one active (2 replicas), the rest idle
        // at 1: 2 + 7 = 9 GPU replicas recommended.
        #expect(page.contains(">idle 7</a>"))
        #expect(page.contains(">active 1</a>"))
        #expect(page.contains(">zero 1</a>"))
        #expect(page.contains(">held 0</a>"))
        #expect(page.contains("<h2>GPU replicas now</h2><p class=\"big\">9</p>"))
        #expect(page.contains("<h2>Kill switch</h2><p class=\"big\">off</p>"))
        #expect(page.contains("<h2>Configuration</h2><p class=\"big\">ok</p>"))
        #expect(page.contains("<h2>Prometheus</h2><p class=\"big\">ok</p><p>every query answered; last tick just now</p>"))
        #expect(page.contains("9 of 9 models match"))

        // Per model, the time left or what blocks it.
        let idle = try #require(row(page, Fleet.idle))
        #expect(idle.contains("<span class=\"state s-idle\">idle</span>"))
        #expect(idle.contains("<td class=\"z-countdown\">in 1m 20s</td>"), "evidence since 0 s, retention 100 s, now 20 s")
        #expect(idle.contains("idle: evidence 20s of 100s"))
        #expect(idle.contains("<td class=\"num\">1m 40s</td>"), "fixed keep-alive: retention_period")
        // Adaptive keep-alive: the learned retention is the one counted down.
        let adaptive = try #require(row(page, Fleet.adaptive))
        #expect(adaptive.contains("<td class=\"num\">30s<br><span class=\"muted\">learned</span></td>"))
        #expect(adaptive.contains("<td class=\"z-countdown\">in 10s</td>"))
        let busy = try #require(row(page, Fleet.busy))
        #expect(busy.contains("<td class=\"num\">2</td>"))
        #expect(busy.contains("<td class=\"z-busy\">serving</td>"))
        #expect(busy.contains("just now"), "last activity: requests running at the last tick")
        // Requests completed in the window: zero one retention after the last, at the latest in 100 s.
        #expect(try #require(row(page, Fleet.recent)).contains("<td class=\"z-countdown\">within 1m 40s (1m 40s after the last request)</td>"))
        #expect(try #require(row(page, Fleet.alwaysOn)).contains("<td class=\"z-blocked\">scale-to-zero disabled</td>"))
        #expect(try #require(row(page, Fleet.noGateway)).contains("<td class=\"z-blocked\">no wake path: idle, but will be held at ≥ 1</td>"))
        let sleeper = try #require(row(page, Fleet.sleeper))
        #expect(sleeper.contains("<span class=\"state s-zero\">zero</span>"))
        #expect(sleeper.contains("<td class=\"z-at-zero\">at zero</td>"))
        #expect(sleeper.contains("<span class=\"muted\">never seen</span>"), "no activity was ever seen")
    }

    @Test func everyValueFromOutsideIsEscapedOnBothPagesAndNothingCanRun() async throws {
        let engine = await Fleet.engine()
        let api = RecommenderAPI(engine: engine, clock: FixedClock(seconds: 20), options: APIOptions())
        let fleet = await api.fleetPage(query: "q=%3Cimg+src%3Dx%3E&namespace=%22%3E%3Cb%3E").body
        // The filters echo the query back, escaped.
        #expect(fleet.contains("value=\"&lt;img src=x&gt;\""))
        #expect(!fleet.contains("<img"))
        #expect(!fleet.contains("\"><b>"))

        let all = await api.fleetPage(query: "").body
        #expect(!all.lowercased().contains("<script"))
        #expect(all.contains(">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</a>"))
        #expect(all.contains(">a&amp;b &#39;single&#39; &quot;double&quot;</a>"))
        #expect(all.contains("<td>team&lt;b&gt;&amp;co</td>"))
        #expect(all.contains("<option value=\"team&lt;b&gt;&amp;co\">team&lt;b&gt;&amp;co (1)</option>"))
        // Links carry the id percent-encoded: no quote, angle bracket or slash of the id survives.
        #expect(all.contains("href=\"/models/prod/%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E\""))
        #expect(all.contains("href=\"/models/team%3Cb%3E%26co/a%26b%20%27single%27%20%22double%22\""))

        for key in [Fleet.hostile, Fleet.quoted] {
            let reply = await api.modelPage(path: HTML.modelLink(key))
            #expect(reply.status == 200)
            #expect(!reply.body.lowercased().contains("<script"))
            #expect(reply.body.contains("<h1 class=\"model\">\(HTML.escape(key.modelID)) <span class=\"muted\">in namespace</span> \(HTML.escape(key.namespace)) "))
            #expect(reply.body.contains("<title>replica-recommender: \(HTML.escape(key.namespace))/\(HTML.escape(key.modelID))</title>"))
        }
        let missing = await api.modelPage(path: "/models/x/%3Cscript%3Eevil()%3C%2Fscript%3E")
        #expect(missing.status == 404)
        #expect(missing.body.contains("the recommender does not know model &lt;script&gt;evil()&lt;/script&gt; in namespace x"))
        #expect(!missing.body.contains("<script"))
    }

    @Test(arguments: [
        ("<script>", "&lt;script&gt;"), ("a&b", "a&amp;b"), (#"say "hi""#, "say &quot;hi&quot;"), ("it's", "it&#39;s"),
        ("plain/id-1.2", "plain/id-1.2"), ("ü→<", "ü→&lt;"),
    ])
    func htmlEscapingReplacesTheFiveCharactersThatEndTextOrAttributes(raw: String, escaped: String) {
        #expect(HTML.escape(raw) == escaped)
    }

    @Test func aModelLinkRoundTripsToItsKeyWhateverTheIdHolds() {
        for key in Fleet.all + [ModelKey(namespace: "ns", modelID: "a/b/c"), ModelKey(namespace: "ns", modelID: "50% off?x=1#y")] {
            #expect(RecommenderAPI.modelPageTarget(HTML.modelLink(key)) == key)
        }
        #expect(RecommenderAPI.modelPageTarget("/models/prod/org/llama") == ModelKey(namespace: "prod", modelID: "org/llama"))
        #expect(RecommenderAPI.modelPageTarget("/models/prod/org%2Fllama?x=1") == ModelKey(namespace: "prod", modelID: "org/llama"))
        #expect(RecommenderAPI.modelPageTarget("/models/prod") == nil)
        #expect(RecommenderAPI.modelPageTarget("/models/prod/") == nil)
        #expect(RecommenderAPI.modelPageTarget("/models//m") == nil)
    }

    @Test func filtersSortAndPagesNarrowAFleetOf250Models() async throws {
        let keys = (0..<250).map { ModelKey(namespace: "ns\($0 % 3)", modelID: "org/m" + String(format: "%03d", $0)) }
        let engine = await decidedEngine(models: keys)
        let api = RecommenderAPI(engine: engine, clock: FixedClock(seconds: 1), options: APIOptions())
        func models(_ page: String) -> [String] {
            page.components(separatedBy: "<td class=\"model\"><a href=\"").dropFirst().map { String($0.split(separator: ">")[1].split(separator: "<")[0]) }
        }

        let first = await api.fleetPage(query: "").body
        #expect(models(first).count == 100)
        #expect(models(first).first == "org/m000", "namespace ns0 first, then model order")
        #expect(first.contains("250 of 250 models match; showing 1–100, page 1 of 3"))
        #expect(first.contains("<a href=\"/?page=2\">next ›</a>"))
        #expect(first.contains("<a href=\"/?page=3\">last »</a>"))

        let third = await api.fleetPage(query: "page=3").body
        #expect(models(third).count == 50)
        #expect(third.contains("showing 201–250, page 3 of 3"))
        // Beyond the last page: the last page.
        #expect(await api.fleetPage(query: "page=99").body.contains("page 3 of 3"))

        let ns1 = await api.fleetPage(query: "namespace=ns1&per=500").body
        #expect(models(ns1).count == 83)
        #expect(ns1.contains("83 of 250 models match"))
        #expect(ns1.contains("<option value=\"ns1\" selected>ns1 (83)</option>"))
        #expect(ns1.contains("<option value=\"ns0\">ns0 (84)</option>"))

        let text = await api.fleetPage(query: "q=M12").body
        // In namespace order, then model order.
        #expect(models(text) == [120, 123, 126, 129, 121, 124, 127, 122, 125, 128].map { "org/m\($0)" })

        // The text is looked for in `namespace/model`, across the slash, in any case.
        #expect(models(await api.fleetPage(query: "q=NS1%2Forg%2FM00").body) == ["org/m001", "org/m004", "org/m007"])
        #expect(FleetStatusText.matches("prod/Llama-Ü", "llama-Ü") && !FleetStatusText.matches("prod/llama", "llama-2"))

        let descending = await api.fleetPage(query: "sort=model&order=desc&per=5").body
        #expect(models(descending) == ["org/m249", "org/m248", "org/m247", "org/m246", "org/m245"])
        // The header link of the sorted column flips the order and keeps the page size.
        #expect(descending.contains("<a href=\"/?sort=model&amp;per=5\">Model ▼</a>"))

        let zero = await api.fleetPage(query: "state=zero").body
        #expect(zero.contains("0 of 250 models match"))
        #expect(zero.contains("no model matches"))
    }

    @Test func sortingByTimeToZeroPutsModelsAtZeroFirstThenTheNearestCountdown() async throws {
        let engine = await Fleet.engine()
        let api = RecommenderAPI(engine: engine, clock: FixedClock(seconds: 20), options: APIOptions())
        let page = await api.fleetPage(query: "sort=zero").body
        let order = page.components(separatedBy: "<td class=\"model\"><a href=\"").dropFirst().map { String($0.split(separator: ">")[1].split(separator: "<")[0]) }
        #expect(order.first == "org/sleeper")
        #expect(order[1] == "org/adaptive", "zero in 10 s")
        #expect(Array(order[2...4]).sorted() == [HTML.escape(Fleet.hostile.modelID), HTML.escape(Fleet.quoted.modelID), "org/idle"].sorted())
        #expect(order[5] == "org/recent", "zero within 100 s, after the others' 80 s")
        #expect(Set(order.suffix(3)) == ["org/busy", "org/always-on", "org/no-gateway"])
    }

    @Test func unusableQueryParametersAreNamedAndTheirDefaultsApply() async {
        let query = FleetQuery(query: "?sort=%3Cbad%3E&page=0&per=5000&state=sleeping&order=up&namespace=&q=")
        #expect(query.problems == [
            "sort=<bad> is not a column: expected one of namespace, model, state, desired, ready, activity, zero, cold_start, keep_alive",
            "page=0: expected a page number from 1",
            "per=5000: expected a number of models from 1 to 1000",
            "state=sleeping is not a state: expected one of active, idle, zero, waking, held, undecided",
            "order=up: expected asc or desc",
        ])
        #expect(query.sort == .namespace && query.page == 1 && query.perPage == 100 && query.state == nil)
        #expect(query.namespace == nil && query.text == nil)
        let engine = await Fleet.engine()
        let page = await RecommenderAPI(engine: engine, clock: FixedClock(seconds: 20), options: APIOptions()).fleetPage(query: "sort=%3Cbad%3E").body
        #expect(page.contains("<li>ignored: sort=&lt;bad&gt; is not a column: expected one of"))
    }

    @Test func theKillSwitchAndFailingQueriesShowInTheSummaryAndInEachModelsOutlook() async throws {
        let frozen = await Fleet.engine(options: EngineOptions(killSwitchFlag: true))
        let page = await RecommenderAPI(engine: frozen, clock: FixedClock(seconds: 20), options: APIOptions()).fleetPage(query: "").body
        #expect(page.contains("<div class=\"card bad\"><h2>Kill switch</h2><p class=\"big\">engaged</p>"))
        #expect(try #require(row(page, Fleet.idle)).contains("<td class=\"z-blocked\">kill switch engaged</td>"))

        let engine = await Fleet.engine()
        let failure = PrometheusError.unreachable("connection refused")
        await engine.tick(
            .unknown(failure), outcomes: [.init(signal: .requests, error: failure), .init(signal: .ready, error: failure)],
            duration: 2, now: Instant(seconds: 25))
        let held = await RecommenderAPI(engine: engine, clock: FixedClock(seconds: 30), options: APIOptions()).fleetPage(query: "state=held").body
        #expect(held.contains("<h2>Prometheus</h2><p class=\"big\">failing</p><p>queries failing: ready, requests; models needing them are held; last tick 5s ago</p>"))
        let idle = try #require(row(held, Fleet.idle))
        #expect(idle.contains("<td class=\"z-blocked\">held on unknown data (unknown: requests)</td>"))
        #expect(idle.contains("<td class=\"num\">unknown</td>"), "ready is unknown")
        // The model at zero stays there (missing data never moves a model), and is not held.
        #expect(row(held, Fleet.sleeper) == nil)
    }

    @Test func configurationErrorsAreListedInTheSummary() async throws {
        let engine = await decidedEngine(
            models: [ModelKey(namespace: "ns", modelID: "m")], config: ["broken": "model_id: m\nnamespace: ns\nretention_period: soon\n"])
        let page = await RecommenderAPI(engine: engine, clock: FixedClock(seconds: 1), options: APIOptions()).fleetPage(query: "").body
        #expect(page.contains("<h2>Configuration</h2><p class=\"big\">1 error</p>"))
        #expect(page.contains("<li><code>broken:3: broken: retention_period: expected a duration such as 30s, 5m, 1h30m, 1.5h, 2d or 1w, found &quot;soon&quot;</code></li>"))
    }

    @Test func theModelPageShowsTheConfigurationWithSourcesTheSignalsAndAChart() async throws {
        let engine = await Fleet.engine()
        let api = RecommenderAPI(engine: engine, clock: FixedClock(seconds: 20), options: APIOptions())
        let reply = await api.modelPage(path: "/models/dev/org%2Fsleeper")
        #expect(reply.status == 200)
        #expect(reply.headers["Content-Security-Policy"] != nil)
        let page = reply.body
        #expect(page.contains("<span class=\"state s-zero\">zero</span>"))
        // The configuration as explain shows it, each field with its source.
        #expect(page.contains("<tr><th>retention_period</th><td><code>10s (10s)</code></td><td><code>override:sleeper</code></td></tr>"))
        #expect(page.contains("<tr><th>enable_scale_to_zero</th><td><code>true</code></td><td><code>default</code></td></tr>"))
        // The last tick's signals.
        #expect(page.contains("<tr><th>model_request_count</th><td class=\"num\">0</td><td class=\"muted\">completed requests in the last 10s</td></tr>"))
        #expect(page.contains("<tr><th>gateway_seen</th><td class=\"num\">yes</td>"))
        #expect(page.contains("<tr><th>wake path</th><td>gateway</td></tr>"))
        // The chart: 1 replica recommended and ready from 0 s, 0 recommended from 20 s.
        #expect(page.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(page.contains("<td>1970-01-01 00:00:20 UTC</td><td class=\"num\">0</td><td class=\"num\">1</td>"))
        #expect(page.contains("<td>1970-01-01 00:00:00 UTC</td><td class=\"num\">1</td><td class=\"num\">1</td>"))

        #expect(page.contains("<tr><th>keep-alive</th><td>10s, fixed (retention_period)</td></tr>"))

        let adaptive = await api.modelPage(path: HTML.modelLink(Fleet.adaptive)).body
        #expect(adaptive.contains("<tr><th>keep-alive</th><td>30s, learned from the model's idle gaps within 20s–1m 40s "))
        #expect(adaptive.contains("(0 gap(s) weighed; 8 before they are trusted)"))
        #expect(adaptive.contains("<tr><th>model_request_count</th><td class=\"num\">0</td><td class=\"muted\">completed requests in the last 30s</td></tr>"))

        let bad = await api.modelPage(path: "/models/only-a-namespace")
        #expect(bad.status == 404)
        #expect(bad.body.contains("expected /models/{namespace}/{model} with a percent-encoded model id"))
    }
}

/// The text filter's matching, as the engine applies it.
enum FleetStatusText {
    static func matches(_ text: String, _ needle: String) -> Bool {
        Engine.contains(Array(text.utf8), Array(needle.utf8).map(Engine.asciiLowercase))
    }
}

/// The chart's memory: a point per change, bounded, in order.
struct ModelHistoryTests {
    @Test func aPointIsKeptOnlyWhenTheRecommendationOrTheReadyReplicasChange() {
        var history = ModelHistory()
        history.record(desired: 1, ready: 1, at: Instant(seconds: 10))
        history.record(desired: 1, ready: 1, at: Instant(seconds: 25))
        history.record(desired: 1, ready: 2, at: Instant(seconds: 40))
        history.record(desired: 0, ready: nil, at: Instant(seconds: 55))
        history.record(desired: 0, ready: nil, at: Instant(seconds: 70))
        #expect(history.ordered.map(\.time) == [10, 40, 55])
        #expect(history.ordered.map(\.readyReplicas) == [1, 2, nil])
        // Two changes within one second: the later one stands.
        history.record(desired: 2, ready: 0, at: Instant(seconds: 80.2))
        history.record(desired: 3, ready: 0, at: Instant(seconds: 80.7))
        #expect(history.ordered.map(\.desired) == [1, 1, 0, 3])
    }

    @Test func theRingKeepsTheNewestPointsInOrderAndNeverGrowsBeyondItsCapacity() {
        var history = ModelHistory()
        for index in 0..<(ModelHistory.capacity * 3 + 7) {
            history.record(desired: index % 2, ready: Double(index % 5), at: Instant(seconds: Double(1000 + index)))
        }
        let points = history.ordered
        #expect(points.count == ModelHistory.capacity)
        #expect(points.last?.time == UInt32(1000 + ModelHistory.capacity * 3 + 6))
        #expect(zip(points, points.dropFirst()).allSatisfy { $0.time + 1 == $1.time })
        #expect(history.truncated)
        // The whole ring, not the next power of two (malloc may round a block up by a few bytes).
        #expect(history.bytes < (ModelHistory.capacity + 8) * 8)
    }

    @Test func aSteadyModelHoldsASmallBlockNotAWholeRing() {
        var history = ModelHistory()
        for index in 0..<8 { history.record(desired: 1, ready: Double(index), at: Instant(seconds: Double(index))) }
        #expect(history.bytes < 16 * 8)
        for index in 0..<8 { history.record(desired: 2, ready: Double(index), at: Instant(seconds: Double(100 + index))) }
        #expect(history.bytes >= ModelHistory.capacity * 8, "past the small block: the whole ring at once")
    }

    @Test func valuesBeyondTheRangeOfAPointAreCappedNotWrapped() {
        var history = ModelHistory()
        history.record(desired: 1_000_000, ready: 1e12, at: Instant(seconds: 1))
        history.record(desired: -3, ready: .nan, at: Instant(seconds: 2))
        #expect(history.ordered.map(\.desired) == [65_534, 0])
        #expect(history.ordered.map(\.readyReplicas) == [65_534, nil])
    }

    @Test func completedColdStartsAreCounted() {
        var history = ModelHistory()
        history.record(desired: 1, ready: 0, at: Instant(seconds: 1))
        history.record(desired: 1, ready: 1, coldStartCompleted: true, at: Instant(seconds: 40))
        history.record(desired: 1, ready: 1, coldStartCompleted: true, at: Instant(seconds: 90))
        #expect(history.coldStarts == 2)
    }

    @Test func theChartDrawsStepLinesThatBreakWhereReadyIsUnknown() {
        var history = ModelHistory()
        history.record(desired: 2, ready: 2, at: Instant(seconds: 0))
        history.record(desired: 0, ready: nil, at: Instant(seconds: 100))
        history.record(desired: 1, ready: 0, at: Instant(seconds: 200))
        let points = history.ordered
        // x: one unit a second from 0 to 300; y: the value itself.
        let desired = StatusChart.path(points, value: { Int($0.desired) }, x: { $0 }, y: { $0 }, end: 300, start: 0)
        #expect(desired == "M0.0 2.0H100.0V0.0H200.0V1.0H300.0")
        let ready = StatusChart.path(points, value: { $0.readyReplicas }, x: { $0 }, y: { $0 }, end: 300, start: 0)
        #expect(ready == "M0.0 2.0H100.0M200.0 0.0H300.0")
        // A span starting after the first point carries its value in from the start.
        let late = StatusChart.path(points, value: { Int($0.desired) }, x: { $0 }, y: { $0 }, end: 300, start: 50)
        #expect(late == "M50.0 2.0H100.0V0.0H200.0V1.0H300.0")
        let svg = StatusChart.svg(points, now: 300, label: "<x>")
        #expect(svg.contains("<title>Recommendation and ready replicas of &lt;x&gt;</title>"))
        #expect(!svg.contains("<x>"))
    }
}
