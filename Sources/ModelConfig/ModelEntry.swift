/// How a model comes back from zero (`wake_path`).
public enum WakePath: String, Sendable, Hashable, Codable, CaseIterable {
    /// Through the inference gateway: its queue or request counter is the demand signal at zero.
    case gateway
    /// Through the wake API: a caller posts to `/api/v1/models/{namespace}/{model}/wake`.
    case api
}

/// How a model's retention is chosen (`keep_alive`).
public enum KeepAliveMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// The configured `retention_period`, as is.
    case fixed
    /// Learned from the model's own history, bounded by `min_retention_period` and
    /// `retention_period`.
    case adaptive
}

/// The fields an entry of the model ConfigMap may set. Every one is optional: an override sets only
/// what differs and each field falls through to the next level on its own.
public struct ModelSettings: Sendable, Hashable {
    /// Allow this model to be recommended 0 replicas once idle for its retention period.
    public var enableScaleToZero: Bool?
    /// How long a model must be idle before it may go to zero.
    public var retentionPeriod: ConfigDuration?
    /// The scale target's name, exported as the `variant_name` label.
    public var variantName: String?
    /// Floor while active (the recommendation is never below max(1, min_replicas) unless zero).
    public var minReplicas: Int?
    /// Ceiling of the recommendation.
    public var maxReplicas: Int?
    /// Requests in flight per replica; when set, active models are sized to their load.
    public var targetConcurrency: Double?
    /// Models of one group wake and sleep together.
    public var group: String?
    /// Other names the model is requested or reported under (served-model-name, LoRA adapters,
    /// the gateway's `target_model_name`).
    public var aliases: [String]?
    /// How the model comes back from zero.
    public var wakePath: WakePath?
    /// Fixed or adaptive retention.
    public var keepAlive: KeepAliveMode?
    /// What one cold start costs, expressed as idle GPU time worth paying to avoid it.
    public var coldStartCost: ConfigDuration?
    /// The shortest retention adaptive keep-alive may learn.
    public var minRetentionPeriod: ConfigDuration?
    /// Wake ahead of predicted demand.
    public var prewarm: Bool?
    /// KV-cache utilisation per replica that sizing aims at, in (0, 1].
    public var targetKVCacheUtilization: Double?
    /// Waiting requests per replica tolerated before sizing up, ≥ 0.
    public var maxWaitingPerReplica: Double?

    /// Creates settings; every field defaults to "not set".
    public init(
        enableScaleToZero: Bool? = nil, retentionPeriod: ConfigDuration? = nil,
        variantName: String? = nil, minReplicas: Int? = nil, maxReplicas: Int? = nil,
        targetConcurrency: Double? = nil, group: String? = nil, aliases: [String]? = nil,
        wakePath: WakePath? = nil, keepAlive: KeepAliveMode? = nil, coldStartCost: ConfigDuration? = nil,
        minRetentionPeriod: ConfigDuration? = nil, prewarm: Bool? = nil,
        targetKVCacheUtilization: Double? = nil, maxWaitingPerReplica: Double? = nil
    ) {
        self.enableScaleToZero = enableScaleToZero
        self.retentionPeriod = retentionPeriod
        self.variantName = variantName
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
        self.targetConcurrency = targetConcurrency
        self.group = group
        self.aliases = aliases
        self.wakePath = wakePath
        self.keepAlive = keepAlive
        self.coldStartCost = coldStartCost
        self.minRetentionPeriod = minRetentionPeriod
        self.prewarm = prewarm
        self.targetKVCacheUtilization = targetKVCacheUtilization
        self.maxWaitingPerReplica = maxWaitingPerReplica
    }
}

/// A ConfigMap entry that passed validation: `default` or an override.
public struct ModelEntry: Sendable, Hashable {
    /// The ConfigMap key (free for overrides; `default` for the defaults entry).
    public let key: String
    /// The model the override applies to; nil for `default`.
    public let modelID: String?
    /// The namespace the override is limited to; nil applies to every namespace.
    public let namespace: String?
    /// The settings the entry sets.
    public let settings: ModelSettings

    /// Creates an entry.
    public init(key: String, modelID: String?, namespace: String?, settings: ModelSettings) {
        self.key = key
        self.modelID = modelID
        self.namespace = namespace
        self.settings = settings
    }
}

/// The reserved `global` entry.
public struct GlobalEntry: Sendable, Hashable {
    /// `false` is the kill switch: every model is kept at ≥ 1 and models at zero are brought back.
    public var scaleToZeroAllowed: Bool?

    /// Creates the entry.
    public init(scaleToZeroAllowed: Bool? = nil) { self.scaleToZeroAllowed = scaleToZeroAllowed }
}

/// Identifies a model: its id (Hugging Face style, may contain `/`) and Kubernetes namespace.
public struct ModelKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The Kubernetes namespace the model is served in.
    public let namespace: String
    /// The model id as vLLM reports it in `model_name`.
    public let modelID: String

    /// Creates a key.
    public init(namespace: String, modelID: String) {
        self.namespace = namespace
        self.modelID = modelID
    }

    /// `namespace/model`.
    public var description: String { "\(namespace)/\(modelID)" }

    public static func < (lhs: ModelKey, rhs: ModelKey) -> Bool {
        (lhs.namespace, lhs.modelID) < (rhs.namespace, rhs.modelID)
    }
}
