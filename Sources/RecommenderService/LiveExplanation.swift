import Foundation
import ModelConfig
import PrometheusClient
import Recommendation

/// `explain --prometheus-url`: one model's configuration, its live signals and the decision a
/// fresh tick would make, starting from its last exported recommendation.
public struct LiveExplanation: Sendable, Encodable {
    /// The configuration part (same keys as plain `explain --json`).
    public let config: ConfigExplanation
    /// The signals (null = unknown).
    public let signals: ModelRecommendation.SignalsView
    /// Its last `inferno_desired_replicas`, read back from Prometheus.
    public let lastRecommendation: Int?
    /// The decision.
    public let decision: Decision
    /// Failed queries: signal → error.
    public let errors: [String: String]
    /// The retention the decision used: `retention_period`, or the one adaptive keep-alive learned
    /// (read back from the service's exported values).
    public let retentionInForce: Double
    /// The period of the model's periodic arrivals, when the service detected one.
    public let arrivalPeriod: Double?
    /// The next pre-warm window, when one is predicted: (wake at, expected arrival).
    public let nextPrewarm: (wakeAt: Double, expected: Double)?

    enum Keys: String, CodingKey {
        case signals, lastRecommendation = "last_recommendation", desired, reason, state, detail, errors
        case retentionInForce = "retention_in_force_seconds", arrivalPeriod = "arrival_period_seconds"
        case prewarmAt = "next_prewarm_at", expectedArrival = "next_expected_arrival"
    }

    /// Encodes the configuration keys and the live keys in one object.
    public func encode(to encoder: any Encoder) throws {
        try config.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(signals, forKey: .signals)
        try c.encode(lastRecommendation, forKey: .lastRecommendation)
        try c.encode(decision.desired, forKey: .desired)
        try c.encode(decision.reason.rawValue, forKey: .reason)
        try c.encode(decision.phase.rawValue, forKey: .state)
        try c.encode(decision.detail, forKey: .detail)
        try c.encode(errors, forKey: .errors)
        try c.encode(retentionInForce, forKey: .retentionInForce)
        try c.encode(arrivalPeriod, forKey: .arrivalPeriod)
        try c.encode(nextPrewarm?.wakeAt, forKey: .prewarmAt)
        try c.encode(nextPrewarm?.expected, forKey: .expectedArrival)
    }

    /// Queries Prometheus once and decides.
    public static func probe(
        resolved: ResolvedModelConfig, resolver: ConfigResolver, killSwitchFlag: Bool, collector: SignalCollector,
        recoveryWindow: ConfigDuration, now: Instant
    ) async -> LiveExplanation {
        let recovered = await collector.recover(window: recoveryWindow)
        var errors: [String: String] = [:]
        if case .failure(let error) = recovered { errors[Signal.recovery.rawValue] = error.description }
        let last = (try? recovered.get())?[resolved.model].flatMap { $0.isFinite && $0 >= 0 && $0 <= 100_000 ? Int($0.rounded()) : nil }
        var state = ModelState(desired: last)
        if resolved.keepAlive == .adaptive || resolved.prewarm {
            // What the service learned, as it would read it back after a restart.
            if let seen = (try? await collector.recoverWakePaths(window: recoveryWindow).get())?[resolved.model], seen.isFinite, seen > 0 {
                state.gatewaySeenAt = Instant(seconds: seen)
            }
            switch await collector.recoverLearned(window: recoveryWindow) {
            case .success(let values): state.keepAlive = KeepAliveState(recovered: values[resolved.model] ?? LearnedValues())
            case .failure(let error): errors[Signal.recoveryLearned.rawValue] = error.description
            }
        }
        let retention = KeepAlive.retention(resolved, state)
        let (fleet, outcomes) = await collector.collect(retentions: [retention])
        for outcome in outcomes { if let error = outcome.error { errors[outcome.signal.rawValue] = error.description } }
        let names = NameIndex(models: [(resolved, true)], entries: resolver.config.overrides)
        let signals = fleet.attributed(names).signals(for: resolved.model, retention: retention)
        let decision = Recommender.decide(
            DecisionInput(config: resolved, signals: signals, state: state),
            policy: Policy(killSwitch: killSwitchFlag || resolver.killSwitchEngaged), now: now)
        let prewarm = state.keepAlive.period.flatMap { period in
            // The next window from now on: the first one that has not closed.
            stride(from: 0.0, through: 2 * period, by: 60).lazy
                .compactMap { KeepAlive.prewarmWindow(resolved, state.keepAlive, now: now.adding($0)) }.first
        }
        return LiveExplanation(
            config: ConfigExplanation(resolved: resolved, resolver: resolver, killSwitchFlag: killSwitchFlag),
            signals: ModelRecommendation.SignalsView(signals),
            lastRecommendation: last, decision: decision, errors: errors, retentionInForce: retention.seconds,
            arrivalPeriod: state.keepAlive.period, nextPrewarm: prewarm.map { ($0.wakeAt.seconds, $0.expected.seconds) })
    }

    /// Text: the configuration, then signals and decision.
    public func text() -> String {
        func show(_ value: Double?) -> String { value.map { $0 == $0.rounded() ? String(Int64($0)) : String($0) } ?? "unknown" }
        var lines = [config.text(), ""]
        lines.append("model_request_count   \(show(signals.requests))   (completed requests in the last \(config.promqlRange))")
        lines.append("running / waiting     \(show(signals.running)) / \(show(signals.waiting))")
        lines.append("ready replicas        \(show(signals.ready))")
        lines.append("gateway demand        \(show(signals.demand))   (queue)")
        lines.append("gateway requests      \(show(signals.gatewayRequests))   (request counter; series seen: \(signals.gatewaySeen ? "yes" : "no"))")
        lines.append("wake path             \(decision.wakePath.rawValue)")
        lines.append("kv_cache_usage        \(show(signals.kvCacheUsage))")
        lines.append("last recommendation   \(lastRecommendation.map(String.init) ?? "none")")
        if config.keepAlive == "adaptive" || config.prewarm {
            lines.append("keep-alive            \(config.keepAlive): retention in force \(show(retentionInForce))s (learned values read back from the service's metrics)")
            if let arrivalPeriod {
                let next = nextPrewarm.map { ", next pre-warm at \(Self.timestamp($0.wakeAt)) for an arrival expected at \(Self.timestamp($0.expected))" } ?? ""
                lines.append("periodic arrivals     every \(show(arrivalPeriod))s\(next)")
            }
        }
        lines.append("decision              desired=\(decision.desired) reason=\(decision.reason.rawValue) state=\(decision.phase.rawValue) (\(decision.detail))")
        lines.append("note: a one-shot decision does not know how long the model has been idle; the service's /api/v1/recommendations does")
        for (signal, error) in errors.sorted(by: { $0.key < $1.key }) { lines.append("error: \(signal): \(error)") }
        return lines.joined(separator: "\n")
    }

    static func timestamp(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(.iso8601)
    }
}
