import Foundation
import Logging
import ModelConfig
import PrometheusClient
import Recommendation
import RecommenderService

/// The outcome of one schedule.
public struct RunResult: Sendable {
    /// Broken promises, in the order seen (at most ``Checker/maxViolations``).
    public var violations: [Violation] = []
    /// A failure of the harness itself (a query it cannot answer): the run proves nothing.
    public var harnessError: String?
    /// Ticks run (the steps of the schedule).
    public var ticks = 0
    /// Queries answered by the simulated TSDB.
    public var queries = 0
    /// Samples the TSDB stored.
    public var samples = 0
    /// Every change of a fleet model's recommendation: (time, `namespace/model`, from, to).
    public var changes: [(time: Double, model: String, from: Int?, to: Int?)] = []

    /// When `model` was recommended 0 (each transition to 0).
    public func zeros(of model: String) -> [Double] {
        changes.filter { $0.model == model && $0.to == 0 && $0.from != 0 }.map(\.time)
    }

    /// Whether a promise was broken or the harness failed.
    public var failed: Bool { !violations.isEmpty || harnessError != nil }

    /// The invariants broken.
    public var invariants: Set<Invariant> { Set(violations.map(\.invariant)) }
}

/// Runs the real recommender (config handling, signal collection through the real Prometheus
/// client, engine, decision core) against a simulated TSDB, fleet and autoscaler in virtual time,
/// and checks the invariants at every tick. Deterministic: the same schedule gives the same result.
public struct Simulation: Sendable {
    /// The client's per-request timeout, seconds.
    public static let clientTimeout = 2.0
    /// The recommender's output metric.
    public static let desiredMetric = "inferno_desired_replicas"
    /// The recommender's own series restart recovery reads back, besides `desiredMetric`.
    static let recoveryMetrics = [
        "recommender_model_gateway_last_seen_timestamp_seconds", "recommender_model_gateway_revoked_timestamp_seconds", "recommender_model_adopted_from_gateway_label",
        "recommender_gateway_last_answered_timestamp_seconds",
    ]
    /// How far restart recovery looks back.
    static let recoveryWindow = ConfigDuration(seconds: 3600)

    /// The schedule.
    public let schedule: Schedule
    /// The promises checked.
    public let profile: Profile

    /// Creates a simulation of `schedule`.
    public init(schedule: Schedule, profile: Profile) {
        self.schedule = schedule
        self.profile = profile
    }

    /// A number for humans: `12`, `12.5`.
    public static func format(_ value: Double) -> String {
        if value.isInfinite { return value > 0 ? "∞" : "-∞" }
        return value == value.rounded() && abs(value) < 1e12 ? String(Int64(value)) : String(format: "%.1f", value)
    }

    /// Where in each scrape interval a target is scraped (Prometheus spreads targets by a hash of
    /// their identity): `pod/<namespace>/<pod>`, `gateway`, `gateway/<namespace>`, `recommender`.
    /// Pods are named `<derived variant name>-<n>`.
    public static func scrapeOffset(_ target: String, interval: Double) -> Double {
        var hash: UInt64 = 1_469_598_103_934_665_603
        for byte in target.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        return Double(hash % 1000) / 1000 * interval
    }

    /// `FAULTSIM_TRACE=1` prints every decision of every tick (for reading one replayed schedule).
    static let trace = ProcessInfo.processInfo.environment["FAULTSIM_TRACE"] != nil

    static let logger = Logger(label: "fault-simulation") { _ in SwiftLogNoOpLogHandler() }

    /// Runs the schedule to its end.
    public func run() async -> RunResult {
        var world = World(schedule: schedule, profile: profile)
        await world.run()
        return world.result
    }
}

/// The state of one run.
struct World {
    let schedule: Schedule
    let profile: Profile
    let prometheus: SimulatedPrometheus
    var collector: SignalCollector
    var fleet: Fleet
    var checker: Checker
    var engine: Engine?
    var recovered = false
    /// When the running process's first used answer was evaluated (a counter series born after it
    /// counts its first value; one born before it is new to the process, not to the gateway).
    var firstAnswerAt = Double.infinity
    var upAt = Double.infinity
    var output: [(labels: [String: String], value: Double)] = []
    /// The recommender's other exported series that restart recovery reads back.
    var recoveryOutput: [SimulatedTSDB.Scraped] = []
    /// The last value Prometheus scraped of each model's recommendation (what restart recovery
    /// reads back: the runs are shorter than its window), and when the recommender was last scraped.
    var scrapedDesired: [ModelKey: Int] = [:]
    var lastRecommenderScrape = -Double.infinity
    /// When each target was last scraped successfully.
    var lastScraped: [String: Double] = [:]
    /// `recommender_variant_name_conflicts` on the last page read.
    var reportedConflicts: Double?
    var desired: [ModelKey: Int] = [:]
    var result = RunResult()
    var nextTick: Double
    var scrapeDue: [String: Double] = [:]
    var events: [ScheduleEvent]
    var faultEnds: [Double]
    let keys: [ModelKey]
    let queryFaults: [SimulatedPrometheus.FaultSpan]

    init(schedule: Schedule, profile: Profile) {
        self.schedule = schedule
        self.profile = profile
        prometheus = SimulatedPrometheus(tsdb: SimulatedTSDB(flavour: schedule.flavour))
        prometheus.state.withLock { state in
            for model in schedule.models {
                state.modelLabels[model.ref] = (model.namespace, model.servedName, model.requestedName)
            }
        }
        collector = Self.makeCollector(prometheus, schedule)
        fleet = Fleet(schedule: schedule)
        checker = Checker(schedule: schedule, profile: profile)
        nextTick = schedule.tickInterval / 2
        events = schedule.events.sorted { $0.time < $1.time }
        var ends: [Double] = []
        var spans: [SimulatedPrometheus.FaultSpan] = []
        for case .fault(let kind, let start, let end) in schedule.events {
            ends.append(end)
            switch kind {
            case .refused, .unavailable, .slow, .unauthorized, .partial, .tsdbRestart, .harmlessAnnotations, .corruptRecovery:
                spans.append(.init(kind: kind, start: start, end: end))
            case .failover:
                spans.append(.init(kind: kind, start: start, end: end))
                ends.append(start)  // the evidence starts afresh on the replica: a disturbance
            case .queryFails:
                spans.append(.init(kind: kind, start: start, end: end))
            default: break
            }
        }
        faultEnds = ends.sorted()
        queryFaults = spans
        keys = schedule.models.map { ModelKey(namespace: $0.namespace, modelID: $0.id) }
    }

    /// The service's signal collector, as a process starts with it (what it remembers of the
    /// gateway's targets dies with the process).
    static func makeCollector(_ prometheus: SimulatedPrometheus, _ schedule: Schedule) -> SignalCollector {
        // One attempt: a retry of a failing query at the same virtual time fails the same way, and the
        // client's backoff sleeps in real time (even a zero backoff costs a timer round trip).
        let client = PrometheusClient(transport: prometheus, retry: RetryPolicy(attempts: 1))
        var collector = SignalCollector(client: client, queries: QueryBuilder(
            templates: SimulationQueries.templates, scrapeInterval: ConfigDuration(milliseconds: Int64((schedule.scrapeInterval * 1000).rounded())),
            tickInterval: ConfigDuration(milliseconds: Int64((schedule.tickInterval * 1000).rounded()))))
        collector.evaluatesAtReceipt = false  // every query of a tick is evaluated at its virtual time
        return collector
    }

    func rawEntries(_ config: ExpectedConfig) -> [RawEntry] {
        config.rawEntries.map { RawEntry(key: $0.key, text: $0.text, location: EntryLocation(file: "/etc/replica-recommender/models/\($0.key)")) }
    }

    func active(_ t: Double) -> [FaultKind] {
        schedule.events.compactMap { event in
            if case .fault(let kind, let start, let end) = event, start <= t, t < end { return kind }
            return nil
        }
    }

    mutating func startEngine(at t: Double) async {
        let engine = Engine(
            options: EngineOptions(forgetAfterSeconds: schedule.forgetAfter, scaleDownStabilizationSeconds: schedule.scaleDownStabilization),
            logger: Simulation.logger)
        self.engine = engine
        if t > 0 { collector = Self.makeCollector(prometheus, schedule) }
        checker.engineStarted(at: t)
        await loadConfig(at: t)
        recovered = false
        firstAnswerAt = .infinity
        upAt = .infinity
    }

    mutating func run() async {
        await startEngine(at: 0)
        discoverTargets(at: 0)
        var t = 0.0
        var lastFaultEnd = 0
        while result.harnessError == nil {
            var next = min(nextTick, fleet.nextEvent(after: t), upAt)
            if let event = events.first { next = min(next, event.time) }
            if lastFaultEnd < faultEnds.count { next = min(next, faultEnds[lastFaultEnd]) }
            next = min(next, nextScrape(after: t))
            guard next <= schedule.duration else { break }
            t = max(t, next)

            while lastFaultEnd < faultEnds.count, faultEnds[lastFaultEnd] <= t {
                lastFaultEnd += 1
                checker.disturbAll(at: t)
            }
            for case .fault(.tsdbRestart, _, let end) in schedule.events where abs(end - t) < 1e-9 {
                prometheus.state.withLock { $0.tsdb.restarted() }
            }
            while let event = events.first, event.time <= t {
                events.removeFirst()
                await apply(event, at: t)
            }
            if upAt <= t {
                await startEngine(at: t)
            }
            fleet.advance(to: t)
            for index in fleet.wakeCalls { await wake(index, at: t) }
            fleet.wakeCalls.removeAll()
            scrape(at: t)
            if nextTick <= t + 1e-9 {
                if engine != nil { await tick(at: t) } else { nextTick = t + schedule.tickInterval }
            }
        }
        result.violations = checker.violations
        result.queries = prometheus.queryCount
        result.samples = prometheus.state.withLock { $0.tsdb.sampleCount }
    }

    // MARK: - Schedule events

    mutating func apply(_ event: ScheduleEvent, at t: Double) async {
        switch event {
        case .fault: break
        case .setEntry(_, let text):
            checker.configChanged(at: t) { $0.set(text) }
            await loadConfig(at: t)
        case .removeEntry(_, let key):
            checker.configChanged(at: t) { $0.remove(key) }
            await loadConfig(at: t)
        case .restart(_, let down):
            // A crash (the worst case: a rolling update's SIGTERM is drained until a scrape has
            // read the last change, ShutdownDrainTests): what changed since the last scrape never
            // reached Prometheus, and so no consumer.
            checker.crashed(at: t, lastScrape: lastRecommenderScrape, scraped: scrapedDesired)
            engine = nil
            output = []
            recoveryOutput = []
            upAt = t + down
            checker.restarted(at: t)
        case .containerRestart(_, let ref):
            guard let index = schedule.models.firstIndex(where: { $0.ref == ref }) else { return }
            let podTarget = fleet.models[index].pods.first?.target ?? ""
            fleet.restartContainer(index, at: t, lastScraped: lastScraped[podTarget] ?? -Double.infinity)
            discoverTargets(at: t)
            // The reset shows at the first scrape once the container is ready again; the window is
            // evidence again R after that (resets inside it: spec §5, a counter's lost increments).
            checker.disturb(index, at: (fleet.models[index].pods.first?.readyAt ?? t) + schedule.scrapeInterval)
        }
    }

    /// Hands the ConfigMap to the engine and checks what it resolved.
    mutating func loadConfig(at t: Double) async {
        guard let engine else { return }
        await engine.loadConfig(rawEntries(checker.expected), now: Instant(seconds: SimulatedPrometheus.epoch + t))
        var resolved: [ModelKey: (enable: Bool, retention: Double)] = [:]
        for view in await engine.recommendations() {
            resolved[ModelKey(namespace: view.namespace, modelID: view.modelID)] = (view.config.enableScaleToZero, view.config.retentionSeconds)
        }
        checker.engineConfiguration(resolved, killSwitch: await engine.killSwitch, at: t)
    }

    // MARK: - Scrapes

    func nextSlot(_ name: String, after t: Double) -> Double {
        let offset = Simulation.scrapeOffset(name, interval: schedule.scrapeInterval)
        let k = ((t - offset) / schedule.scrapeInterval + 1e-6).rounded(.down) + 1
        return offset + k * schedule.scrapeInterval
    }

    func nextScrape(after t: Double) -> Double { scrapeDue.values.min() ?? .infinity }

    /// Adds scrape targets that appeared (pods created) since the last call.
    mutating func discoverTargets(at t: Double) {
        var names = ["recommender"]
        switch schedule.gatewayNamespaces {
        case .perNamespace: names += Set(schedule.models.map(\.namespace)).sorted().map { "gateway/" + $0 }
        default: names.append("gateway")
        }
        for model in fleet.models { for pod in model.pods { names.append(pod.target) } }
        for name in names where scrapeDue[name] == nil { scrapeDue[name] = nextSlot(name, after: t) }
    }

    mutating func scrape(at t: Double) {
        let faults = active(t)
        let tsdbDown = faults.contains(.tsdbRestart)
        var due: [String] = []
        for (name, time) in scrapeDue where time <= t + 1e-9 { due.append(name) }
        for name in due.sorted() {
            scrapeDue[name] = nextSlot(name, after: t)
            guard !tsdbDown else { continue }
            let samples = exported(name, at: t, faults: faults)
            if samples != nil { lastScraped[name] = t }
            if name == "recommender", samples != nil {
                // What this scrape read: the running process's page (a crashed one's last
                // recommendations, never scraped, are in no sample).
                for line in output {
                    guard let namespace = line.labels["namespace"], let model = line.labels["model_name"], line.value.isFinite else { continue }
                    scrapedDesired[ModelKey(namespace: namespace, modelID: model)] = Int(line.value)
                }
                lastRecommenderScrape = t
            }
            prometheus.state.withLock { state in
                if let samples { state.tsdb.scrape(target: name, at: t, samples) } else { state.tsdb.scrapeFailed(target: name, at: t) }
            }
        }
    }

    /// What a target exports at `t`; nil when its scrape fails.
    func exported(_ target: String, at t: Double, faults: [FaultKind]) -> [SimulatedTSDB.Scraped]? {
        if target == "recommender" {
            guard engine != nil else { return nil }
            return output.map { .init(Simulation.desiredMetric, $0.labels, $0.value) }
                + recoveryOutput
        }
        if target.hasPrefix("gateway") {
            if faults.contains(.gatewayGap) { return nil }
            let namespace = target.hasPrefix("gateway/") ? String(target.dropFirst("gateway/".count)) : nil
            var counters: [String: (labels: [String: String], count: Double, errors: Double, queue: Double)] = [:]
            for model in fleet.models where model.gatewaySeen && (namespace == nil || model.spec.namespace == namespace) {
                var labels = ["target_model_name": model.spec.requestedName, "job": "gateway"]
                switch schedule.gatewayNamespaces {
                case .none: break
                case .shared: labels["namespace"] = "llm-gateway"
                case .perNamespace: labels["namespace"] = model.spec.namespace
                }
                let key = labels["target_model_name"]! + "\u{0}" + (labels["namespace"] ?? "")
                let previous = counters[key] ?? (labels, 0, 0, 0)
                counters[key] = (labels, previous.count + model.gatewayCount, previous.errors + model.gatewayErrors, previous.queue + Double(model.queued.count))
            }
            var samples: [SimulatedTSDB.Scraped] = []
            for key in counters.keys.sorted() {
                let entry = counters[key]!
                // A counter's series exists from its first increment (a Prometheus CounterVec).
                if entry.count > 0 { samples.append(.init(Fleet.gatewayCounterMetric, entry.labels, entry.count)) }
                if entry.errors > 0 {
                    samples.append(.init(Fleet.gatewayErrorMetric, entry.labels.merging(["error_code": "ServiceUnavailable"]) { $1 }, entry.errors))
                }
                if schedule.flowControl { samples.append(.init(Fleet.queueMetric, entry.labels, entry.queue)) }
            }
            return samples
        }
        // A vLLM pod.
        for (index, model) in fleet.models.enumerated() {
            guard let pod = model.pods.first(where: { $0.target == target }) else { continue }
            guard pod.ready(t), !faults.contains(.scrapeGap(model: model.spec.ref)) else { return nil }
            let labels = ["namespace": model.spec.namespace, "pod": pod.name, "model_name": model.spec.servedName, "job": "vllm"]
            var values: [(String, Double)] = [
                (Fleet.requestsMetric, pod.counter), (Fleet.runningMetric, Double(pod.running.count)),
                (Fleet.waitingMetric, Double(pod.waiting.count)), (Fleet.kvMetric, Double(pod.running.count) / Double(Fleet.slots) * 0.8),
            ]
            for fault in faults {
                switch fault {
                case .missingSeries(let ref, let metric) where ref == model.spec.ref: values.removeAll { $0.0 == metric }
                case .nonFinite(let ref, let metric, let value) where ref == model.spec.ref:
                    values = values.map { $0.0 == metric ? ($0.0, value) : $0 }
                default: break
                }
            }
            _ = index
            return values.map { .init($0.0, labels, $0.1) }
        }
        return nil  // a pod that is gone
    }

    // MARK: - Ticks and wakes

    mutating func tick(at t: Double) async {
        guard let engine else { return }
        prometheus.beginTick(at: t, faults: queryFaults)
        if !recovered {
            // As the service's loop recovers (adaptive keep-alive, whose learned values it also
            // reads back, is not simulated).
            await engine.recoverIfDue(from: collector, window: Simulation.recoveryWindow, now: Instant(seconds: SimulatedPrometheus.epoch + t), learned: false)
            recovered = await engine.recovered
            if Simulation.trace {
                let known = await engine.recommendations().map { "\($0.namespace)/\($0.modelID)" }.sorted().joined(separator: " ")
                print("t=\(Simulation.format(t)) RECOVERY \(recovered ? "done" : "pending"); Prometheus holds \(scrapedDesired.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")); known \(known)")
            }
        }
        let (signals, outcomes) = await collector.collect(retentions: await engine.retentionsInUse, now: Instant(seconds: SimulatedPrometheus.epoch + t))
        if await !engine.decides { collector.answersDiscarded() } else if firstAnswerAt == .infinity { firstAnswerAt = t }  // as the service's loop
        let (elapsed, unsupported) = prometheus.endTick()
        if let first = unsupported.first {
            result.harnessError = first.description
            return
        }
        let now = t + elapsed
        await engine.tick(signals, outcomes: outcomes, duration: elapsed, now: Instant(seconds: SimulatedPrometheus.epoch + now))
        result.ticks += 1
        await readOutput(at: now)
        // What the tick's answers could hold: the faults in force when Prometheus received its
        // queries (at the tick's start; a slow answer is late, not newer).
        let blind = queryFaults.contains { $0.kind.failsQueries && $0.start <= t && t < $0.end }
        // As of the queries' evaluation (the tick's start): a slow answer is late, not newer, and
        // the samples scraped while it was on its way are in none of them.
        var facts = self.facts(at: t)
        // A gateway query that failed saw nothing of its series this tick: no fresh path from the
        // gateway (lenient), and no demand when it is the query demand shows in (the queue with
        // flow control, the counters without).
        let failing = queryFaults.compactMap { span -> String? in
            if case .queryFails(let metric) = span.kind, span.start <= t, t < span.end { return metric }
            return nil
        }
        checker.gatewayQueryFailing = failing.contains { $0 == Fleet.queueMetric || Fleet.gatewayCounterMetrics.contains($0) }
        if checker.gatewayQueryFailing {
            let demandBlind = failing.contains(schedule.flowControl ? Fleet.queueMetric : Fleet.gatewayCounterMetric)
            for i in facts.indices {
                if demandBlind { facts[i].demandVisible = false }
                facts[i].gatewayFresh = false
                facts[i].wakePathFresh = false
            }
        }
        if Simulation.trace { for (i, f) in facts.enumerated() { print("t=\(Simulation.format(now)) FACTS \(keys[i]) reporting \(f.reporting) counter \(f.counterPresent) finite \(f.finite)") } }
        if Simulation.trace { for m in fleet.models { print("t=\(Simulation.format(now)) PODS \(m.spec.ref) target \(m.target) " + m.pods.map { "\($0.name) readyAt \($0.readyAt) counter \($0.counter)" }.joined(separator: ", ")) } }
        if Simulation.trace {
            print("t=\(Simulation.format(now)) GATEWAY requests \(signals.gatewayRequests) demand \(signals.demand)")
            for m in fleet.models {
                let series = prometheus.state.withLock { $0.tsdb.samples(Fleet.requestsMetric, matching: ["namespace": m.spec.namespace, "model_name": m.spec.servedName]) }
                let recent = series.map { $0.filter { $0.time > now - 40 }.map { "\(Simulation.format($0.time)):\($0.value)" }.joined(separator: " ") }
                print("t=\(Simulation.format(now)) COUNTER \(m.spec.ref) \(recent.joined(separator: " | "))")
            }
            for key in keys { if let d = await engine.decision(for: key) { print("t=\(Simulation.format(now)) \(key) desired \(d.desired) \(d.reason) \(d.detail) wake path \(d.wakePath.rawValue) (gateway seen at \(d.state.gatewaySeenAt.map { Simulation.format($0.seconds - SimulatedPrometheus.epoch) } ?? "never"))") } }
        }
        let reported = checker.violations.count
        checker.tick(now: now, start: t, decided: recovered, blind: blind, output: desired, facts: facts, fleet: fleet)
        checker.exposition(output.map(\.labels), reportedConflicts: reportedConflicts, at: now)
        if checker.violations.count > reported {
            var explanations: [String: String] = [:]
            for key in keys {
                if let decision = await engine.decision(for: key) {
                    explanations[key.description] = "recommender: desired \(decision.desired), reason \(decision.reason.rawValue), \(decision.detail.isEmpty ? "no detail" : decision.detail)"
                }
            }
            checker.explain(from: reported, explanations)
        }
        autoscale(at: now)
        nextTick = now + schedule.tickInterval
    }

    mutating func wake(_ index: Int, at t: Double) async {
        guard let engine else { return }  // the caller's call fails; it calls again later
        let outcome = await engine.wake(keys[index], now: Instant(seconds: SimulatedPrometheus.epoch + t))
        var answered: Int?
        if case .woken(let value) = outcome { answered = value }
        checker.wakeAnswered(index, desired: answered, at: t, beforeDecision: !recovered)
        await readOutput(at: t)
        autoscale(at: t)
    }

    mutating func readOutput(at t: Double) async {
        guard let engine else { return }
        let text = await engine.renderMetrics()
        output = OutputParser.desiredLines(text)
        recoveryOutput = Simulation.recoveryMetrics.flatMap { metric in
            let labelled = OutputParser.lines(of: metric, in: text).map { SimulatedTSDB.Scraped(metric, $0.labels, $0.value) }
            if labelled.isEmpty, let value = OutputParser.value(of: metric, in: text) { return [SimulatedTSDB.Scraped(metric, [:], value)] }
            return labelled
        }
        reportedConflicts = OutputParser.value(of: "recommender_variant_name_conflicts", in: text)
        let before = desired
        desired = [:]
        for line in output {
            guard let namespace = line.labels["namespace"], let model = line.labels["model_name"], line.value.isFinite else { continue }
            desired[ModelKey(namespace: namespace, modelID: model)] = Int(line.value)
        }
        for key in keys where before[key] != desired[key] {
            result.changes.append((t, key.description, before[key], desired[key]))
        }
    }

    mutating func autoscale(at t: Double) {
        var removed: [String] = []
        var added = false
        for index in fleet.models.indices {
            let created = fleet.models[index].nextPod
            let gone = fleet.scale(index, to: desired[keys[index]], at: t)
            // A removed pod's last requests may be in no scrape: the window is evidence again once
            // its series has left it (spec §5; `rr_window_ended`), R after the removal.
            if !gone.isEmpty { checker.disturb(index, at: t) }
            removed += gone
            added = added || fleet.models[index].nextPod != created
        }
        if added { discoverTargets(at: t) }
        guard !removed.isEmpty, !active(t).contains(.tsdbRestart) else { return }
        prometheus.state.withLock { state in
            for name in removed { state.tsdb.scrapeFailed(target: name, at: t) }  // the target went away
        }
        for name in removed { scrapeDue[name] = nil }
    }

    /// Ground truth of what the TSDB holds for each model at `t`.
    func facts(at t: Double) -> [ModelFacts] {
        let models = schedule.models
        let retentions = checker.resolved.map(\.retention)
        let aliases = checker.resolved.map(\.aliases)
        let pending = fleet.models.map(\.pendingSince)
        let flowControl = schedule.flowControl
        let firstAnswer = firstAnswerAt
        // The models the recommender exports (knows) now: a name's rivals are among them.
        let known = Set(desired.keys)
        // During a failover, what the answering replica holds: demand older than its data is invisible.
        var horizon = -Double.infinity
        for span in queryFaults where span.start <= t && t < span.end { if case .failover(let since) = span.kind { horizon = max(horizon, since) } }
        return prometheus.state.withLock { state in
            let tsdb = state.tsdb
            // What the answering replica holds: during a failover, none of what came before its data.
            var view = tsdb
            if horizon > -.infinity { view.horizon = (horizon, []) }
            return models.enumerated().map { i, model in
                var facts = ModelFacts()
                let labels = ["namespace": model.namespace, "model_name": model.servedName]
                let running = view.freshValues(Fleet.runningMetric, matching: labels, at: t)
                let waiting = view.freshValues(Fleet.waitingMetric, matching: labels, at: t)
                // The service reads the counter over R plus one scrape (its last step inside the window).
                let requests = view.increases(Fleet.requestsMetric, matching: labels, at: t, range: retentions[i] + schedule.scrapeInterval)
                facts.reporting = !running.isEmpty
                let exportedNow = schedule.scrapeInterval + 1e-6
                facts.ghostInFlight = [Fleet.runningMetric, Fleet.waitingMetric].contains { metric in
                    view.ghostValues(metric, matching: labels, at: t, olderThan: exportedNow).contains { $0 > 0 }
                }
                // A counter with an increase in the window, or one scraped at 0 at its pod's last
                // scrape: it has never counted a request, so its first sample is evidence (the
                // requests template's rule). Not a ghost: a restarted TSDB keeps no staleness.
                facts.counterPresent = !requests.isEmpty
                    || view.recentValues(Fleet.requestsMetric, matching: labels, at: t, within: schedule.scrapeInterval + 1e-6).contains(0)
                facts.counterExported = facts.counterPresent && !view.freshValues(Fleet.requestsMetric, matching: labels, at: t).isEmpty
                // Finite as the answering replica holds it: during a failover, a non-finite sample
                // older than its data is not in the answer (schedule 12292053529570076681).
                var answered = requests
                if horizon > -.infinity {
                    var replica = tsdb
                    replica.horizon = (horizon, [])
                    answered = replica.increases(Fleet.requestsMetric, matching: labels, at: t, range: retentions[i] + schedule.scrapeInterval)
                }
                var finite = (running + waiting + answered).allSatisfy(\.isFinite)
                let names = Set([model.id, model.requestedName] + aliases[i])
                let configuredNames = Set([model.id] + aliases[i])
                for name in names {
                    let gateway = ["target_model_name": name]
                    let queue = tsdb.freshValues(Fleet.queueMetric, matching: gateway, at: t)
                    let counter = Fleet.gatewayCounterMetrics.flatMap { tsdb.freshValues($0, matching: gateway, at: t) }
                    finite = finite && (queue + counter).allSatisfy(\.isFinite)
                    // A source that keeps the model known (spec §5: seen in demand signals). The
                    // series' namespace label attributes it first (spec §4): a gateway per
                    // namespace labels each series with its model's namespace, so another
                    // namespace's series of the same id is that model's demand, not this one's.
                    // ... and only under a name the configuration in force ties to it (its id or
                    // an alias): the gateway's series of a requested name no entry maps is another
                    // model's, as far as the recommender can tell.
                    if !configuredNames.contains(name) {
                        // not a source
                    } else if schedule.gatewayNamespaces == .perNamespace {
                        let own = gateway.merging(["namespace": model.namespace]) { $1 }
                        if !tsdb.freshValues(Fleet.queueMetric, matching: own, at: t).isEmpty
                            || Fleet.gatewayCounterMetrics.contains(where: { !tsdb.freshValues($0, matching: own, at: t).isEmpty }) { facts.gatewayFresh = true }
                    } else if !queue.isEmpty || !counter.isEmpty {
                        facts.gatewayFresh = true
                    }
                    // A name several models answer to proves a path only through a series labelled
                    // with this model's namespace (an unambiguous attribution) — several models the
                    // recommender knows: one it forgot (no source for --forget-after) is no rival.
                    let sharers = schedule.models.indices.filter { j in
                        (j == i || known.contains(ModelKey(namespace: schedule.models[j].namespace, modelID: schedule.models[j].id)))
                            && Set([schedule.models[j].id, schedule.models[j].requestedName] + aliases[j]).contains(name)
                    }.count
                    var proof = gateway
                    if sharers > 1 { proof["namespace"] = model.namespace }
                    if tsdb.hasSeries(Fleet.queueMetric, matching: proof) || Fleet.gatewayCounterMetrics.contains(where: { tsdb.hasSeries($0, matching: proof) }) {
                        facts.wakePathSeen = true
                    }
                    // Liveness asks for a zero only once the recommender could see the path: under
                    // a name the configuration ties to the model. The gateway's series of a
                    // requested name no entry maps proves nothing to it (the model is held with
                    // no_wake_path; schedule 2891639600023089667, shrunk).
                    if configuredNames.contains(name), !tsdb.freshValues(Fleet.queueMetric, matching: proof, at: t).isEmpty
                        || Fleet.gatewayCounterMetrics.contains(where: { !tsdb.freshValues($0, matching: proof, at: t).isEmpty }) {
                        facts.wakePathFresh = true
                    }
                    facts.sharers = max(facts.sharers, sharers)
                }
                facts.finite = finite
                facts.requestedNameMapped = model.viaAPI || configuredNames.contains(model.requestedName)
                if schedule.gatewayNamespaces == .perNamespace, configuredNames.contains(model.requestedName) {
                    let name = model.requestedName
                    let window = max(3 * schedule.scrapeInterval, schedule.tickInterval + 2 * schedule.scrapeInterval)
                    let others = models.indices.filter { j in
                        j != i && models[j].namespace != model.namespace
                            && known.contains(ModelKey(namespace: models[j].namespace, modelID: models[j].id))
                            && Set([models[j].id] + aliases[j]).contains(name)
                    }
                    facts.labelAmbiguous = !others.isEmpty && !others.allSatisfy { j in
                        Set([models[j].id] + aliases[j]).contains { other in
                            let own = ["target_model_name": other, "namespace": models[j].namespace]
                            return !tsdb.recentValues(Fleet.queueMetric, matching: own, at: t, within: window).isEmpty
                                || Fleet.gatewayCounterMetrics.contains(where: { !tsdb.recentValues($0, matching: own, at: t, within: window).isEmpty })
                        }
                    }
                }
                // Demand under a requested name no entry maps to the model is not its demand as
                // far as the recommender can tell (an alias removed from the configuration).
                if let since = pending[i], !model.viaAPI, configuredNames.contains(model.requestedName) {
                    var gateway = ["target_model_name": model.requestedName]
                    // A gateway per namespace labels the series with the model's namespace: another
                    // namespace's queue for the same name is that model's demand, not this one's.
                    if schedule.gatewayNamespaces == .perNamespace { gateway["namespace"] = model.namespace }
                    if flowControl {
                        facts.demandVisible = tsdb.samples(Fleet.queueMetric, matching: gateway).contains { series in
                            series.contains { $0.time >= max(since - 1e-9, horizon) && $0.time <= t && $0.value > 0 }
                        }
                    } else {
                        let window = retentions[i]
                        let from = max(since - 1e-9, horizon)
                        func rose(_ series: [(time: Double, value: Double)]) -> Bool {
                            for (a, b) in zip(series, series.dropFirst())
                            where b.time >= since - 1e-9 && b.time <= t && b.value > a.value && a.time > t - window && a.time >= horizon {
                                return true
                            }
                            // A counter's first sample counts its first value (a new series), once the
                            // process has answered before it.
                            guard let first = series.first else { return false }
                            return first.time >= from && first.time > firstAnswer && first.time > t - window && first.time <= t && first.value > 0
                        }
                        facts.demandVisible = Fleet.gatewayCounterMetrics.flatMap { tsdb.samples($0, matching: gateway) }.contains(where: rose)
                    }
                }
                return facts
            }
        }
    }
}

/// Reads `inferno_desired_replicas` lines of a `/metrics` page.
enum OutputParser {
    static func desiredLines(_ text: String) -> [(labels: [String: String], value: Double)] {
        lines(of: Simulation.desiredMetric, in: text)
    }

    /// The labelled samples of one metric family on the page.
    static func lines(of metric: String, in text: String) -> [(labels: [String: String], value: Double)] {
        var lines: [(labels: [String: String], value: Double)] = []
        let prefix = Array((metric + "{").utf8)
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            var seen = false
            while start < bytes.count {
                var end = start
                while end < bytes.count, bytes[end] != 0x0A { end += 1 }
                let isSample = end - start > prefix.count && prefix.indices.allSatisfy { bytes[start + $0] == prefix[$0] }
                if isSample {
                    seen = true
                    var close = end - 1
                    while close > start, bytes[close] != UInt8(ascii: "}") { close -= 1 }
                    let body = String(decoding: bytes[(start + prefix.count)..<close], as: UTF8.self)
                    let value = Double(String(decoding: bytes[(close + 1)..<end], as: UTF8.self).trimmingCharacters(in: .whitespaces)) ?? .nan
                    lines.append((labels(Substring(body)), value))
                } else if seen && bytes[start] != UInt8(ascii: "#") {
                    break  // the family's samples are contiguous
                }
                start = end + 1
            }
        }
        return lines
    }

    /// The value of an unlabelled sample `name value` on the page, nil when absent.
    static func value(of name: String, in text: String) -> Double? {
        let prefix = Array((name + " ").utf8)
        var text = text
        return text.withUTF8 { bytes -> Double? in
            var start = 0
            while start < bytes.count {
                var end = start
                while end < bytes.count, bytes[end] != 0x0A { end += 1 }
                if end - start > prefix.count, prefix.indices.allSatisfy({ bytes[start + $0] == prefix[$0] }) {
                    return Double(String(decoding: bytes[(start + prefix.count)..<end], as: UTF8.self).trimmingCharacters(in: .whitespaces))
                }
                start = end + 1
            }
            return nil
        }
    }

    /// `a="1",b="x\"y"` → labels.
    static func labels(_ text: Substring) -> [String: String] {
        var labels: [String: String] = [:]
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            var eq = i
            while eq < bytes.count, bytes[eq] != UInt8(ascii: "=") { eq += 1 }
            guard eq + 1 < bytes.count else { break }
            let name = String(decoding: bytes[i..<eq], as: UTF8.self)
            var j = eq + 2  // past ="
            var value: [UInt8] = []
            while j < bytes.count, bytes[j] != UInt8(ascii: "\"") {
                if bytes[j] == UInt8(ascii: "\\"), j + 1 < bytes.count {
                    j += 1
                    value.append(bytes[j] == UInt8(ascii: "n") ? 0x0A : bytes[j])
                } else {
                    value.append(bytes[j])
                }
                j += 1
            }
            labels[name] = String(decoding: value, as: UTF8.self)
            i = j + 1
            if i < bytes.count, bytes[i] == UInt8(ascii: ",") { i += 1 }
        }
        return labels
    }
}

/// The query templates the simulation's collector uses: the service's own.
public enum SimulationQueries {
    /// The templates.
    public static let templates = QueryTemplates()
}
