import Foundation

/// The resolved configuration of one model as `explain` and the recommendations API show it.
public struct ConfigExplanation: Sendable, Encodable {
    /// The model id.
    public let modelID: String
    /// The namespace; nil when none was given (only namespace-free overrides apply).
    public let namespace: String?
    /// Whether scale-to-zero is enabled by configuration.
    public let enableScaleToZero: Bool
    /// Retention in seconds.
    public let retentionSeconds: Double
    /// Retention as a PromQL range.
    public let promqlRange: String
    /// Scale target name.
    public let variantName: String
    /// Floor while active.
    public let minReplicas: Int
    /// Ceiling, nil for none.
    public let maxReplicas: Int?
    /// Requests in flight per replica, nil for none.
    public let targetConcurrency: Double?
    /// Group, nil for none.
    public let group: String?
    /// Other names of the model.
    public let aliases: [String]
    /// `gateway` or `api`.
    public let wakePath: String
    /// `fixed` or `adaptive`.
    public let keepAlive: String
    /// Cost of one cold start in seconds.
    public let coldStartCostSeconds: Double
    /// Shortest learned retention in seconds.
    public let minRetentionSeconds: Double
    /// Wake ahead of predicted demand.
    public let prewarm: Bool
    /// KV-cache utilisation target.
    public let targetKVCacheUtilization: Double
    /// Waiting requests per replica tolerated.
    public let maxWaitingPerReplica: Double
    /// True when the kill switch keeps every model at ≥ 1.
    public let killSwitch: Bool
    /// Field name → source (`override:<key>`, `default`, `env`, `system`, `derived`, `invalid:<key>`).
    public let sources: [String: String]
    /// Why a field has the value it has, when that is not obvious (broken entries, kill switch).
    public let notes: [String]

    enum CodingKeys: String, CodingKey {
        case modelID = "model_id", namespace, enableScaleToZero = "enable_scale_to_zero"
        case retentionSeconds = "retention_seconds", promqlRange = "promql_range", variantName = "variant_name"
        case minReplicas = "min_replicas", maxReplicas = "max_replicas", targetConcurrency = "target_concurrency"
        case group, killSwitch = "kill_switch", sources, notes
        case aliases, wakePath = "wake_path", keepAlive = "keep_alive", coldStartCostSeconds = "cold_start_cost_seconds"
        case minRetentionSeconds = "min_retention_seconds", prewarm
        case targetKVCacheUtilization = "target_kv_cache_utilization", maxWaitingPerReplica = "max_waiting_per_replica"
    }

    /// Encodes every key, `null` included, so consumers see the full shape.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelID, forKey: .modelID)
        try c.encode(namespace, forKey: .namespace)
        try c.encode(enableScaleToZero, forKey: .enableScaleToZero)
        try c.encode(retentionSeconds, forKey: .retentionSeconds)
        try c.encode(promqlRange, forKey: .promqlRange)
        try c.encode(variantName, forKey: .variantName)
        try c.encode(minReplicas, forKey: .minReplicas)
        try c.encode(maxReplicas, forKey: .maxReplicas)
        try c.encode(targetConcurrency, forKey: .targetConcurrency)
        try c.encode(group, forKey: .group)
        try c.encode(aliases, forKey: .aliases)
        try c.encode(wakePath, forKey: .wakePath)
        try c.encode(keepAlive, forKey: .keepAlive)
        try c.encode(coldStartCostSeconds, forKey: .coldStartCostSeconds)
        try c.encode(minRetentionSeconds, forKey: .minRetentionSeconds)
        try c.encode(prewarm, forKey: .prewarm)
        try c.encode(targetKVCacheUtilization, forKey: .targetKVCacheUtilization)
        try c.encode(maxWaitingPerReplica, forKey: .maxWaitingPerReplica)
        try c.encode(killSwitch, forKey: .killSwitch)
        try c.encode(sources, forKey: .sources)
        try c.encode(notes, forKey: .notes)
    }

    /// Explains `resolved` under `resolver`'s configuration. `namespaceGiven` false shows namespace null.
    public init(resolved: ResolvedModelConfig, resolver: ConfigResolver, killSwitchFlag: Bool = false, namespaceGiven: Bool = true) {
        modelID = resolved.model.modelID
        namespace = namespaceGiven ? resolved.model.namespace : nil
        enableScaleToZero = resolved.enableScaleToZero
        retentionSeconds = resolved.retention.seconds
        promqlRange = resolved.retention.prometheusRange
        variantName = resolved.variantName
        minReplicas = resolved.minReplicas
        maxReplicas = resolved.maxReplicas
        targetConcurrency = resolved.targetConcurrency
        group = resolved.group
        aliases = resolved.aliases
        wakePath = resolved.wakePath.rawValue
        keepAlive = resolved.keepAlive.rawValue
        coldStartCostSeconds = resolved.coldStartCost.seconds
        minRetentionSeconds = resolved.minRetention.seconds
        prewarm = resolved.prewarm
        targetKVCacheUtilization = resolved.targetKVCacheUtilization
        maxWaitingPerReplica = resolved.maxWaitingPerReplica
        killSwitch = killSwitchFlag || resolver.killSwitchEngaged
        sources = Dictionary(uniqueKeysWithValues: resolved.sources.all.map { ($0.field.rawValue, $0.source.description) })
        var notes: [String] = []
        if case .invalidEntry(let key) = resolved.sources[.enableScaleToZero] {
            notes.append(
                "enable_scale_to_zero is forced false: entry `\(key)` is invalid and has no last good version (fix it; run check-config)")
        }
        for key in resolver.config.retainedKeys where resolved.sources.all.contains(where: { $0.source == .override(key: key) || (key == "default" && $0.source == .defaults) }) {
            notes.append("entry `\(key)` is invalid; its last good version is in force")
        }
        if let floor = resolver.configured(\.minRetentionPeriod, for: resolved.model), floor > resolved.retention {
            notes.append(
                "min_retention_period \(floor) is longer than retention_period \(resolved.retention): bounded to \(resolved.retention)")
        }
        if case .derived = resolved.sources[.prewarm] {
            notes.append("prewarm follows keep_alive (\(resolved.keepAlive.rawValue)): \(resolved.prewarm)")
        }
        if killSwitchFlag {
            notes.append("kill switch engaged by flag: the model is kept at ≥ 1 replica")
        } else if resolver.config.globalQuarantined {
            notes.append("kill switch engaged: the global entry is invalid and has no last good version")
        } else if resolver.killSwitchEngaged {
            notes.append("kill switch engaged by global.scale_to_zero_allowed: false: the model is kept at ≥ 1 replica")
        }
        self.notes = notes
    }

    /// Pretty, sorted-key JSON.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }

    /// The fields as `explain` shows them, in its order: name, value in words, and where the value
    /// came from (nil for fields without a source: the model's identity, the kill switch).
    public var rows: [(field: String, value: String, source: String?)] {
        func fmt(_ value: Any?) -> String { value.map { "\($0)" } ?? "none" }
        let rows: [(field: String, value: String, source: String?)] = [
            ("model_id", modelID, nil),
            ("namespace", namespace ?? "(any)", nil),
            ("enable_scale_to_zero", "\(enableScaleToZero)", sources["enable_scale_to_zero"]),
            ("retention_period", "\(promqlRange) (\(formatSeconds(retentionSeconds))s)", sources["retention_period"]),
            ("variant_name", variantName, sources["variant_name"]),
            ("min_replicas", "\(minReplicas)", sources["min_replicas"]),
            ("max_replicas", fmt(maxReplicas), sources["max_replicas"]),
            ("target_concurrency", fmt(targetConcurrency.map(formatSeconds)), sources["target_concurrency"]),
            ("group", fmt(group), sources["group"]),
            ("aliases", aliases.isEmpty ? "none" : aliases.joined(separator: ", "), sources["aliases"]),
            ("wake_path", wakePath, sources["wake_path"]),
            ("keep_alive", keepAlive, sources["keep_alive"]),
            ("cold_start_cost", durationText(coldStartCostSeconds), sources["cold_start_cost"]),
            ("min_retention_period", durationText(minRetentionSeconds), sources["min_retention_period"]),
            ("prewarm", "\(prewarm)", sources["prewarm"]),
            ("target_kv_cache_utilization", formatSeconds(targetKVCacheUtilization), sources["target_kv_cache_utilization"]),
            ("max_waiting_per_replica", formatSeconds(maxWaitingPerReplica), sources["max_waiting_per_replica"]),
            ("kill_switch", killSwitch ? "engaged" : "off", nil),
        ]
        return rows
    }

    /// Aligned text, one field a line with its source.
    public func text() -> String {
        var lines = rows.map { name, value, source in
            let padded = name.padding(toLength: 29, withPad: " ", startingAt: 0)
            let left = "\(padded)\(value)"
            return source.map { left.padding(toLength: max(left.count + 2, 56), withPad: " ", startingAt: 0) + "from \($0)" } ?? left
        }
        lines += notes.map { "note: \($0)" }
        return lines.joined(separator: "\n")
    }
}

/// `20m (1200s)`: a duration as a range and in seconds.
func durationText(_ seconds: Double) -> String {
    "\(ConfigDuration(nanoseconds: Int64((seconds * 1e9).rounded())).prometheusRange) (\(formatSeconds(seconds))s)"
}

/// `90` rather than `90.0`, `1.5` as is.
func formatSeconds(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
}
