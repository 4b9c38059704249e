import Foundation

/// A field a model's resolved configuration carries; the raw value is its ConfigMap name.
public enum ConfigField: String, Sendable, Hashable, CaseIterable, Codable {
    /// `enable_scale_to_zero`.
    case enableScaleToZero = "enable_scale_to_zero"
    /// `retention_period`.
    case retentionPeriod = "retention_period"
    /// `variant_name`.
    case variantName = "variant_name"
    /// `min_replicas`.
    case minReplicas = "min_replicas"
    /// `max_replicas`.
    case maxReplicas = "max_replicas"
    /// `target_concurrency`.
    case targetConcurrency = "target_concurrency"
    /// `group`.
    case group = "group"
    /// `aliases`.
    case aliases = "aliases"
    /// `wake_path`.
    case wakePath = "wake_path"
    /// `keep_alive`.
    case keepAlive = "keep_alive"
    /// `cold_start_cost`.
    case coldStartCost = "cold_start_cost"
    /// `min_retention_period`.
    case minRetentionPeriod = "min_retention_period"
    /// `prewarm`.
    case prewarm = "prewarm"
    /// `target_kv_cache_utilization`.
    case targetKVCacheUtilization = "target_kv_cache_utilization"
    /// `max_waiting_per_replica`.
    case maxWaitingPerReplica = "max_waiting_per_replica"
}

/// Where a resolved field's value came from.
public enum FieldSource: Sendable, Hashable, CustomStringConvertible {
    /// An override entry (its ConfigMap key).
    case override(key: String)
    /// The `default` entry.
    case defaults
    /// The `WVA_SCALE_TO_ZERO` environment variable.
    case environment
    /// The built-in default.
    case system
    /// Computed from the model id (`variant_name`).
    case derived
    /// Forced safe because the named entry is broken and never had a good version.
    case invalidEntry(key: String)

    /// `override:<key>`, `default`, `env`, `system`, `derived`, `invalid:<key>`.
    public var description: String {
        switch self {
        case .override(let key): "override:\(key)"
        case .defaults: "default"
        case .environment: "env"
        case .system: "system"
        case .derived: "derived"
        case .invalidEntry(let key): "invalid:\(key)"
        }
    }
}

/// The source of every field of a resolved configuration: a fixed-size value (no allocation per
/// model), read and written by field like a dictionary.
public struct FieldSources: Sendable, Hashable {
    private var enable, retention, variant, minimum, maximum, target, group: FieldSource?
    private var aliases, wakePath, keepAlive, coldStartCost, minRetention, prewarm, kvCache, waiting: FieldSource?

    /// No field has a source yet.
    public init() {}

    /// The source of `field`.
    public subscript(field: ConfigField) -> FieldSource? {
        get {
            switch field {
            case .enableScaleToZero: enable
            case .retentionPeriod: retention
            case .variantName: variant
            case .minReplicas: minimum
            case .maxReplicas: maximum
            case .targetConcurrency: target
            case .group: group
            case .aliases: aliases
            case .wakePath: wakePath
            case .keepAlive: keepAlive
            case .coldStartCost: coldStartCost
            case .minRetentionPeriod: minRetention
            case .prewarm: prewarm
            case .targetKVCacheUtilization: kvCache
            case .maxWaitingPerReplica: waiting
            }
        }
        set {
            switch field {
            case .enableScaleToZero: enable = newValue
            case .retentionPeriod: retention = newValue
            case .variantName: variant = newValue
            case .minReplicas: minimum = newValue
            case .maxReplicas: maximum = newValue
            case .targetConcurrency: target = newValue
            case .group: group = newValue
            case .aliases: aliases = newValue
            case .wakePath: wakePath = newValue
            case .keepAlive: keepAlive = newValue
            case .coldStartCost: coldStartCost = newValue
            case .minRetentionPeriod: minRetention = newValue
            case .prewarm: prewarm = newValue
            case .targetKVCacheUtilization: kvCache = newValue
            case .maxWaitingPerReplica: waiting = newValue
            }
        }
    }

    /// Every field that has a source, in declaration order.
    public var all: [(field: ConfigField, source: FieldSource)] {
        ConfigField.allCases.compactMap { field in self[field].map { (field, $0) } }
    }
}

/// One model's configuration after resolution, every field set, with the source of each.
public struct ResolvedModelConfig: Sendable, Hashable {
    /// The model.
    public let model: ModelKey
    /// Scale-to-zero allowed by configuration (the kill switch is applied by the decision).
    public let enableScaleToZero: Bool
    /// Idle time before zero.
    public let retention: ConfigDuration
    /// The scale target's name.
    public let variantName: String
    /// Floor while active.
    public let minReplicas: Int
    /// Ceiling; nil is unbounded.
    public let maxReplicas: Int?
    /// Requests in flight per replica; nil sizes active models to their ready replicas.
    public let targetConcurrency: Double?
    /// The model's wake/sleep group, if any.
    public let group: String?
    /// Other names the model is requested or reported under; demand or activity under an alias
    /// counts for the model.
    public let aliases: [String]
    /// How the model comes back from zero.
    public let wakePath: WakePath
    /// Fixed or adaptive retention.
    public let keepAlive: KeepAliveMode
    /// What one cold start costs, as idle time worth paying to avoid it.
    public let coldStartCost: ConfigDuration
    /// The shortest retention adaptive keep-alive may learn; never above ``retention``.
    public let minRetention: ConfigDuration
    /// Wake ahead of predicted demand.
    public let prewarm: Bool
    /// KV-cache utilisation per replica that sizing aims at, in (0, 1].
    public let targetKVCacheUtilization: Double
    /// Waiting requests per replica tolerated before sizing up.
    public let maxWaitingPerReplica: Double
    /// Where each field came from.
    public let sources: FieldSources

    /// Creates a resolved configuration. Every field after `variantName` has the system default;
    /// `variantName` nil derives it from the model id, `prewarm` nil follows `keepAlive`.
    public init(
        model: ModelKey, enableScaleToZero: Bool = false, retention: ConfigDuration = ConfigResolver.systemRetention,
        variantName: String? = nil, minReplicas: Int = 1, maxReplicas: Int? = nil, targetConcurrency: Double? = nil,
        group: String? = nil, aliases: [String] = [], wakePath: WakePath = .gateway, keepAlive: KeepAliveMode = .fixed,
        coldStartCost: ConfigDuration = ConfigResolver.systemColdStartCost,
        minRetention: ConfigDuration = ConfigResolver.systemMinRetention, prewarm: Bool? = nil,
        targetKVCacheUtilization: Double = ConfigResolver.systemTargetKVCacheUtilization,
        maxWaitingPerReplica: Double = ConfigResolver.systemMaxWaitingPerReplica, sources: FieldSources = FieldSources()
    ) {
        self.model = model
        self.enableScaleToZero = enableScaleToZero
        self.retention = retention
        self.variantName = variantName ?? ConfigResolver.derivedVariantName(model.modelID)
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
        self.targetConcurrency = targetConcurrency
        self.group = group
        self.aliases = aliases
        self.wakePath = wakePath
        self.keepAlive = keepAlive
        self.coldStartCost = coldStartCost
        self.minRetention = minRetention
        self.prewarm = prewarm ?? (keepAlive == .adaptive)
        self.targetKVCacheUtilization = targetKVCacheUtilization
        self.maxWaitingPerReplica = maxWaitingPerReplica
        self.sources = sources
    }

    /// A copy with scale-to-zero and the sources replaced.
    func replacing(enableScaleToZero: Bool, minReplicas: Int? = nil, sources: FieldSources) -> ResolvedModelConfig {
        let minReplicas = minReplicas ?? self.minReplicas
        return ResolvedModelConfig(
            model: model, enableScaleToZero: enableScaleToZero, retention: retention, variantName: variantName,
            minReplicas: minReplicas, maxReplicas: maxReplicas, targetConcurrency: targetConcurrency, group: group,
            aliases: aliases, wakePath: wakePath, keepAlive: keepAlive, coldStartCost: coldStartCost,
            minRetention: minRetention, prewarm: prewarm, targetKVCacheUtilization: targetKVCacheUtilization,
            maxWaitingPerReplica: maxWaitingPerReplica, sources: sources)
    }

    /// The floor while active: max(1, min_replicas), never above max_replicas.
    public var activeFloor: Int { Swift.min(Swift.max(1, minReplicas), maxReplicas ?? Int.max) }
}

/// Resolves per-model configuration, most specific first, each field on its own:
/// override with `model_id` and `namespace` → override with `model_id` only → `default` →
/// `WVA_SCALE_TO_ZERO` (enable flag only) → system default (disabled, 10 minutes).
public struct ConfigResolver: Sendable {
    /// System default retention: 10 minutes.
    public static let systemRetention = ConfigDuration(seconds: 600)
    /// System default cost of one cold start: 10 minutes.
    public static let systemColdStartCost = ConfigDuration(seconds: 600)
    /// System default shortest learned retention: 1 minute.
    public static let systemMinRetention = ConfigDuration(seconds: 60)
    /// System default KV-cache utilisation target: 0.8.
    public static let systemTargetKVCacheUtilization = 0.8
    /// System default waiting requests per replica: 2.
    public static let systemMaxWaitingPerReplica = 2.0

    /// The configuration in force.
    public let config: ModelConfigSet
    /// The value of `WVA_SCALE_TO_ZERO`, nil when unset.
    public let environmentScaleToZero: Bool?

    /// Creates a resolver.
    public init(config: ModelConfigSet, environmentScaleToZero: Bool?) {
        self.config = config
        self.environmentScaleToZero = environmentScaleToZero
    }

    /// Interprets `WVA_SCALE_TO_ZERO` as WVA does: nil when unset, true for `true` in any case
    /// with nothing around it, false for anything else (`" true"` does not enable).
    public static func environmentFlag(_ value: String?) -> Bool? {
        value.map { $0.lowercased() == "true" }
    }

    /// A warning when `WVA_SCALE_TO_ZERO` holds `true` with surrounding spaces: it reads as false.
    public static func environmentFlagWarning(_ value: String?) -> String? {
        guard let value, environmentFlag(value) == false,
            value.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == "true"
        else { return nil }
        return "WVA_SCALE_TO_ZERO=\"\(value)\" does not enable scale-to-zero: the value is compared exactly, as WVA does (remove the spaces)"
    }

    /// The resolved configuration of `model`.
    public func resolve(_ model: ModelKey) -> ResolvedModelConfig {
        let (scoped, unscoped) = config.overrides(for: model.modelID, namespace: model.namespace)
        var resolved: ResolvedModelConfig
        if scoped.count <= 1, unscoped.count <= 1 {
            resolved = resolve(model, levels: levels(scoped: scoped.first, unscoped: unscoped.first))
        } else {
            // Duplicates: every combination resolved, folded to the more conservative value per field.
            let scopedChoices: [ModelEntry?] = scoped.isEmpty ? [nil] : scoped
            let unscopedChoices: [ModelEntry?] = unscoped.isEmpty ? [nil] : unscoped
            var folded: ResolvedModelConfig?
            for s in scopedChoices {
                for u in unscopedChoices {
                    let next = resolve(model, levels: levels(scoped: s, unscoped: u))
                    folded = folded.map { Self.moreConservative($0, next) } ?? next
                }
            }
            resolved = folded!
        }
        let quarantines = config.quarantines(for: model.modelID, namespace: model.namespace)
        if let first = quarantines.first {
            var sources = resolved.sources
            sources[.enableScaleToZero] = .invalidEntry(key: first.key)
            // The min_replicas a broken entry states, when higher: never a lower floor, never above
            // the max_replicas in force, and a broken `default` only where no entry of the model's
            // own sets min_replicas (field by field, most specific first, as always).
            var minReplicas = resolved.minReplicas
            for quarantine in quarantines {
                guard var stated = quarantine.minReplicas else { continue }
                if quarantine.modelID == nil, case .override = resolved.sources[.minReplicas] { continue }
                if let ceiling = resolved.maxReplicas { stated = Swift.min(stated, ceiling) }
                if stated > minReplicas {
                    minReplicas = stated
                    sources[.minReplicas] = .invalidEntry(key: quarantine.key)
                }
            }
            resolved = resolved.replacing(enableScaleToZero: false, minReplicas: minReplicas, sources: sources)
        }
        return resolved
    }

    /// One chain of entries resolved, field by field, most specific first.
    private func resolve(_ model: ModelKey, levels: [(ModelSettings, FieldSource)]) -> ResolvedModelConfig {
        var sources = FieldSources()

        func pick<T>(_ field: ConfigField, _ path: KeyPath<ModelSettings, T?>) -> T? {
            for (settings, source) in levels {
                if let value = settings[keyPath: path] {
                    sources[field] = source
                    return value
                }
            }
            return nil
        }

        let enable: Bool
        if let value = pick(.enableScaleToZero, \.enableScaleToZero) {
            enable = value
        } else if let value = environmentScaleToZero {
            enable = value
            sources[.enableScaleToZero] = .environment
        } else {
            enable = false
            sources[.enableScaleToZero] = .system
        }
        let retention = pick(.retentionPeriod, \.retentionPeriod) ?? {
            sources[.retentionPeriod] = .system
            return Self.systemRetention
        }()
        let variant = pick(.variantName, \.variantName) ?? {
            sources[.variantName] = .derived
            return Self.derivedVariantName(model.modelID)
        }()
        let minReplicas = pick(.minReplicas, \.minReplicas) ?? {
            sources[.minReplicas] = .system
            return 1
        }()
        let maxReplicas = pick(.maxReplicas, \.maxReplicas)
        if maxReplicas == nil { sources[.maxReplicas] = .system }
        let target = pick(.targetConcurrency, \.targetConcurrency)
        if target == nil { sources[.targetConcurrency] = .system }
        let group = pick(.group, \.group)
        if group == nil { sources[.group] = .system }

        func pick<T>(_ field: ConfigField, _ path: KeyPath<ModelSettings, T?>, system: T) -> T {
            if let value = pick(field, path) { return value }
            sources[field] = .system
            return system
        }
        let aliases = pick(.aliases, \.aliases, system: [])
        let wakePath = pick(.wakePath, \.wakePath, system: .gateway)
        let keepAlive = pick(.keepAlive, \.keepAlive, system: .fixed)
        let coldStartCost = pick(.coldStartCost, \.coldStartCost, system: Self.systemColdStartCost)
        // The learned retention lives in [min_retention_period, retention_period]: a floor above the
        // ceiling (set at different levels) is bounded by the ceiling; explain says so.
        let minRetention = Swift.min(pick(.minRetentionPeriod, \.minRetentionPeriod, system: Self.systemMinRetention), retention)
        let prewarm = pick(.prewarm, \.prewarm) ?? {
            sources[.prewarm] = .derived
            return keepAlive == .adaptive
        }()
        let kvCache = pick(.targetKVCacheUtilization, \.targetKVCacheUtilization, system: Self.systemTargetKVCacheUtilization)
        let waiting = pick(.maxWaitingPerReplica, \.maxWaitingPerReplica, system: Self.systemMaxWaitingPerReplica)

        return ResolvedModelConfig(
            model: model, enableScaleToZero: enable, retention: retention, variantName: variant,
            minReplicas: minReplicas, maxReplicas: maxReplicas, targetConcurrency: target, group: group,
            aliases: aliases, wakePath: wakePath, keepAlive: keepAlive, coldStartCost: coldStartCost,
            minRetention: minRetention, prewarm: prewarm, targetKVCacheUtilization: kvCache,
            maxWaitingPerReplica: waiting, sources: sources)
    }

    /// The entries of one chain, most specific first, each with the source it stands for.
    private func levels(scoped: ModelEntry?, unscoped: ModelEntry?) -> [(ModelSettings, FieldSource)] {
        var levels: [(ModelSettings, FieldSource)] = []
        if let scoped { levels.append((scoped.settings, .override(key: scoped.key))) }
        if let unscoped { levels.append((unscoped.settings, .override(key: unscoped.key))) }
        if let defaults = config.defaults { levels.append((defaults.settings, .defaults)) }
        return levels
    }

    /// The value of `path` the most specific applicable entry sets, before any bounding (the
    /// largest, when duplicates set it).
    func configured<T: Comparable>(_ path: KeyPath<ModelSettings, T?>, for model: ModelKey) -> T? {
        let (scoped, unscoped) = config.overrides(for: model.modelID, namespace: model.namespace)
        for level in [scoped, unscoped] {
            if let value = level.compactMap({ $0.settings[keyPath: path] }).max() { return value }
        }
        return config.defaults?.settings[keyPath: path]
    }

    /// Field by field, the value of `a` or `b` that keeps more capacity and scales to zero later:
    /// scale-to-zero off if either says off; the longer retention, minimum retention and cold-start
    /// cost; the higher floor and ceiling (none is highest); the smaller concurrency, KV-cache and
    /// waiting targets; `gateway` over `api`, `fixed` over `adaptive`, pre-warm on; every alias of
    /// both. Fields with no safer side (variant name, group, a concurrency target set on one side
    /// only) come from `a`, the first key. Each field keeps the source of the value chosen.
    static func moreConservative(_ a: ResolvedModelConfig, _ b: ResolvedModelConfig) -> ResolvedModelConfig {
        var sources = a.sources
        func choose<T>(_ field: ConfigField, _ first: T, _ second: T, takeSecond: Bool) -> T {
            guard takeSecond else { return first }
            sources[field] = b.sources[field]
            return second
        }
        let maxReplicas: Int? = choose(
            .maxReplicas, a.maxReplicas, b.maxReplicas,
            takeSecond: a.maxReplicas.map { (b.maxReplicas ?? .max) > $0 } ?? false)
        let target: Double? = choose(
            .targetConcurrency, a.targetConcurrency, b.targetConcurrency,
            takeSecond: a.targetConcurrency.flatMap { x in b.targetConcurrency.map { $0 < x } } ?? false)
        let extraAliases = b.aliases.filter { !a.aliases.contains($0) }
        if a.aliases.isEmpty, !b.aliases.isEmpty { sources[.aliases] = b.sources[.aliases] }
        let retention = choose(.retentionPeriod, a.retention, b.retention, takeSecond: b.retention > a.retention)
        let minRetention = choose(.minRetentionPeriod, a.minRetention, b.minRetention, takeSecond: b.minRetention > a.minRetention)
        return ResolvedModelConfig(
            model: a.model,
            enableScaleToZero: choose(
                .enableScaleToZero, a.enableScaleToZero, b.enableScaleToZero, takeSecond: a.enableScaleToZero && !b.enableScaleToZero),
            retention: retention,
            variantName: a.variantName,
            minReplicas: choose(.minReplicas, a.minReplicas, b.minReplicas, takeSecond: b.minReplicas > a.minReplicas),
            maxReplicas: maxReplicas,
            targetConcurrency: target,
            group: a.group,
            aliases: a.aliases + extraAliases,
            wakePath: choose(.wakePath, a.wakePath, b.wakePath, takeSecond: a.wakePath == .api && b.wakePath == .gateway),
            keepAlive: choose(.keepAlive, a.keepAlive, b.keepAlive, takeSecond: a.keepAlive == .adaptive && b.keepAlive == .fixed),
            coldStartCost: choose(.coldStartCost, a.coldStartCost, b.coldStartCost, takeSecond: b.coldStartCost > a.coldStartCost),
            minRetention: Swift.min(minRetention, retention),
            prewarm: choose(.prewarm, a.prewarm, b.prewarm, takeSecond: !a.prewarm && b.prewarm),
            targetKVCacheUtilization: choose(
                .targetKVCacheUtilization, a.targetKVCacheUtilization, b.targetKVCacheUtilization,
                takeSecond: b.targetKVCacheUtilization < a.targetKVCacheUtilization),
            maxWaitingPerReplica: choose(
                .maxWaitingPerReplica, a.maxWaitingPerReplica, b.maxWaitingPerReplica,
                takeSecond: b.maxWaitingPerReplica < a.maxWaitingPerReplica),
            sources: sources)
    }

    /// The retention of a model no override names: `default`'s, else the system's.
    public var defaultRetention: ConfigDuration {
        config.defaults?.settings.retentionPeriod ?? Self.systemRetention
    }

    /// Whether the kill switch is engaged by configuration: `global.scale_to_zero_allowed: false`,
    /// or a broken `global` entry with no good version.
    public var killSwitchEngaged: Bool {
        config.globalQuarantined || config.global.scaleToZeroAllowed == false
    }

    /// A Kubernetes-style name from a model id: the last path segment, lower-cased, with every
    /// character outside `[a-z0-9-]` replaced by `-` (`meta/llama-3.1-8b` → `llama-3-1-8b`).
    public static func derivedVariantName(_ modelID: String) -> String {
        let last = modelID.split(separator: "/").last.map(String.init) ?? modelID
        var name = String(last.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" ? $0 : "-" })
        while name.hasPrefix("-") { name.removeFirst() }
        while name.hasSuffix("-") { name.removeLast() }
        return name.isEmpty ? "model" : name
    }
}
