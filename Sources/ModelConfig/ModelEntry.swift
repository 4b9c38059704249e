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

    /// Creates settings; every field defaults to "not set".
    public init(
        enableScaleToZero: Bool? = nil, retentionPeriod: ConfigDuration? = nil,
        variantName: String? = nil, minReplicas: Int? = nil, maxReplicas: Int? = nil,
        targetConcurrency: Double? = nil, group: String? = nil
    ) {
        self.enableScaleToZero = enableScaleToZero
        self.retentionPeriod = retentionPeriod
        self.variantName = variantName
        self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas
        self.targetConcurrency = targetConcurrency
        self.group = group
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
