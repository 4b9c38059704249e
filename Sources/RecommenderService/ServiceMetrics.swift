import Foundation
import ModelConfig
import Recommendation

/// The recommender's own health counters, kept inside the engine and rendered with the models.
struct ServiceMetrics: Sendable {
    var ticks = 0
    var tickDuration = Histogram(bounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
    var lastTickSuccess: Double?
    var queries: [Signal: Int] = [:]
    var queryErrors: [Signal: Int] = [:]
    var configReloads: [String: Int] = [:]
    var configErrors = 0
    var configLastSuccess: Double?
    var decisions: [Reason: Int] = [:]
    var wakeCalls = 0
    var wakeRejected: [WakeRejection: Int] = [:]
    var wakeEvents = 0
    var prewarms = 0
    var scaleToZeroEvents = 0
    var coldStarts = Histogram(bounds: [5, 15, 30, 60, 120, 300, 600, 1200, 1800])
    var recoveredModels = 0
    var gatewayReadUpTo = GatewayReadUpTo()
    var gatewayPolls = 0
    var gatewayPollErrors = 0
    var gatewayPollWakes = 0
}

extension Engine {
    /// The `/metrics` page: `inferno_desired_replicas` for every known model, per-model state, and
    /// the service's own health.
    public func renderMetrics() -> String { renderMetricsBytes().text }

    /// The `/metrics` page as UTF-8 bytes, ready for the HTTP response.
    func renderMetricsBytes() -> ExpositionWriter {
        var w = ExpositionWriter(reserving: 4096 + records.count * 420)
        let ordered = sortedModelRecords()

        w.family("inferno_desired_replicas", "gauge", "Desired replica count of a model (0 when idle for its retention period).")
        for record in ordered { w.append(bytes: record.desiredLine) }
        w.family("recommender_model_state", "gauge", "Current state of each model (1 for the state it is in): active, idle, zero, waking or held.")
        for record in ordered { w.append(bytes: record.stateLine) }
        w.family("recommender_model_last_activity_timestamp_seconds", "gauge", "Last time requests, in-flight work, demand or a wake were seen for a model.")
        for record in ordered {
            guard let last = record.state.lastActivity else { continue }
            w.sample("recommender_model_last_activity_timestamp_seconds", record.modelLabels, last.seconds)
        }
        w.family("recommender_model_wake_path", "gauge", "How each model can come back from zero (1 for its path): gateway (seen routing it), api (declared wake_path: api) or none.")
        for record in ordered { w.append(bytes: record.wakePathLine) }
        w.family("recommender_model_gateway_last_seen_timestamp_seconds", "gauge", "When the gateway was last seen routing a model (its queue or request-counter series), refreshed at most once a minute.")
        for record in ordered {
            guard let seen = record.exportedGatewaySeen else { continue }
            w.sample("recommender_model_gateway_last_seen_timestamp_seconds", record.modelLabels, seen)
        }
        w.family("recommender_model_gateway_revoked_timestamp_seconds", "gauge", "When a gateway sighting of a model was last revoked (another model with the same name appeared): no wake path until the gateway is seen routing it again.")
        for record in ordered {
            guard let revoked = record.revokedAt else { continue }
            w.sample("recommender_model_gateway_revoked_timestamp_seconds", record.modelLabels, revoked)
        }
        w.family("recommender_model_adopted_from_gateway_label", "gauge", "1 for a model known only from a gateway series' namespace label (a shared gateway's own namespace), 0 once evidenced there.")
        for record in ordered where record.everAdoptedFromGateway {
            w.sample("recommender_model_adopted_from_gateway_label", record.modelLabels, record.adoptedFromGateway ? 1 : 0)
        }
        w.family("recommender_model_last_cold_start_seconds", "gauge", "Duration of a model's last cold start: recommendation 0 to >= 1 until a replica was ready.")
        for record in ordered {
            guard let seconds = record.lastColdStartSeconds else { continue }
            w.sample("recommender_model_last_cold_start_seconds", record.modelLabels, seconds)
        }
        renderLearned(&w, ordered)

        let m = metrics
        w.single("recommender_known_models", "gauge", "Models the recommender knows (config, vLLM series, demand, wakes, recovery).", Double(records.count))
        w.single("recommender_ticks_total", "counter", "Ticks that decided.", Double(m.ticks))
        w.family("recommender_tick_duration_seconds", "histogram", "Duration of a tick: queries and decisions.")
        w.histogram("recommender_tick_duration_seconds", m.tickDuration)
        w.single("recommender_last_tick_success_timestamp_seconds", "gauge", "When the last tick decided.", m.lastTickSuccess ?? 0)
        w.labelled("recommender_prometheus_queries_total", "counter", "Prometheus queries by signal.",
                   label: "signal", Signal.allCases.map { ($0.rawValue, m.queries[$0] ?? 0) })
        w.labelled("recommender_prometheus_query_errors_total", "counter", "Failed Prometheus queries by signal (the signal is unknown; decisions hold).",
                   label: "signal", Signal.allCases.map { ($0.rawValue, m.queryErrors[$0] ?? 0) })
        w.labelled("recommender_config_reloads_total", "counter", "Model ConfigMap loads by result (failure: an error in any entry, or unreadable).",
                   label: "result", ["success", "failure"].map { ($0, m.configReloads[$0] ?? 0) })
        w.single("recommender_config_errors", "gauge", "Errors in the current model ConfigMap (their last good versions stay in force).", Double(m.configErrors))
        w.single("recommender_config_last_reload_success_timestamp_seconds", "gauge", "When the ConfigMap last loaded without errors.", m.configLastSuccess ?? 0)
        w.labelled("recommender_decisions_total", "counter", "Per-model decisions by reason.",
                   label: "reason", Reason.allCases.map { ($0.rawValue, m.decisions[$0] ?? 0) })
        w.single("recommender_wake_calls_total", "counter", "Wake calls accepted (a known model woken or an unknown one adopted).", Double(m.wakeCalls))
        w.labelled("recommender_wake_rejected_total", "counter", "Wake calls refused, by reason.",
                   label: "reason", WakeRejection.allCases.map { ($0.rawValue, m.wakeRejected[$0] ?? 0) })
        w.single("recommender_wakes_total", "counter", "Recommendations that went from 0 to >= 1.", Double(m.wakeEvents))
        w.single("recommender_prewarms_total", "counter", "Wakes ahead of predicted arrivals (reason prewarm): recommendations that went from 0 to >= 1.", Double(m.prewarms))
        w.single("recommender_gateway_polls_total", "counter", "Endpoint picker metrics pages read directly (--gateway-metrics-url/--gateway-metrics-dns), each resolved address once.", Double(m.gatewayPolls))
        w.single("recommender_gateway_poll_errors_total", "counter", "Direct reads of endpoint picker metrics that failed (unreachable, not 200, DNS); the Prometheus path still wakes models.", Double(m.gatewayPollErrors))
        w.single("recommender_gateway_poll_wakes_total", "counter", "Models at zero woken by the endpoint picker's queue read directly, ahead of the Prometheus path.", Double(m.gatewayPollWakes))
        w.single("recommender_scale_to_zero_total", "counter", "Recommendations that went from >= 1 to 0.", Double(m.scaleToZeroEvents))
        w.family("recommender_cold_start_seconds", "histogram", "Cold starts: recommendation 0 to >= 1 until a replica was ready.")
        w.histogram("recommender_cold_start_seconds", m.coldStarts)
        w.single("recommender_variant_name_conflicts", "gauge", "variant_name values shared by several models of one namespace (consumers would mix them).", Double(variantConflicts.count))
        w.single("recommender_kill_switch", "gauge", "1 while the kill switch keeps every model at >= 1.", killSwitch ? 1 : 0)
        w.family("recommender_gateway_last_answered_timestamp_seconds", "gauge", "Up to when the gateway's request counters (signal gateway_requests) and its queue (demand) were read (restart recovery: the next process reads them back from there, at most an hour).")
        for (signal, value) in [(Signal.gatewayRequests, m.gatewayReadUpTo.counters), (Signal.demand, m.gatewayReadUpTo.queue)] {
            if let value { w.sample("recommender_gateway_last_answered_timestamp_seconds", "signal=\"\(signal.rawValue)\"", value) }
        }
        w.single("recommender_recovered_models", "gauge", "Models whose last recommendation was read back from Prometheus at start.", Double(m.recoveredModels))
        w.single("recommender_ready", "gauge", "1 once config is loaded, recovery is done and a tick has decided.", readiness().ready ? 1 : 0)
        return w
    }

    /// `GET /api/v1/recommendations`: per model the resolved config with sources, signals, decision.
    public func recommendations() -> [ModelRecommendation] {
        sortedModelRecords().map { ModelRecommendation(record: $0, resolver: resolver, killSwitchFlag: options.killSwitchFlag) }
    }
}

/// One model in `GET /api/v1/recommendations` and `explain --prometheus-url`.
public struct ModelRecommendation: Sendable, Encodable {
    /// Namespace.
    public let namespace: String
    /// Model id.
    public let modelID: String
    /// Desired replicas; nil before the first decision.
    public let desired: Int?
    /// Reason of the decision.
    public let reason: String?
    /// State.
    public let state: String?
    /// Human explanation.
    public let detail: String?
    /// The resolved configuration with the source of each field.
    public let config: ConfigExplanation
    /// The signals (null = unknown).
    public let signals: SignalsView
    /// Last activity (Unix seconds).
    public let lastActivity: Double?
    /// Since when the evidence of idleness has been building (continuous, complete observation).
    public let observedSince: Double?
    /// The earliest time the model can go to zero if nothing arrives, while the evidence builds.
    public let zeroAt: Double?
    /// How the model can come back from zero: gateway, api or none.
    public let wakePath: String?

    /// The signals as JSON.
    public struct SignalsView: Sendable, Encodable {
        let requests, running, waiting, ready, kvCacheUsage, demand, gatewayRequests: Double?
        let gatewaySeen: Bool

        init(_ s: ModelSignals) {
            (requests, running, waiting, ready, kvCacheUsage, demand) = (s.requests, s.running, s.waiting, s.ready, s.kvCacheUsage, s.demand)
            (gatewayRequests, gatewaySeen) = (s.gatewayRequests, s.gatewaySeen)
        }

        enum CodingKeys: String, CodingKey {
            case requests = "model_request_count", running, waiting, ready, kvCacheUsage = "kv_cache_usage", demand
            case gatewayRequests = "gateway_requests", gatewaySeen = "gateway_seen"
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(requests, forKey: .requests)
            try c.encode(running, forKey: .running)
            try c.encode(waiting, forKey: .waiting)
            try c.encode(ready, forKey: .ready)
            try c.encode(kvCacheUsage, forKey: .kvCacheUsage)
            try c.encode(gatewayRequests, forKey: .gatewayRequests)
            try c.encode(gatewaySeen, forKey: .gatewaySeen)
            try c.encode(demand, forKey: .demand)
        }
    }

    enum CodingKeys: String, CodingKey {
        case namespace, modelID = "model_id", desired, reason, state, detail, config, signals
        case lastActivity = "last_activity", observedSince = "observed_since", zeroAt = "zero_at", wakePath = "wake_path"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(namespace, forKey: .namespace)
        try c.encode(modelID, forKey: .modelID)
        try c.encode(desired, forKey: .desired)
        try c.encode(reason, forKey: .reason)
        try c.encode(state, forKey: .state)
        try c.encode(detail, forKey: .detail)
        try c.encode(config, forKey: .config)
        try c.encode(signals, forKey: .signals)
        try c.encode(lastActivity, forKey: .lastActivity)
        try c.encode(observedSince, forKey: .observedSince)
        try c.encode(zeroAt, forKey: .zeroAt)
        try c.encode(wakePath, forKey: .wakePath)
    }

    init(record: ModelRecord, resolver: ConfigResolver, killSwitchFlag: Bool) {
        namespace = record.config.model.namespace
        modelID = record.config.model.modelID
        desired = record.decision?.desired
        reason = record.decision?.reason.rawValue
        state = record.decision?.phase.rawValue
        detail = record.decision?.detail
        config = ConfigExplanation(resolved: record.config, resolver: resolver, killSwitchFlag: killSwitchFlag)
        let s = record.signals
        signals = SignalsView(s)
        lastActivity = record.state.lastActivity?.seconds
        observedSince = record.state.observedSince?.seconds
        zeroAt = record.decision?.zeroAt?.seconds
        wakePath = record.decision?.wakePath.rawValue
    }
}
