import Foundation
import ModelConfig

/// Everything one model's decision depends on.
public struct DecisionInput: Sendable, Hashable {
    /// The model's resolved configuration.
    public var config: ResolvedModelConfig
    /// This tick's signals (nil fields are unknown).
    public var signals: ModelSignals
    /// What was remembered from the previous decision.
    public var state: ModelState
    /// A wake call arrived since the previous decision.
    public var wakeRequested: Bool

    /// Creates an input.
    public init(config: ResolvedModelConfig, signals: ModelSignals, state: ModelState, wakeRequested: Bool = false) {
        self.config = config
        self.signals = signals
        self.state = state
        self.wakeRequested = wakeRequested
    }
}

/// Fleet-wide settings of the decision (flags of the service, not the model ConfigMap).
public struct Policy: Sendable, Hashable {
    /// The kill switch: no model goes to zero, models at zero come back.
    public var killSwitch: Bool
    /// Seconds a lower load-based size must be wanted before it is recommended.
    public var scaleDownStabilization: Double
    /// No zero without a wake path (spec §5 step 3); `false` turns the rule off.
    public var zeroRequiresWakePath: Bool
    /// Seconds a gateway wake path stays proven after its series were last seen (gateway restarts
    /// reset its counters; a model at zero may have no series until its next request).
    public var wakePathMemory: Double
    /// Whether decisions carry their detail in words (``Decision/detail``). The service's always
    /// do; a backtest, which reads only the count and the reason, turns them off: writing them is
    /// most of the cost of a decision. The count, reason and state are the same either way.
    public var details: Bool

    /// Creates a policy. The defaults are the service's.
    public init(
        killSwitch: Bool = false, scaleDownStabilization: Double = 0, zeroRequiresWakePath: Bool = true, wakePathMemory: Double = 86_400,
        details: Bool = true
    ) {
        self.killSwitch = killSwitch
        self.scaleDownStabilization = scaleDownStabilization
        self.zeroRequiresWakePath = zeroRequiresWakePath
        self.wakePathMemory = wakePathMemory
        self.details = details
    }
}

/// How a model can come back from zero.
public enum WakePathStatus: String, Sendable, Hashable, CaseIterable, Codable {
    /// The gateway has been seen routing the model (queue or request-counter series).
    case gateway
    /// Its entry declares `wake_path: api`: its callers use the wake API.
    case api
    /// Nothing known: the model is not taken to zero (unless the operator turned the rule off).
    case none
}

/// The recommendation for one model, the state to remember, and what happened.
public struct Decision: Sendable, Hashable {
    /// The desired replica count, 0 included.
    public let desired: Int
    /// Why.
    public let reason: Reason
    /// The model's state after this decision.
    public let phase: Phase
    /// A short human explanation (`gateway demand 3`, `idle: evidence 12s of 20s`, `unknown: requests`).
    public let detail: String
    /// The state to pass to the next decision.
    public let state: ModelState
    /// The recommendation went from ≥ 1 to 0.
    public let scaledToZero: Bool
    /// The recommendation went from 0 to ≥ 1.
    public let woke: Bool
    /// Seconds from 0 → ≥ 1 until a replica was ready, when a cold start completed at this tick.
    public let coldStartSeconds: Double?
    /// How the model can come back from zero.
    public let wakePath: WakePathStatus
    /// While the evidence of idleness builds: the earliest time the model can go to zero if nothing
    /// arrives. Nil when zero is not in view (busy, protected, unknown data, at zero already).
    public let zeroAt: Instant?
}

/// The decision core: a pure function of configuration, signals, remembered state and `now`.
///
/// Per model, in order (spec §5):
/// 1. **wake** — demand at the gateway (queue, or requests it received with no replica), a wake call,
///    requests in flight, or a wake of a group member: at least max(1, min_replicas); the model then
///    stays up for at least its retention period.
/// 2. **hold** — a signal the decision needs is unknown: the last recommendation is kept (raised to
///    the floor while active, or when scale-to-zero is not allowed). Missing data never moves a
///    model toward zero.
/// 3. **idle → zero** — scale-to-zero allowed, every activity signal known and zero now, and the
///    recommender has observed the model continuously (complete data, a replica reporting, or at
///    zero) for the retention period R, with no wake within R: since `increase(...[R])` is zero,
///    no request completed in the last R, so R is measured from the last request (and from a
///    request the gateway counted that no replica's counter shows, `ModelState.uncountedArrival`). The whole group
///    likewise. Zero needs a wake path, else the model is held with reason `no_wake_path`.
/// 4. **active** — otherwise: sized to load (`target_concurrency`) or by saturation (KV-cache and
///    queue against targets, see `Sizer`), clamped to [max(1, min_replicas), max_replicas],
///    scaled up at once and down after the stabilization window.
public enum Recommender {
    /// Decides every model at once (groups need to see all their members).
    public static func recommend(_ inputs: [DecisionInput], policy: Policy, now: Instant) -> [Decision] {
        let evidence = inputs.map { Evidence($0, now: now, policy: policy) }
        var groups: [GroupKey: (wake: Bool, idle: Bool)] = [:]
        for item in evidence {
            guard let key = item.group else { continue }
            let current = groups[key] ?? (false, true)
            groups[key] = (current.wake || item.ownWake, current.idle && item.idleForZero)
        }
        return evidence.map { item in
            let group = item.group.flatMap { groups[$0] } ?? (false, true)
            return decide(item, groupWake: group.wake && !item.ownWake, groupIdle: group.idle, policy: policy, now: now)
        }
    }

    /// Decides one model alone (no group peers known).
    public static func decide(_ input: DecisionInput, policy: Policy, now: Instant) -> Decision {
        recommend([input], policy: policy, now: now)[0]
    }

    // MARK: - The table of spec §5

    static func decide(_ e: Evidence, groupWake: Bool, groupIdle: Bool, policy: Policy, now: Instant) -> Decision {
        let config = e.input.config
        let previous = e.input.state.desired
        let zeroAllowed = config.enableScaleToZero && !policy.killSwitch
        var next = e.next
        if groupWake { next.lastWake = now }

        var outcome: (desired: Int, reason: Reason, detail: String)
        var zeroAt: Instant?
        if e.ownWake || groupWake {
            outcome = wake(e, groupWake: groupWake, details: policy.details)
        } else if let missing = e.unknown(needingZero: zeroAllowed) {
            outcome = hold(e, zeroAllowed: zeroAllowed, missing: missing)
        } else if zeroAllowed, let window = e.prewarm, previous == 0 || (e.idleForZero && groupIdle) {
            outcome = prewarm(e, window, now: now)
        } else if zeroAllowed && previous == 0 && e.quiet {
            outcome = (0, .idle, "at zero, no demand")
        } else if zeroAllowed && e.idleForZero && groupIdle {
            outcome = e.wakePath == .none && policy.zeroRequiresWakePath
                ? noWakePath(e) : (0, .idle, "no request for the retention period (\(format(e.retention))s), observed throughout")
        } else if let sizing = Sizer.size(config, e.input.signals, previous: previous, explain: policy.details) {
            outcome = (sizing.replicas, .active, policy.details ? activeDetail(e, sizing: sizing, groupIdle: groupIdle, policy: policy, now: now) : "")
            if zeroAllowed, e.quiet { zeroAt = e.zeroAt }
        } else {
            outcome = hold(e, zeroAllowed: zeroAllowed, missing: config.targetConcurrency == nil ? "saturation (ready, kv-cache, running, waiting)" : "in-flight")
        }
        if !zeroAllowed { outcome.desired = max(outcome.desired, config.activeFloor) }
        if case .invalidEntry(let key) = config.sources[.enableScaleToZero], let previous, outcome.desired < previous {
            // A broken entry with no good version: what it meant is unknown, so nothing moves down
            // (up to the max_replicas in force).
            let held = Swift.max(Swift.min(previous, config.maxReplicas ?? previous), outcome.desired)
            if held > outcome.desired {
                outcome.desired = held
                outcome.detail += "; held at \(held): entry `\(key)` is invalid and has no good version"
            }
        }
        // max_replicas applies at once, whichever rule decided: a model that serves while its size
        // is unknown keeps its last size, but not above a newly lowered ceiling.
        outcome.desired = min(outcome.desired, max(config.maxReplicas ?? Int.max, config.activeFloor))

        stabilize(
            &outcome, config: config, previous: e.input.state, ready: e.input.signals.ready, next: &next,
            window: policy.scaleDownStabilization, now: now)
        let coldStartSeconds = trackColdStart(desired: outcome.desired, previous: previous, ready: e.input.signals.ready, next: &next, now: now)
        if let seconds = coldStartSeconds, KeepAlive.learns(config) { KeepAlive.recordColdStart(seconds, into: &next.keepAlive) }
        next.desired = outcome.desired
        return Decision(
            desired: outcome.desired, reason: outcome.reason,
            phase: phase(desired: outcome.desired, reason: outcome.reason, next: next, quiet: e.quiet || e.countingDown),
            detail: outcome.detail, state: next,
            scaledToZero: (previous ?? 1) > 0 && outcome.desired == 0, woke: previous == 0 && outcome.desired > 0,
            coldStartSeconds: coldStartSeconds, wakePath: e.wakePath, zeroAt: zeroAt)
    }

    /// The wake rule: at least the floor; sized to load when it is known.
    static func wake(_ e: Evidence, groupWake: Bool, details: Bool = true) -> (Int, Reason, String) {
        let config = e.input.config
        let previous = e.input.state.desired
        let desired = max(activeSize(config, e.input.signals, previous: previous) ?? previous ?? config.activeFloor, config.activeFloor)
        // `wake` names a way back from zero (or a wake call, or gateway demand for a model never
        // decided); a model already up that serves is active.
        let gatewayDemand = (e.input.signals.demand ?? 0) > 0 || e.gatewayIncrease
        let reason: Reason = previous == 0 || e.input.wakeRequested || (previous == nil && gatewayDemand) ? .wake : .active
        return (desired, reason, details ? wakeDetail(e, groupWake: groupWake) : "")
    }

    /// The hold rule: keep the last recommendation. A model at ≥ 1 keeps at least its (possibly newly
    /// raised) floor; a model at zero stays there only while zero is allowed.
    static func hold(_ e: Evidence, zeroAllowed: Bool, missing: String) -> (Int, Reason, String) {
        let config = e.input.config
        let desired: Int
        switch e.input.state.desired {
        case 0? where zeroAllowed: desired = 0
        case let previous?: desired = max(previous, config.activeFloor)  // max_replicas: `decide` clamps every rule
        case nil: desired = config.activeFloor
        }
        return (desired, .hold, "unknown: \(missing)")
    }

    /// Idle → zero without a wake path: held at the active size.
    static func noWakePath(_ e: Evidence) -> (Int, Reason, String) {
        let size = activeSize(e.input.config, e.input.signals, previous: e.input.state.desired) ?? max(e.input.state.desired ?? 1, e.input.config.activeFloor)
        return (size, .noWakePath,
                "idle for the retention period, but no wake path: the gateway has not been seen routing this model; set wake_path: api if its callers use the wake API")
    }

    static func activeDetail(_ e: Evidence, sizing: Sizing, groupIdle: Bool, policy: Policy, now: Instant) -> String {
        let config = e.input.config
        if policy.killSwitch { return "kill switch: scale-to-zero not allowed; \(sizing.arithmetic)" }
        if !config.enableScaleToZero { return "scale-to-zero disabled; \(sizing.arithmetic)" }
        if e.countingDown, let requests = e.input.signals.requests {
            return "idle: nothing in flight; \(format(requests.rounded())) request(s) completed in the last \(format(e.retention))s — zero \(format(e.retention))s after the last one; \(sizing.arithmetic)"
        }
        guard e.quiet else { return "serving: \(sizing.arithmetic)" }
        if e.next.observedSince == nil { return "no replica reports metrics: no evidence of idleness yet" }
        if e.idleForZero && !groupIdle { return "idle, but group \(config.group ?? "") is not" }
        if !e.windowHoldsR, e.input.signals.requestsWindowReset {
            return "idle: a request counter was reset within the \(format(e.retention))s window (a container restarted; what it served since its last scrape is lost): no zero before the reset has left the window"
        }
        if !e.windowHoldsR, e.input.signals.requestsWindowEnded {
            return "idle: a replica's request counter ended within the \(format(e.retention))s window (its pod was removed or is no longer scraped; what it served after its last scrape is unseen): no zero before its series has left the window"
        }
        if !e.windowHoldsR, let held = e.input.signals.requestsWindowSeconds {
            return "idle: Prometheus holds \(format(held.rounded()))s of the \(format(e.retention))s window (a fresh or restarted TSDB, or a replica newer than the window): no zero before it holds all of it"
        }
        if let uncounted = e.next.uncountedArrival, now.since(uncounted) < e.retention {
            return "idle: the gateway counted a request \(format(now.since(uncounted)))s ago that no replica's request counter shows (rejected before a replica was ready, or lost in a counter reset): zero \(format(e.retention))s after it"
        }
        if let lastWake = e.next.lastWake, now.since(lastWake) < e.retention {
            return "woken \(format(now.since(lastWake)))s ago, held up for \(format(e.retention))s"
        }
        let observed = e.next.observedSince.map { now.since($0) } ?? 0
        return "idle: evidence \(format(observed))s of \(format(e.retention))s"
    }

    static func wakeDetail(_ e: Evidence, groupWake: Bool) -> String {
        let s = e.input.signals
        var parts: [String] = []
        if let demand = s.demand, demand > 0 { parts.append("gateway demand \(format(demand))") }
        if e.gatewayIncrease, let requests = s.gatewayRequests { parts.append("gateway requests \(format(requests.rounded(.up)))") }
        if e.input.wakeRequested { parts.append("wake call") }
        let inFlight = (s.running ?? 0) + (s.waiting ?? 0)
        if inFlight > 0 { parts.append("\(format(inFlight)) in flight") }
        if groupWake { parts.append("group \(e.input.config.group ?? "") woke") }
        return parts.joined(separator: ", ")
    }

    /// Scale-down stabilization: scale-up is immediate; a lower size is recommended only once no
    /// higher one was wanted within the window (the maximum over the window, as HPA's scale-down
    /// stabilization takes it). With `target_concurrency` the size then follows the load; sized by
    /// saturation it goes down one replica per window (a replica removed changes every other
    /// replica's load: one step, then measure again). `max_replicas` applies at once.
    static func stabilize(
        _ outcome: inout (desired: Int, reason: Reason, detail: String), config: ResolvedModelConfig, previous: ModelState,
        ready: Double?, next: inout ModelState, window: Double, now: Instant
    ) {
        if outcome.desired == 0 {
            (next.peak, next.peakAt, next.runnerUp, next.runnerUpAt) = (nil, nil, nil, nil)
            return
        }
        guard outcome.reason != .hold else { return }
        let ceiling = max(config.maxReplicas ?? Int.max, config.activeFloor)
        let wanted = outcome.desired
        // A recovered or first recommendation has no window yet: it starts now, from the last
        // recommendation or, for a model never decided, the replicas it has (its consumer's state).
        let current = previous.peak ?? previous.desired ?? ready.map { Int(min(max($0, 0), 1e9)) }
        guard var peak = current.map({ min($0, ceiling) }), wanted < peak else {
            (next.peak, next.peakAt, next.runnerUp, next.runnerUpAt) = (wanted, now, nil, nil)
            return
        }
        var at = previous.peakAt ?? now
        // The highest size wanted since the peak: the window's maximum once the peak has aged out.
        var (runnerUp, runnerUpAt) = (previous.runnerUp, previous.runnerUpAt)
        if runnerUp.map({ wanted >= $0 }) ?? true { (runnerUp, runnerUpAt) = (wanted, now) }
        if now.since(at) >= window, config.targetConcurrency != nil {
            if let size = runnerUp, let when = runnerUpAt, now.since(when) < window, size > wanted {
                (peak, at) = (size, when)
                (runnerUp, runnerUpAt) = (wanted, now)
            } else {
                (next.peak, next.peakAt, next.runnerUp, next.runnerUpAt) = (wanted, now, nil, nil)
                return
            }
        }
        (next.peak, next.peakAt, next.runnerUp, next.runnerUpAt) = (peak, at, runnerUp, runnerUpAt)
        if now.since(at) < window {
            outcome.detail += ", holding \(peak) for \(format(window - now.since(at)))s (scale-down stabilization)"
            outcome.desired = peak
        } else {
            outcome.detail += ", one step down from \(peak) (scale-down stabilization)"
            outcome.desired = peak - 1
            (next.peak, next.peakAt, next.runnerUp, next.runnerUpAt) = (peak - 1, now, nil, nil)
        }
    }

    /// Cold start: from the recommendation leaving zero until a later decision sees a ready replica
    /// (the signals of the transition itself may predate it).
    static func trackColdStart(desired: Int, previous: Int?, ready: Double?, next: inout ModelState, now: Instant) -> Double? {
        if desired == 0 {
            next.coldStartSince = nil
        } else if previous == 0 {
            next.coldStartSince = now
        } else if let since = next.coldStartSince, (ready ?? 0) >= 1 {
            next.coldStartSince = nil
            return now.since(since)
        }
        return nil
    }

    static func phase(desired: Int, reason: Reason, next: ModelState, quiet: Bool) -> Phase {
        if desired == 0 { return .zero }
        if next.coldStartSince != nil { return .waking }  // waking, even while its data is incomplete
        if reason == .hold { return .held }
        return quiet ? .idle : .active
    }

    /// The active size (see `Sizer`), nil when a signal it needs is unknown.
    static func activeSize(_ config: ResolvedModelConfig, _ s: ModelSignals, previous: Int? = nil) -> Int? {
        Sizer.size(config, s, previous: previous, explain: false)?.replicas
    }

    static func format(_ value: Double) -> String { DecimalText.format(value, decimals: 1) }
}

/// A group is scoped to its namespace: two teams' groups of the same name are unrelated.
struct GroupKey: Hashable {
    let namespace: String
    let name: String
}

/// What one tick tells about one model before the table is applied: what is known, whether it is
/// quiet, how long it has been observed, and whether it is idle enough for zero.
struct Evidence {
    let input: DecisionInput
    /// The state carried forward: observation, wake, activity and gateway bookkeeping.
    let next: ModelState
    /// The model's own wake: demand, wake call, in-flight requests or gateway requests.
    let ownWake: Bool
    /// The gateway received requests for the model while no replica serves it, or while it is
    /// recommended 0.
    let gatewayIncrease: Bool
    /// Every activity signal known and zero.
    let quiet: Bool
    /// Nothing in flight or queued and no wake, but requests completed within the window: the
    /// retention is counting down from the last of them.
    let countingDown: Bool
    /// Quiet, observed continuously for R, no wake within R, the requests window holding R of
    /// history (or at zero and quiet).
    let idleForZero: Bool
    /// The requests window holds at least R of history (or its extent is not known).
    let windowHoldsR: Bool
    /// The earliest time zero is possible if nothing arrives (nil when the evidence is not building).
    let zeroAt: Instant?
    /// How the model can come back from zero.
    let wakePath: WakePathStatus
    /// The retention period in seconds: `retention_period`, or the one adaptive keep-alive learned.
    let retention: Double
    /// The pre-warm window the model is in, when quiet (pre-warm on and periodic arrivals).
    let prewarm: KeepAlive.PrewarmWindow?
    /// The model's group, scoped to its namespace.
    let group: GroupKey?

    init(_ input: DecisionInput, now: Instant, policy: Policy) {
        self.input = input
        let s = input.signals
        let state = input.state
        retention = KeepAlive.retention(input.config, state).seconds
        group = input.config.group.map { GroupKey(namespace: input.config.model.namespace, name: $0) }

        // Requests at the gateway are demand while no replica serves (with replicas, vLLM's own
        // signals see them) — and always for a model recommended 0: a replica still reporting then
        // is one on its way out (the consumer's cooldown) or a series left behind by a Prometheus
        // that could not mark it stale, and neither will serve the next request.
        gatewayIncrease = (s.gatewayRequests ?? 0) > 0 && ((s.ready ?? 0) < 1 || state.desired == 0)
        ownWake = input.wakeRequested || (s.demand ?? 0) > 0 || (s.running ?? 0) > 0 || (s.waiting ?? 0) > 0 || gatewayIncrease
        let activity = [s.requests, s.running, s.waiting, s.demand, s.gatewayRequests]
        let known = !activity.contains(where: { $0 == nil }) && s.ready != nil
        quiet = known && !ownWake && !activity.contains(where: { ($0 ?? 0) > 0 })
        countingDown = known && !ownWake && ((s.requests ?? 0) > 0 || (s.gatewayRequests ?? 0) > 0)
            && !([s.running, s.waiting, s.demand].contains { ($0 ?? 0) > 0 })

        var next = state
        if s.gatewaySeen { next.gatewaySeenAt = now }
        if ownWake { next.lastWake = now }
        if ownWake || (s.requests ?? 0) > 0 { next.lastActivity = now }
        // The requests window must hold R of history (a fresh TSDB's does not yet, nor a counter
        // first scraped less than R ago); the observation goes on meanwhile: what the window
        // holds is complete, only short.
        let held = s.requestsWindowSeconds ?? .infinity
        let windowHolds = held >= retention && !s.requestsWindowReset && !s.requestsWindowEnded
        windowHoldsR = windowHolds
        // Requests the gateway counted for this model alone that no replica's counter shows
        // (nothing completed in a window that holds R, nothing in flight): their completions are
        // lost — a restarted container's counter back at its old value across a failed scrape —
        // so the retention counts from them too. Only when the gateway's count reaches no further
        // back than the requests window: a longer one (a read back over a long blind stretch, a
        // gateway window longer than R) may hold requests the window rightly no longer shows.
        // (Requests the counters do show are timed by them; a window short of R — a counter whose
        // first sample already counted them — holds the zero until R after that sample.) A window
        // that holds R but has a reset or an ended series in it counts too: the request lost
        // there may be the very one (a container restarted, its pod not ready for a scrape or two:
        // its series back at the old value before the ended-series hold could time anything).
        // Whatever the window holds, at the tick that first sees a replica after a wake from zero
        // — the requests the gateway counted then were rejected before the replica was ready
        // (flow control off; it has served none of them), their clients retry R after them at
        // the earliest, and the wake tick came before the last of them — and at a tick whose
        // answer shows a new rejection (a pod scraped before it is ready: the gateway rejects
        // while a replica reports). Only then: the gateway's window shows a request for a few
        // ticks, and counting it again at each would put the zero that much later than R after it.
        let firstReady = state.coldStartSince != nil && (s.ready ?? 0) >= 1
        let rejectedNow = (s.gatewayRejections ?? 0) > 0
        if s.gatewaySeen, held >= retention || firstReady || rejectedNow, let span = s.gatewayRequestsSpan, span <= retention,
           (s.gatewayRequests ?? 0) > 0 || rejectedNow, s.requests == 0, !ownWake {
            next.uncountedArrival = now
            next.lastActivity = now
        }
        let learns = KeepAlive.learns(input.config)
        // An arrival: a wake, or requests the gateway counted (served by replicas or not).
        let arrival = ownWake || (s.gatewayRequests ?? 0) > 0
        if learns { next.keepAlive = KeepAlive.learn(state.keepAlive, arrival: arrival, config: input.config, now: now) }
        // Observation: complete data with a replica reporting (or the model at zero). Anything less
        // — an unknown signal, a partial answer, pods not scraped — starts it afresh.
        let reporting = (s.ready ?? 0) >= 1 || state.desired == 0
        next.observedSince = known && reporting ? (state.observedSince ?? now) : nil
        self.next = next

        if input.config.wakePath == .api {
            wakePath = .api
        } else if let seen = next.gatewaySeenAt, now.since(seen) <= policy.wakePathMemory {
            wakePath = .gateway
        } else {
            wakePath = .none
        }

        let r = retention
        let observedEnough = next.observedSince.map { now.since($0) >= r } ?? false
        let wokeLongAgo = next.lastWake.map { now.since($0) >= r } ?? true
        let uncountedLongAgo = next.uncountedArrival.map { now.since($0) >= r } ?? true
        idleForZero = quiet && (state.desired == 0 || (observedEnough && wokeLongAgo && uncountedLongAgo && windowHoldsR))
        if quiet, let since = next.observedSince {
            zeroAt = [next.lastWake, next.uncountedArrival].compactMap { $0?.adding(r) }.reduce(since.adding(r), Swift.max)
        } else {
            zeroAt = nil
        }
        prewarm = learns && quiet ? KeepAlive.prewarmWindow(input.config, next.keepAlive, now: now) : nil
    }

    /// The first signal a decision needs that is unknown: every activity signal when zero is in
    /// play, none otherwise (sizing checks its own).
    func unknown(needingZero: Bool) -> String? {
        guard needingZero else { return nil }
        let s = input.signals
        if s.requests == nil { return "requests" }
        if s.running == nil { return "running" }
        if s.waiting == nil { return "waiting" }
        if s.demand == nil { return "demand" }
        if s.gatewayRequests == nil { return "gateway requests" }
        if s.ready == nil { return "ready" }
        return nil
    }
}
