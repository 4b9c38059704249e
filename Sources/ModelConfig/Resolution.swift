import Foundation

/// A field a model's resolved configuration carries.
public enum ConfigField: String, Sendable, Hashable, CaseIterable, Codable {
    case enableScaleToZero = "enable_scale_to_zero"
    case retentionPeriod = "retention_period"
    case variantName = "variant_name"
    case minReplicas = "min_replicas"
    case maxReplicas = "max_replicas"
    case targetConcurrency = "target_concurrency"
    case group = "group"
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
    /// Where each field came from.
    public let sources: FieldSources

    /// The floor while active: max(1, min_replicas), never above max_replicas.
    public var activeFloor: Int { Swift.min(Swift.max(1, minReplicas), maxReplicas ?? Int.max) }
}

/// Resolves per-model configuration, most specific first, each field on its own:
/// override with `model_id` and `namespace` → override with `model_id` only → `default` →
/// `WVA_SCALE_TO_ZERO` (enable flag only) → system default (disabled, 10 minutes).
public struct ConfigResolver: Sendable {
    /// System default retention: 10 minutes.
    public static let systemRetention = ConfigDuration(seconds: 600)

    /// The configuration in force.
    public let config: ModelConfigSet
    /// The value of `WVA_SCALE_TO_ZERO`, nil when unset.
    public let environmentScaleToZero: Bool?

    /// Creates a resolver.
    public init(config: ModelConfigSet, environmentScaleToZero: Bool?) {
        self.config = config
        self.environmentScaleToZero = environmentScaleToZero
    }

    /// Interprets `WVA_SCALE_TO_ZERO`: nil when unset, true for `true` (any case), false otherwise.
    public static func environmentFlag(_ value: String?) -> Bool? {
        value.map { $0.trimmingCharacters(in: .whitespaces).lowercased() == "true" }
    }

    /// The resolved configuration of `model`.
    public func resolve(_ model: ModelKey) -> ResolvedModelConfig {
        let (scoped, unscoped) = config.overrides(for: model.modelID, namespace: model.namespace)
        var levels: [(ModelSettings, FieldSource)] = []
        if let scoped { levels.append((scoped.settings, .override(key: scoped.key))) }
        if let unscoped { levels.append((unscoped.settings, .override(key: unscoped.key))) }
        if let defaults = config.defaults { levels.append((defaults.settings, .defaults)) }
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

        var enable: Bool
        if let value = pick(.enableScaleToZero, \.enableScaleToZero) {
            enable = value
        } else if let value = environmentScaleToZero {
            enable = value
            sources[.enableScaleToZero] = .environment
        } else {
            enable = false
            sources[.enableScaleToZero] = .system
        }
        if let quarantine = config.quarantine(for: model.modelID, namespace: model.namespace) {
            enable = false
            sources[.enableScaleToZero] = .invalidEntry(key: quarantine.key)
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

        return ResolvedModelConfig(
            model: model, enableScaleToZero: enable, retention: retention, variantName: variant,
            minReplicas: minReplicas, maxReplicas: maxReplicas, targetConcurrency: target, group: group,
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
