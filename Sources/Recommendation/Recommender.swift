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

/// The recommendation for one model, the state to remember, and what happened.
public struct Decision: Sendable, Hashable {
    /// The desired replica count, 0 included.
    public let desired: Int
    /// Why.
    public let reason: Reason
    /// The model's state after this decision.
    public let phase: Phase
    /// A short human explanation (`gateway demand 3`, `idle 120s of 300s`, `unknown: requests`).
    public let detail: String
    /// The state to pass to the next decision.
    public let state: ModelState
    /// The recommendation went from ≥ 1 to 0.
    public let scaledToZero: Bool
    /// The recommendation went from 0 to ≥ 1.
    public let woke: Bool
    /// Seconds from 0 → ≥ 1 until a replica was ready, when a cold start completed at this tick.
    public let coldStartSeconds: Double?
}

/// The decision core: a pure function of configuration, signals, remembered state and `now`.
///
/// Per model, in order:
/// 1. **wake** — demand at the gateway, a wake call, requests in flight, or a wake of a group
///    member: at least max(1, min_replicas), and the model stays up for its retention period.
/// 2. **hold** — a signal the decision needs is unknown: the last recommendation is kept (raised to
///    the floor when scale-to-zero is not allowed). Missing data never moves a model toward zero.
/// 3. **idle** — scale-to-zero enabled and not frozen by the kill switch, every signal known and
///    quiet, observed quiet for the whole retention window, no wake within it, and every member of
///    the group likewise: 0. A model already at 0 stays there while quiet.
/// 4. **active** — otherwise: sized to load (`target_concurrency`) or to its ready replicas,
///    clamped to [max(1, min_replicas), max_replicas].
public enum Recommender {
    /// Decides every model at once (groups need to see all their members). `scaleDownStabilization`
    /// (seconds): a load-based size (`target_concurrency`) goes down only after the lower size has
    /// been wanted that long; scale-up is immediate.
    public static func recommend(_ inputs: [DecisionInput], killSwitch: Bool, now: Instant, scaleDownStabilization: Double = 0) -> [Decision] {
        var groupWake: [String: Bool] = [:]
        var groupIdle: [String: Bool] = [:]
        for input in inputs {
            guard let group = input.config.group else { continue }
            groupWake[group, default: false] = groupWake[group, default: false] || ownWake(input)
            groupIdle[group, default: true] = groupIdle[group, default: true] && idleLongEnough(input, now: now)
        }
        return inputs.map { input in
            let group = input.config.group
            return decide(
                input, killSwitch: killSwitch,
                groupWake: group.flatMap { groupWake[$0] } ?? false,
                groupIdle: group.flatMap { groupIdle[$0] } ?? true,
                now: now, scaleDownStabilization: scaleDownStabilization)
        }
    }

    /// Decides one model. `groupWake`: another member of its group woke; `groupIdle`: every member
    /// of its group has been idle long enough (true for models without a group).
    public static func decide(
        _ input: DecisionInput, killSwitch: Bool, groupWake: Bool = false, groupIdle: Bool = true, now: Instant,
        scaleDownStabilization: Double = 0
    ) -> Decision {
        let config = input.config
        let signals = input.signals
        let previous = input.state.desired
        let floor = config.activeFloor
        let zeroAllowed = config.enableScaleToZero && !killSwitch
        var next = input.state

        let own = ownWake(input)
        let wake = own || groupWake
        if own || (signals.requests ?? 0) > 0 { next.lastActivity = now }
        if wake { next.lastWake = now }
        let reporting = (signals.ready ?? 0) >= 1
        switch quietness(signals, wakeRequested: input.wakeRequested) {
        case .quiet where !wake && reporting:
            next.idleSince = input.state.idleSince ?? now
        case .quiet where !wake && previous != 0:
            // No replica reports metrics: not scraped yet, a scrape outage, or pods gone. Absence of
            // series is no evidence of idleness; the evidence must start again once they report.
            next.idleSince = nil
        case .unknown where !wake: break
        case .quiet where !wake: break
        default: next.idleSince = nil
        }

        var desired: Int
        var reason: Reason
        var detail: String

        if wake {
            desired = activeSize(config, signals) ?? max(previous ?? floor, floor)
            let fromZero = previous == 0
            reason = fromZero || input.wakeRequested || (signals.demand ?? 0) > 0 || groupWake ? .wake : .active
            detail = wakeDetail(input, groupWake: groupWake && !own)
        } else if zeroAllowed, let missing = unknownForZero(signals) {
            desired = previous ?? floor
            reason = .hold
            detail = "unknown: \(missing)"
        } else if zeroAllowed, quietness(signals, wakeRequested: false) == .quiet {
            let idleFor = now.since(next.idleSince ?? now)
            let retention = config.retention.seconds
            let wakeHold = input.state.lastWake.map { now.since($0) < retention } ?? false
            if previous == 0 {
                (desired, reason, detail) = (0, .idle, "at zero, no demand")
            } else if next.idleSince == nil, let size = activeSize(config, signals) {
                (desired, reason, detail) = (size, .active, "no replica reports metrics: no evidence of idleness yet")
            } else if next.idleSince != nil && idleFor >= retention && !wakeHold && groupIdle {
                (desired, reason, detail) = (0, .idle, "idle for the retention period (\(format(retention))s)")
            } else if let size = activeSize(config, signals) {
                desired = size
                reason = .active
                detail = wakeHold ? "woken \(format(now.since(input.state.lastWake!)))s ago, held up for \(format(retention))s"
                    : !groupIdle && idleFor >= retention ? "idle, but group \(config.group ?? "") is not"
                    : "idle \(format(idleFor))s of \(format(retention))s"
            } else {
                (desired, reason, detail) = (previous ?? floor, .hold, "unknown: \(config.targetConcurrency == nil ? "ready" : "in-flight")")
            }
        } else if let size = activeSize(config, signals) {
            desired = size
            reason = .active
            detail = killSwitch ? "kill switch: scale-to-zero not allowed"
                : !config.enableScaleToZero ? "scale-to-zero disabled" : "serving"
        } else {
            desired = max(previous ?? floor, zeroAllowed ? 0 : floor)
            reason = .hold
            detail = "unknown: \(config.targetConcurrency == nil ? "ready" : "in-flight")"
        }
        if !zeroAllowed { desired = max(desired, floor) }

        // Scale-down stabilization of load-based sizes: hold the peak of the window.
        if desired == 0 || config.targetConcurrency == nil || reason == .hold {
            if desired == 0 { (next.peak, next.peakAt) = (nil, nil) }
        } else if let peak = input.state.peak, let at = input.state.peakAt, desired < peak, now.since(at) < scaleDownStabilization {
            detail += ", holding \(peak) for \(format(scaleDownStabilization - now.since(at)))s (scale-down stabilization)"
            desired = peak
        } else {
            (next.peak, next.peakAt) = (desired, now)
        }

        // Cold start: from the recommendation leaving zero until a later decision sees a ready
        // replica (the signals of the transition itself may predate it).
        var coldStartSeconds: Double?
        if desired == 0 {
            next.coldStartSince = nil
        } else if previous == 0 {
            next.coldStartSince = now
        } else if let since = next.coldStartSince, (signals.ready ?? 0) >= 1 {
            coldStartSeconds = now.since(since)
            next.coldStartSince = nil
        }
        next.desired = desired

        let phase: Phase =
            desired == 0 ? .zero
            : reason == .hold ? .held
            : next.coldStartSince != nil ? .waking
            : next.idleSince != nil ? .idle
            : .active
        return Decision(
            desired: desired, reason: reason, phase: phase, detail: detail, state: next,
            scaledToZero: (previous ?? 1) > 0 && desired == 0, woke: previous == 0 && desired > 0,
            coldStartSeconds: coldStartSeconds)
    }

    // MARK: - Pieces

    enum Quietness { case quiet, busy, unknown }

    /// Quiet: every activity signal known and zero. Busy: one known and positive. Else unknown.
    static func quietness(_ s: ModelSignals, wakeRequested: Bool) -> Quietness {
        let values = [s.requests, s.running, s.waiting, s.demand]
        if wakeRequested || values.contains(where: { ($0 ?? 0) > 0 }) { return .busy }
        return values.contains(where: { $0 == nil }) ? .unknown : .quiet
    }

    /// The first signal a move to zero needs that is unknown.
    static func unknownForZero(_ s: ModelSignals) -> String? {
        if s.requests == nil { return "requests" }
        if s.running == nil { return "running" }
        if s.waiting == nil { return "waiting" }
        if s.demand == nil { return "demand" }
        return nil
    }

    /// The model's own wake evidence: gateway demand, a wake call, or requests in flight.
    static func ownWake(_ input: DecisionInput) -> Bool {
        let s = input.signals
        return input.wakeRequested || (s.demand ?? 0) > 0 || (s.running ?? 0) > 0 || (s.waiting ?? 0) > 0
    }

    /// Quiet and either already at zero or idle (with replicas reporting) for its retention with
    /// no wake in it.
    static func idleLongEnough(_ input: DecisionInput, now: Instant) -> Bool {
        guard quietness(input.signals, wakeRequested: input.wakeRequested) == .quiet else { return false }
        if input.state.desired == 0 { return true }
        guard (input.signals.ready ?? 0) >= 1 else { return false }
        let retention = input.config.retention.seconds
        guard let since = input.state.idleSince, now.since(since) >= retention else { return false }
        return input.state.lastWake.map { now.since($0) >= retention } ?? true
    }

    /// Load-based size with `target_concurrency`, ready replicas without; clamped to
    /// [max(1, min_replicas), max_replicas]. Nil when the signal it needs is unknown.
    static func activeSize(_ config: ResolvedModelConfig, _ s: ModelSignals) -> Int? {
        let raw: Double
        if let target = config.targetConcurrency {
            guard let load = s.inFlight else { return nil }
            raw = (load / target).rounded(.up)
        } else {
            guard let ready = s.ready else { return nil }
            raw = ready
        }
        let ceiling = config.maxReplicas ?? Int.max
        let floor = config.activeFloor
        guard raw.isFinite else { return nil }
        return min(max(Int(min(raw, 1e9)), floor), max(ceiling, floor))
    }

    static func wakeDetail(_ input: DecisionInput, groupWake: Bool) -> String {
        let s = input.signals
        var parts: [String] = []
        if let demand = s.demand, demand > 0 { parts.append("gateway demand \(format(demand))") }
        if input.wakeRequested { parts.append("wake call") }
        let inFlight = (s.running ?? 0) + (s.waiting ?? 0)
        if inFlight > 0 { parts.append("\(format(inFlight)) in flight") }
        if groupWake { parts.append("group \(input.config.group ?? "") woke") }
        return parts.joined(separator: ", ")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.1f", value)
    }
}
