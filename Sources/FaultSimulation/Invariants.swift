import ModelConfig

/// A promise of the spec the checker verifies at every step.
public enum Invariant: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Demand at t ⇒ desired ≥ 1 in the model's namespace within two ticks that could see it, until served.
    case neverStranded = "never stranded"
    /// A 0 only after R of continuous, complete, quiet observation since the last request.
    case zeroWithoutEvidence = "no zero without evidence"
    /// A 0 only when the gateway has been seen routing the model or its entry says `wake_path: api`.
    case zeroWithoutWakePath = "no zero without a wake path"
    /// The configuration the recommender resolves is never more aggressive than the one the spec
    /// says is in force: a bad edit keeps the last good version, or protects the model it names.
    case badEditAggressive = "a bad edit is never more aggressive"
    /// The kill switch keeps every model at ≥ 1 from the first tick after it is engaged.
    case killSwitch = "kill switch: every model >= 1 within one tick"
    /// A model recommended 0 stays in the output.
    case zeroLeftOutput = "a model at zero never leaves the output"
    /// Forgetting counts only ticks that could see.
    case forgottenWhileBlind = "no model forgotten while the recommender could not see"
    /// With good data an idle model reaches 0 within R + 2 ticks (+ one scrape) of its last request.
    case liveness = "liveness: idle model at 0 within R + 2 ticks of its last request"
    /// While up, the recommendation respects the floor max(1, min_replicas) in force.
    case floor = "floor: desired >= min_replicas while up"
    /// While up, the recommendation respects the ceiling max(max_replicas, floor) in force.
    case ceiling = "ceiling: desired <= max_replicas while up"
    /// Two models of one namespace exported under the same `variant_name` (a consumer selecting it
    /// would mix them) are reported in `recommender_variant_name_conflicts`.
    case variantConflict = "a variant_name shared in one namespace is reported"

    /// In declaration order.
    public static func < (a: Invariant, b: Invariant) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One broken promise: which, when, for which model, and what happened.
public struct Violation: Sendable, Hashable, CustomStringConvertible {
    /// The promise.
    public let invariant: Invariant
    /// Virtual time.
    public let time: Double
    /// `namespace/model`.
    public let model: String
    /// What the checker saw, and what the recommender said.
    public let detail: String

    /// `[invariant] t=… model: detail`.
    public var description: String { "[\(invariant.rawValue)] t=\(Simulation.format(time)) \(model): \(detail)" }
}

/// What the checker reads of the TSDB for one model at one tick (ground truth of the data the
/// recommender was given).
struct ModelFacts {
    /// A replica's vLLM series is fresh (not stale, within lookback).
    var reporting = false
    /// `increase(request counter[R])` has a series for the model.
    var counterPresent = false
    /// ... and the counter is exported now, not only still inside the window. Liveness needs it: a
    /// replica whose counter stopped being exported reports without it (spec §5: unknown, not 0),
    /// while a zero may rest on the window alone (requests served during a short absence show as
    /// the counter's rise across it).
    var counterExported = false
    /// Every activity series of the model is finite.
    var finite = true
    /// The gateway has a series (queue or request counter) for the model or an alias.
    var wakePathSeen = false
    /// ... and one is fresh now (within the lookback), under the same proof rule.
    var wakePathFresh = false
    /// How many models the recommender knows answer to the model's names (rivals of a proof).
    var sharers = 0
    /// A fresh gateway series exists for the model (a source that keeps it known); with a gateway
    /// per namespace, one labelled with the model's namespace (spec §4: the label attributes first).
    var gatewayFresh = false
    /// The pending demand is in the TSDB: a queue sample > 0 since it began (flow control), or a
    /// counter rise since it began within the window (no flow control).
    var demandVisible = false
    /// With a gateway per namespace: another namespace's model of the same name is known, and not
    /// every such model has a gateway series of its own namespace's label within the gateway window —
    /// the label could be a shared gateway's own namespace, so the recommender gives the demand to
    /// the model it knows (spec §4: never a namespace nobody configured or saw).
    var labelAmbiguous = false
    /// The name the model's requests use is one the configuration in force ties to it (its id or
    /// an alias): after a restart forgets a broken entry's last good version, an alias no longer is.
    var requestedNameMapped = true
    /// A running or waiting gauge of the model's pods above 0 that its pods no longer export: a
    /// series that vanished while the TSDB was down gets no staleness marker (its scrape cache is
    /// lost), so Prometheus answers its last value for the 5-minute lookback. The recommender sees
    /// a request in flight, as every consumer of that Prometheus does; the data is not good, and
    /// liveness waits until the ghost is gone (schedule 2891639600023089667).
    var ghostInFlight = false
}

/// Checks the invariants at every step from ground truth: the fleet (who asked when, what was
/// served), the fault schedule (which ticks could see), the TSDB (what the recommender was given)
/// and the configuration the spec says is in force. It never asks the recommender why.
struct Checker {
    let schedule: Schedule
    let profile: Profile
    private(set) var expected: ExpectedConfig
    /// Each model's configuration in force, recomputed when the configuration changes.
    private(set) var resolved: [ExpectedConfig.Resolved]
    private(set) var violations: [Violation] = []

    /// Last value of each model in the output (kept across restarts and while absent).
    private var lastOutput: [ModelKey: Int] = [:]
    /// Start of each model's current run of observed ticks.
    private var streakStart: [Double?]
    /// The same streak with the request counter exported at every tick (liveness).
    private var exportedStreakStart: [Double?]
    /// Demand-visible ticks in the current pending episode.
    private var visibleTicks: [Int]
    /// Models whose last wake call was accepted before the process's first decision.
    private var wakesBeforeDecision: Set<Int> = []
    /// A wake-path proof was fresh at a tick the recommender could see (since the model's rivals
    /// last changed): liveness asks for a zero only then.
    private var pathVisible: [Bool]
    private var lastSharers: [Int]
    /// Whether the recommender could have learnt the model's namespace (spec §4: gateway demand
    /// goes to "the known namespaces of that model id; never a namespace nobody configured or
    /// saw"): its pods reported, an entry names its namespace, the gateway labels its series with
    /// it, or the recommender exported it (recovered after a restart).
    private var knowable: [Bool]
    private var strandedReported: [Bool]
    /// A gateway query fails this tick (`FaultKind.queryFails`): demand is unknown, a hold is right.
    var gatewayQueryFailing = false
    /// The last disturbance of each model (fault end, edit, restart, wake call, container restart).
    private var disturbed: [Double]
    private var livenessReported: [Double?]
    /// Seconds of ticks that could see since each model was last in a source.
    private var seeing: [Double]
    private var lastWakeCall: [Double?]
    private var lastDecided: Double?
    private var killSince: Double?
    private var configChangedAt = -Double.infinity
    private var reported = Set<String>()
    static let maxViolations = 50

    init(schedule: Schedule, profile: Profile) {
        self.schedule = schedule
        self.profile = profile
        expected = ExpectedConfig(schedule.config)
        resolved = schedule.models.map { [expected] in expected.resolve($0) }
        let n = schedule.models.count
        streakStart = Array(repeating: nil, count: n)
        exportedStreakStart = Array(repeating: nil, count: n)
        visibleTicks = Array(repeating: 0, count: n)
        pathVisible = Array(repeating: false, count: n)
        lastSharers = Array(repeating: 0, count: n)
        knowable = Array(repeating: false, count: n)
        strandedReported = Array(repeating: false, count: n)
        disturbed = Array(repeating: 0, count: n)
        livenessReported = Array(repeating: nil, count: n)
        seeing = Array(repeating: 0, count: n)
        lastWakeCall = Array(repeating: nil, count: n)
        if expected.killSwitch { killSince = 0 }
        for (i, model) in schedule.models.enumerated() {
            lastOutput[ModelKey(namespace: model.namespace, modelID: model.id)] = nil
            _ = i
        }
    }

    /// Replaces the explanation placeholder of violations from `index` on with what the
    /// recommender said about each model (fetched only when something was reported).
    mutating func explain(from index: Int, _ explanations: [String: String]) {
        for i in index..<violations.count {
            let v = violations[i]
            let text = v.detail.replacingOccurrences(of: Checker.placeholder, with: explanations[v.model] ?? "recommender: no decision")
            violations[i] = Violation(invariant: v.invariant, time: v.time, model: v.model, detail: text)
        }
    }

    /// Stands for the recommender's explanation until ``explain(from:_:)``.
    static let placeholder = "\u{2063}explanation\u{2063}"

    mutating func report(_ invariant: Invariant, _ time: Double, _ model: String, _ detail: String, once: String? = nil) {
        if let once, !reported.insert(once).inserted { return }
        guard violations.count < Self.maxViolations else { return }
        violations.append(Violation(invariant: invariant, time: time, model: model, detail: detail))
    }

    // MARK: - Events

    mutating func configChanged(at t: Double, _ apply: (inout ExpectedConfig) -> Void) {
        let wasKill = expected.killSwitch
        apply(&expected)
        resolved = schedule.models.map { [expected] in expected.resolve($0) }
        if expected.killSwitch && !wasKill { killSince = t }
        if !expected.killSwitch { killSince = nil }
        configChangedAt = t
        for i in disturbed.indices { disturbed[i] = max(disturbed[i], t) }
    }

    /// The recommender crashed at `t`; Prometheus last scraped it at `lastScrape`, and `scraped`
    /// is the last value it ever scraped of each model. A change made since the last scrape never
    /// left the process (spec: a crash within one scrape loses it): the world's last view of each
    /// model is what Prometheus holds (what recovery reads back; absent if never scraped), and a
    /// wake call accepted since was lost — its caller calls again (docs/integration.md). So was
    /// one accepted before the process's first decision (recovery; nothing is exported before it).
    mutating func crashed(at t: Double, lastScrape: Double, scraped: [ModelKey: Int]) {
        for (i, model) in schedule.models.enumerated() {
            let key = ModelKey(namespace: model.namespace, modelID: model.id)
            lastOutput[key] = scraped[key]
            if let wake = lastWakeCall[i], wake > lastScrape || wakesBeforeDecision.contains(i) { lastWakeCall[i] = nil }
        }
        wakesBeforeDecision.removeAll()
    }

    mutating func restarted(at t: Double) {
        for i in streakStart.indices { streakStart[i] = nil; exportedStreakStart[i] = nil }
        lastDecided = nil
        for i in disturbed.indices { disturbed[i] = max(disturbed[i], t) }
    }

    /// A new engine loads the ConfigMap as it is when it starts: it knows no last good version of
    /// an entry broken before then (by an edit made while the recommender was down, too).
    mutating func engineStarted(at t: Double) {
        expected.restarted()
        resolved = schedule.models.map { [expected] in expected.resolve($0) }
        configChangedAt = max(configChangedAt, t)
    }

    /// What the engine resolved after a configuration change: never more aggressive than the
    /// configuration the spec says is in force (the last good version of a broken entry, or the
    /// model protected when there is none).
    mutating func engineConfiguration(_ resolvedByEngine: [ModelKey: (enable: Bool, retention: Double)], killSwitch: Bool, at t: Double) {
        for (i, model) in schedule.models.enumerated() {
            let key = ModelKey(namespace: model.namespace, modelID: model.id)
            guard let engine = resolvedByEngine[key] else { continue }
            let r = resolved[i]
            let invariant: Invariant = .badEditAggressive
            let cause = r.badInForce ? "a broken entry is in force" : "no entry is broken"
            if engine.enable && !r.enable {
                report(invariant, t, model.ref, "the recommender resolved enable_scale_to_zero: true, the configuration in force says false (\(cause))", once: "cfg-enable\(i)-\(t)")
            } else if engine.enable && engine.retention < r.retention - 1e-6 {
                report(invariant, t, model.ref, "the recommender resolved retention \(Simulation.format(engine.retention))s, the configuration in force says \(Simulation.format(r.retention))s (\(cause))", once: "cfg-retention\(i)-\(t)")
            }
        }
        if expected.killSwitch && !killSwitch {
            report(.killSwitch, t, "global", "the kill switch is in force in the configuration but not engaged in the recommender", once: "cfg-kill-\(t)")
        }
    }

    mutating func disturb(_ i: Int, at t: Double) { disturbed[i] = max(disturbed[i], t) }

    mutating func disturbAll(at t: Double) { for i in disturbed.indices { disturbed[i] = max(disturbed[i], t) } }

    /// A wake call's answer: the model must be recommended ≥ 1 at once.
    mutating func wakeAnswered(_ i: Int, desired: Int?, at t: Double, beforeDecision: Bool = false) {
        let model = schedule.models[i]
        lastWakeCall[i] = t
        if beforeDecision { wakesBeforeDecision.insert(i) } else { wakesBeforeDecision.remove(i) }
        disturbed[i] = max(disturbed[i], t)
        if let desired, desired < 1 {
            report(.neverStranded, t, model.ref, "a wake call answered desired \(desired)")
        }
    }

    // MARK: - A tick

    /// Checks one tick. `decided`: the engine made decisions (config loaded, recovery done);
    /// `blind`: a query-level fault made this tick's data unknown.
    mutating func tick(
        now: Double, start: Double, decided: Bool, blind: Bool, output: [ModelKey: Int], facts: [ModelFacts], fleet: Fleet
    ) {
        let explain = { (_: ModelKey) in Checker.placeholder }
        guard decided else {
            for i in streakStart.indices { streakStart[i] = nil; exportedStreakStart[i] = nil }
            return
        }
        let models = schedule.models
        let killSwitch = expected.killSwitch
        let elapsed = lastDecided.map { now - $0 } ?? 0

        // Observation: complete data, a replica reporting (with its request counter) or already at zero.
        for (i, model) in models.enumerated() {
            if facts[i].ghostInFlight { disturbed[i] = max(disturbed[i], now) }
            let key = ModelKey(namespace: model.namespace, modelID: model.id)
            let observed = !blind && facts[i].finite && ((facts[i].reporting && facts[i].counterPresent) || lastOutput[key] == 0)
            streakStart[i] = observed ? (streakStart[i] ?? now) : nil
            let exported = observed && (facts[i].counterExported || lastOutput[key] == 0 || !facts[i].reporting)
            exportedStreakStart[i] = exported ? (exportedStreakStart[i] ?? now) : nil
        }

        for (i, model) in models.enumerated() {
            let key = ModelKey(namespace: model.namespace, modelID: model.id)
            let r = resolved[i]
            let value = output[key]
            let previous = lastOutput[key]

            // A zero: the spec's evidence, configuration and wake path.
            if value == 0 && previous != 0 {
                let from = previous.map(String.init) ?? "none"
                if !r.enable || killSwitch {
                    let why = killSwitch ? "the kill switch is engaged" : "scale-to-zero is off in the configuration in force"
                    report(.zeroWithoutEvidence, now, model.ref, "went \(from) → 0 although \(why)\(r.badInForce ? " (a broken entry is in force)" : ""); \(explain(key))")
                } else {
                    // What the tick's answers could hold: the data as of the moment the queries were
                    // received (`start`); a request arriving while slow answers travel is seen next tick.
                    let last = fleet.lastObservableActivity(i, at: start)
                    let quietFor = now - last
                    let observation = streakStart[i].map { "observed continuously since \(Simulation.format($0))" } ?? "not observed at this tick"
                    if quietFor < r.retention - schedule.scrapeInterval - 1e-6 {
                        report(.zeroWithoutEvidence, now, model.ref,
                               "went \(from) → 0 \(Simulation.format(quietFor))s after its last request (completed or seen in flight at \(Simulation.format(last))), R is \(Simulation.format(r.retention))s, \(observation); \(explain(key))")
                    } else if streakStart[i].map({ now - $0 < r.retention - 1e-6 }) ?? true {
                        let observed = streakStart[i].map { "observed continuously only since \(Simulation.format($0)) (\(Simulation.format(now - $0))s)" } ?? "not observed at this tick"
                        report(.zeroWithoutEvidence, now, model.ref, "went \(from) → 0 but \(observed), R is \(Simulation.format(r.retention))s; \(explain(key))")
                    }
                }
                if profile.wakePathRule && !facts[i].wakePathSeen && !r.wakePathAPI {
                    report(.zeroWithoutWakePath, now, model.ref, "went \(from) → 0 but the gateway was never seen routing it and its entry does not say wake_path: api; \(explain(key))")
                }
            }

            // Kill switch.
            if let since = killSince, since < start, value == 0 {
                report(.killSwitch, now, model.ref, "desired 0 with the kill switch engaged since t=\(Simulation.format(since)); \(explain(key))", once: "kill\(i)\(since)")
            }

            // A zero never leaves the output.
            if previous == 0 && value == nil {
                report(.zeroLeftOutput, now, model.ref, "was recommended 0 and is no longer exported (a wake now finds no series to raise)", once: "left\(i)")
            }

            // A wake path the recommender had a chance to see: a proof fresh at a tick that could
            // see. One that existed only while it was blind (the gateway's series ended then, and
            // a restart's first read-back does not reach it) is unknown to it: it holds the model
            // at `no_wake_path`, which is safe, and liveness does not ask for the zero.
            if facts[i].sharers != lastSharers[i] { pathVisible[i] = false; lastSharers[i] = facts[i].sharers }
            if !blind && facts[i].wakePathFresh { pathVisible[i] = true }

            // Forgetting only counts ticks that could see.
            let sourced = facts[i].reporting || facts[i].gatewayFresh || r.namedScoped
            // A tick whose gateway query failed cannot see the gateway's series either.
            if sourced { seeing[i] = 0 } else if !blind && !gatewayQueryFailing { seeing[i] += elapsed }
            if let previous, previous > 0, value == nil, seeing[i] < schedule.forgetAfter - 2 * schedule.tickInterval {
                report(.forgottenWhileBlind, now, model.ref, "forgotten after only \(Simulation.format(seeing[i]))s of ticks that could see (forget after \(Simulation.format(schedule.forgetAfter))s)", once: "blind\(i)")
            }
            // Forgotten (spec §5: unseen for the period): the recommender knows the model again only
            // from a source, so demand it cannot place (no label, no entry) is not its to see.
            if previous != nil, value == nil { knowable[i] = false }

            // Never stranded.
            // Reporting makes a model knowable only to a tick whose answers could see it.
            if (facts[i].reporting && !blind) || r.namedScoped || value != nil { knowable[i] = true }
            // A gateway per namespace names the model's namespace — unless the label could be a
            // shared gateway's own (another namespace's model of the name has no series of its own).
            let attributable = knowable[i] || (schedule.gatewayNamespaces == .perNamespace && !facts[i].labelAmbiguous)
            let runtime = fleet.models[i]
            if let pending = runtime.pendingSince {
                if model.viaAPI {
                    if let wake = lastWakeCall[i], wake >= pending - 1e-9, now - wake < r.retention, (value ?? 0) < 1, !strandedReported[i] {
                        strandedReported[i] = true
                        report(.neverStranded, now, model.ref, "requests wait since t=\(Simulation.format(pending)), a wake call at t=\(Simulation.format(wake)), desired \(value.map(String.init) ?? "absent"); \(explain(key))")
                    }
                } else {
                    if !facts[i].requestedNameMapped { visibleTicks[i] = 0 }
                    // Without flow control a rejected client waits to retry, seen by nobody: the
                    // promise holds while its rejection is visible (R after it, as for a wake call).
                    if !schedule.flowControl && !blind && !facts[i].demandVisible { visibleTicks[i] = 0 }
                    // ... R after the rejection itself: a count first sampled after a gateway scrape
                    // gap is no later demand (schedule 13235911227745305247).
                    if !schedule.flowControl && now - runtime.lastRejection >= r.retention { visibleTicks[i] = 0 }
                    if !blind && facts[i].demandVisible && attributable { visibleTicks[i] += 1 }
                    if visibleTicks[i] >= 2, (value ?? 0) < 1, !strandedReported[i] {
                        strandedReported[i] = true
                        report(.neverStranded, now, model.ref, "requests wait at the gateway since t=\(Simulation.format(pending)) (visible to \(visibleTicks[i]) ticks), desired \(value.map(String.init) ?? "absent") in \(model.namespace); \(explain(key))")
                    }
                }
            } else {
                visibleTicks[i] = 0
                strandedReported[i] = false
            }

            // Floor while up.
            // As the product resolves it: a max_replicas below min_replicas (from another level) wins.
            let floor = min(max(1, r.minReplicas), max(r.maxReplicas ?? Int.max, 1))
            if let value, value >= 1, value < floor, configChangedAt < start {
                report(.floor, now, model.ref, "desired \(value) below the floor \(floor) (min_replicas in force); \(explain(key))", once: "floor\(i)\(configChangedAt)")
            }

            // Ceiling while up.
            if let value, value >= 1, let maximum = r.maxReplicas, value > max(maximum, floor), configChangedAt < start {
                report(.ceiling, now, model.ref, "desired \(value) above max_replicas \(max(maximum, floor)) in force; \(explain(key))", once: "ceiling\(i)\(configChangedAt)")
            }

            // Liveness: with good data, quiet, a wake path and nothing else in the way: 0 in time.
            if let value, value >= 1, let (calm, retention) = calmSince(i, resolved: resolved, facts: facts, fleet: fleet) {
                let deadline = calm + retention + 2 * schedule.tickInterval + schedule.scrapeInterval + 1e-6
                if now > deadline, livenessReported[i] != calm {
                    livenessReported[i] = calm
                    report(.liveness, now, model.ref, "still \(value) at t=\(Simulation.format(now)): quiet, complete and undisturbed since t=\(Simulation.format(calm)), R \(Simulation.format(retention))s, deadline t=\(Simulation.format(deadline)); \(explain(key))")
                }
            }
        }
        for (key, value) in output { lastOutput[key] = value }
        for (i, model) in models.enumerated() {
            let key = ModelKey(namespace: model.namespace, modelID: model.id)
            if output[key] == nil, let previous = lastOutput[key], previous > 0 { lastOutput[key] = nil }
            _ = i
        }
        lastDecided = now
    }

    /// The exported `inferno_desired_replicas` lines and the `recommender_variant_name_conflicts`
    /// gauge of the same page: every `variant_name` that two models of one namespace are exported
    /// under must be counted.
    mutating func exposition(_ lines: [[String: String]], reportedConflicts: Double?, at t: Double) {
        var models: [String: Set<String>] = [:]
        for labels in lines {
            guard let namespace = labels["namespace"], let variant = labels["variant_name"], let model = labels["model_name"] else { continue }
            models[namespace + "/" + variant, default: []].insert(model)
        }
        let shared = models.filter { $0.value.count > 1 }
        guard !shared.isEmpty, (reportedConflicts ?? 0) < Double(shared.count) else { return }
        for (name, ids) in shared.sorted(by: { $0.key < $1.key }) {
            report(.variantConflict, t, name, "exported for \(ids.sorted().joined(separator: " and ")) in one namespace, recommender_variant_name_conflicts is \(reportedConflicts.map(Simulation.format) ?? "absent")", once: "variant\(name)")
        }
    }

    /// Since when model `i` (and its group) has been quiet, observed and undisturbed with every
    /// condition for a zero in place; nil when a condition is missing.
    func calmSince(_ i: Int, resolved: [ExpectedConfig.Resolved], facts: [ModelFacts], fleet: Fleet) -> (Double, Double)? {
        guard !gatewayQueryFailing else { return nil }
        let model = schedule.models[i]
        var members = [i]
        if let group = resolved[i].group {
            members = schedule.models.indices.filter { schedule.models[$0].namespace == model.namespace && resolved[$0].group == group }
        }
        var calm = -Double.infinity
        var retention = 0.0
        for j in members {
            let r = resolved[j]
            let runtime = fleet.models[j]
            guard r.enable, !expected.killSwitch, !r.badInForce, runtime.pendingSince == nil, runtime.inFlight == 0,
                let streak = exportedStreakStart[j] else { return nil }
            if profile.wakePathRule && !(facts[j].wakePathSeen && pathVisible[j]) && !r.wakePathAPI { return nil }
            calm = max(calm, streak, disturbed[j], runtime.lastCompletion)
            // A twin's gateway requests while none of its replicas reports count for every model
            // of the name evidenced elsewhere (spec §4: a label naming a namespace where the name
            // is known only from a recovered value or a wake goes to the models evidenced
            // elsewhere, so a request is never lost to a shared gateway's own namespace) — unless
            // an entry names the twin's namespace (evidence: its requests go to it alone). While no
            // replica of the twin reports (its pods' scrapes fail), what its ready pods serve is in
            // no series of its own either (schedule 15260727443853610683).
            for k in schedule.models.indices where k != j && schedule.models[k].id == schedule.models[j].id && !resolved[k].namedScoped {
                calm = max(calm, facts[k].reporting ? fleet.models[k].lastUnservedGatewayArrival : fleet.models[k].lastGatewayArrival)
            }
            retention = max(retention, r.retention)
        }
        return (calm, retention)
    }
}
