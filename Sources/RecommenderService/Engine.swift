import Foundation
import Logging
import ModelConfig
import PrometheusClient
import Recommendation

/// Settings of the engine that are not in the model ConfigMap.
public struct EngineOptions: Sendable {
    /// `WVA_SCALE_TO_ZERO`, interpreted (nil when unset).
    public var environmentScaleToZero: Bool?
    /// Kill switch from the command line or environment (`--scale-to-zero-allowed=false`).
    public var killSwitchFlag: Bool
    /// A model absent from every source this long is forgotten (seconds).
    public var forgetAfterSeconds: Double
    /// Namespace for a model known only from gateway demand or a wake (the gateway queue metric has
    /// no namespace label) when no namespace of it is known.
    public var defaultNamespace: String
    /// Reject wake calls for unknown models (404) instead of adopting them.
    public var wakeKnownModelsOnly: Bool
    /// A load-based size goes down only after the lower size has been wanted this long (seconds).
    public var scaleDownStabilizationSeconds: Double
    /// The most models a wake call may adopt (unknown ids), counted while they are known; beyond
    /// it a wake for an unknown model is refused (429), so callers cannot grow `/metrics` at will.
    public var wakeMaxAdopted: Int

    /// Creates options.
    public init(
        environmentScaleToZero: Bool? = nil, killSwitchFlag: Bool = false, forgetAfterSeconds: Double = 7 * 86_400,
        defaultNamespace: String = "default", wakeKnownModelsOnly: Bool = false, scaleDownStabilizationSeconds: Double = 60,
        wakeMaxAdopted: Int = 100
    ) {
        self.wakeMaxAdopted = wakeMaxAdopted
        self.environmentScaleToZero = environmentScaleToZero
        self.killSwitchFlag = killSwitchFlag
        self.forgetAfterSeconds = forgetAfterSeconds
        self.defaultNamespace = defaultNamespace
        self.wakeKnownModelsOnly = wakeKnownModelsOnly
        self.scaleDownStabilizationSeconds = scaleDownStabilizationSeconds
    }
}

/// What the engine knows of one model. A class confined to the engine actor: ticks and renders
/// walk 10,000 of these without copying them, and the exposition lines are cached per model and
/// rebuilt only when the recommendation, the state or the labels change.
final class ModelRecord {
    var config: ResolvedModelConfig
    var state = ModelState()
    var decision: Decision?
    var signals = ModelSignals()
    var lastSeen: Instant
    var pendingWake = false
    var lastColdStartSeconds: Double?
    /// Rendered `namespace`, `model_name` labels.
    private(set) var modelLabels = ""
    /// The `inferno_desired_replicas` line, empty before the first decision.
    private(set) var desiredLine: [UInt8] = []
    /// The `recommender_model_state` line, empty before the first decision.
    private(set) var stateLine: [UInt8] = []

    init(config: ResolvedModelConfig, now: Instant) {
        self.config = config
        lastSeen = now
        relabel()
    }

    /// Recomputes labels and lines after a configuration change.
    func relabel() {
        modelLabels = ExpositionWriter.labels(["namespace": config.model.namespace, "model_name": config.model.modelID])
        renderLines()
    }

    /// Records a decision, re-rendering the cached lines only when what they show changed.
    func record(_ new: Decision) {
        let changed = decision?.desired != new.desired || decision?.phase != new.phase
        decision = new
        state = new.state
        pendingWake = false
        if changed { renderLines() }
    }

    private func renderLines() {
        guard let decision else { return }
        let ns = config.model.namespace, variant = config.variantName
        let labels = modelLabels + "," + ExpositionWriter.labels([
            "variant_name": variant, "variantautoscaling_name": variant, "variantautoscaling_namespace": ns,
        ])
        var writer = ExpositionWriter(reserving: labels.utf8.count + 40)
        writer.sample("inferno_desired_replicas", labels, int: decision.desired)
        desiredLine = writer.bytes
        writer = ExpositionWriter(reserving: modelLabels.utf8.count + 48)
        writer.sample("recommender_model_state", modelLabels + ",state=\"\(decision.phase.rawValue)\"", int: 1)
        stateLine = writer.bytes
    }
}

/// The result of a wake call.
public enum WakeOutcome: Sendable, Equatable {
    /// A known model was woken: the new recommendation.
    case woken(desired: Int)
    /// An unknown model was adopted and woken; `knownNamespaces` are the namespaces where the same
    /// model id is known (a non-empty list usually means a namespace typo).
    case adopted(desired: Int, knownNamespaces: [String])
    /// Unknown model while `wakeKnownModelsOnly` is set.
    case unknownModel
    /// Unknown model refused: `limit` models adopted from wake calls are already known.
    case adoptionLimit(limit: Int)
}

/// Why a wake call was refused, the `reason` label of `recommender_wake_rejected_total`.
public enum WakeRejection: String, Sendable, CaseIterable {
    /// The wake-adopted model bound was reached.
    case adoptionLimit = "adoption_limit"
    /// Unknown model while only known models may be woken.
    case unknownModel = "unknown_model"
    /// Missing or wrong bearer token.
    case unauthorized
    /// Over the wake rate.
    case rateLimited = "rate_limited"
    /// Not a wake path.
    case badRequest = "bad_request"
    /// The wake token file cannot be read.
    case tokenUnavailable = "token_unavailable"
}

/// The recommender's shared state: configuration, inventory, per-model state and decisions, and
/// its own metrics. The tick loop, the config watcher and the HTTP handlers all go through it.
public actor Engine {
    let options: EngineOptions
    let logger: Logger
    private(set) var config: ModelConfigSet?
    private(set) var resolver: ConfigResolver
    var records: [ModelKey: ModelRecord] = [:]
    private var sortedRecords: [ModelRecord] = []
    private var inventoryChanged = false
    private(set) var recovered = false
    private(set) var lastTickAt: Instant?
    private var lastConfigError: String?
    /// Signals whose last query failed: failures and recoveries are logged once, not every tick.
    private var failingSignals: Set<Signal> = []
    var metrics = ServiceMetrics()
    /// Models adopted from wake calls (counted against `wakeMaxAdopted` while still known).
    private var wakeAdopted: Set<ModelKey> = []

    /// Creates an engine with no configuration loaded yet.
    public init(options: EngineOptions, logger: Logger) {
        self.options = options
        self.logger = logger
        resolver = ConfigResolver(config: .empty, environmentScaleToZero: options.environmentScaleToZero)
    }

    // MARK: - Configuration

    /// Applies a freshly read ConfigMap; broken entries keep their last good version.
    @discardableResult
    public func loadConfig(_ entries: [RawEntry], now: Instant) -> ModelConfigSet {
        let set = ModelConfigSet.build(entries: entries, previous: config)
        apply(set, now: now)
        return set
    }

    /// Applies a configuration built (off the actor) from the ConfigMap and the one in force.
    public func apply(_ set: ModelConfigSet, now: Instant) {
        config = set
        resolver = ConfigResolver(config: set, environmentScaleToZero: options.environmentScaleToZero)
        metrics.configErrors = set.errorCount
        if set.errorCount > 0 {
            metrics.configReloads["failure", default: 0] += 1
            lastConfigError = set.problems.first { $0.severity == .error }?.description
            for problem in set.problems where problem.severity == .error {
                logger.error("config error", metadata: ["problem": "\(problem)"])
            }
        } else {
            metrics.configReloads["success", default: 0] += 1
            metrics.configLastSuccess = now.seconds
            lastConfigError = nil
        }
        for problem in set.problems where problem.severity == .warning {
            logger.warning("config warning", metadata: ["problem": "\(problem)"])
        }
        for key in set.retainedKeys {
            logger.warning("config entry invalid, keeping its last good version", metadata: ["key": "\(key)"])
        }
        for (key, record) in records {
            record.config = resolver.resolve(key)
            record.relabel()
        }
        adoptConfiguredModels(now: now)
    }

    /// The ConfigMap could not be read at all: nothing changes, the failure is counted.
    public func configUnreadable(_ error: ConfigSourceError) {
        metrics.configReloads["failure", default: 0] += 1
        lastConfigError = error.description
        logger.error("config unreadable, keeping the configuration in force", metadata: ["error": "\(error)"])
    }

    /// Whether the kill switch is engaged (flag, `global` entry, or a broken `global`).
    public var killSwitch: Bool { options.killSwitchFlag || resolver.killSwitchEngaged }

    /// The distinct retention periods in use: one request-count query each.
    public var retentionsInUse: Set<ConfigDuration> {
        // The default one too: models first seen this tick most likely use it.
        var set = Set(records.values.map(\.config.retention))
        set.insert(resolver.defaultRetention)
        return set
    }

    // MARK: - Inventory

    private func adoptConfiguredModels(now: Instant) {
        for entry in config?.overrides ?? [] {
            guard let modelID = entry.modelID, let namespace = entry.namespace else { continue }
            touch(ModelKey(namespace: namespace, modelID: modelID), now: now)
        }
    }

    /// Marks a model as seen now, adopting it when it is new.
    private func touch(_ key: ModelKey, now: Instant) {
        if let record = records[key] {
            record.lastSeen = now
            return
        }
        records[key] = ModelRecord(config: resolver.resolve(key), now: now)
        inventoryChanged = true
    }

    /// The known keys of a model id, or the default namespace's when none is known.
    private func keys(for modelID: String, index: [String: [ModelKey]]) -> [ModelKey] {
        index[modelID] ?? [ModelKey(namespace: options.defaultNamespace, modelID: modelID)]
    }

    /// Reads back the last exported values (restart recovery). Until it succeeds no tick decides.
    public func recover(_ result: Result<[ModelKey: Double], PrometheusError>, now: Instant) {
        switch result {
        case .success(let values):
            for (key, value) in values where value.isFinite {
                touch(key, now: now)
                records[key]!.state.desired = max(0, Int(value.rounded()))
            }
            recovered = true
            metrics.recoveredModels = values.count
            logger.info("recovered last recommendations", metadata: ["models": "\(values.count)"])
        case .failure(let error):
            metrics.queryErrors[Signal.recovery, default: 0] += 1
            logger.warning("recovery query failed; decisions wait for it", metadata: ["error": "\(error)"])
        }
        metrics.queries[Signal.recovery, default: 0] += 1
    }

    // MARK: - Ticks

    /// Applies one tick's signals: inventory, decisions, logs and metrics.
    public func tick(_ fleet: FleetSignals, outcomes: [SignalCollector.QueryOutcome], duration: Double, now: Instant) {
        for outcome in outcomes {
            metrics.queries[outcome.signal, default: 0] += 1
            if let error = outcome.error {
                metrics.queryErrors[outcome.signal, default: 0] += 1
                if failingSignals.insert(outcome.signal).inserted {
                    logger.warning("prometheus query failing; models needing it are held", metadata: ["signal": "\(outcome.signal.rawValue)", "error": "\(error)"])
                }
            } else if failingSignals.remove(outcome.signal) != nil {
                logger.info("prometheus query recovered", metadata: ["signal": "\(outcome.signal.rawValue)"])
            }
        }
        guard config != nil, recovered else { return }

        adoptConfiguredModels(now: now)
        for key in fleet.seenModels { touch(key, now: now) }
        let index = Dictionary(grouping: records.keys, by: \.modelID)
        for modelID in fleet.demandModels {
            for key in keys(for: modelID, index: index) { touch(key, now: now) }
        }
        for (key, record) in records where now.since(record.lastSeen) > options.forgetAfterSeconds {
            records[key] = nil
            inventoryChanged = true
            logger.info("model forgotten", metadata: ["model": "\(key.modelID)", "namespace": "\(key.namespace)"])
        }
        decide(sortedModelRecords(), fleet: fleet, now: now)
        lastTickAt = now
        metrics.ticks += 1
        metrics.tickDuration.observe(duration)
        metrics.lastTickSuccess = now.seconds
    }

    /// Known models in label order, re-sorted only when the inventory changed.
    func sortedModelRecords() -> [ModelRecord] {
        if inventoryChanged {
            sortedRecords = records.sorted { $0.key < $1.key }.map(\.value)
            inventoryChanged = false
        }
        return sortedRecords
    }

    private func decide(_ models: [ModelRecord], fleet: FleetSignals?, now: Instant) {
        var inputs: [DecisionInput] = []
        inputs.reserveCapacity(models.count)
        for record in models {
            if let fleet { record.signals = fleet.signals(for: record.config.model, retention: record.config.retention) }
            inputs.append(DecisionInput(config: record.config, signals: record.signals, state: record.state, wakeRequested: record.pendingWake))
        }
        let decisions = Recommender.recommend(
            inputs, killSwitch: killSwitch, now: now, scaleDownStabilization: options.scaleDownStabilizationSeconds)
        for (record, decision) in zip(models, decisions) { apply(decision, to: record) }
    }

    private func apply(_ decision: Decision, to record: ModelRecord) {
        let previous = record.decision
        let previousDesired = previous?.desired ?? record.state.desired  // a recovered value counts
        record.record(decision)
        if let seconds = decision.coldStartSeconds {
            record.lastColdStartSeconds = seconds
            metrics.coldStarts.observe(seconds)
        }
        metrics.decisions[decision.reason, default: 0] += 1
        if decision.scaledToZero { metrics.scaleToZeroEvents += 1 }
        if decision.woke { metrics.wakeEvents += 1 }
        if previous?.desired != decision.desired || previous?.reason != decision.reason {
            let key = record.config.model
            logger.info("decision changed", metadata: [
                "model": "\(key.modelID)", "namespace": "\(key.namespace)",
                "desired": "\(decision.desired)", "previous": "\(previousDesired.map(String.init) ?? "none")",
                "reason": "\(decision.reason.rawValue)", "state": "\(decision.phase.rawValue)", "detail": "\(decision.detail)",
                // increase() extrapolates: 41.3865 completed requests reads better as 41.4.
                "model_request_count": "\(record.signals.requests.map { ($0 * 10).rounded() / 10 }.map(ExpositionWriter.format) ?? "unknown")",
                "retention": "\(record.config.retention)", "enable_scale_to_zero": "\(record.config.enableScaleToZero)",
            ])
        }
    }

    // MARK: - Wake

    /// A wake call: the model (and its group) is recomputed now, not at the next tick. An unknown
    /// model is adopted, up to `wakeMaxAdopted` of them.
    public func wake(_ key: ModelKey, now: Instant) -> WakeOutcome {
        var adopted = false
        if records[key] == nil {
            if options.wakeKnownModelsOnly {
                metrics.wakeRejected[.unknownModel, default: 0] += 1
                return .unknownModel
            }
            wakeAdopted = wakeAdopted.filter { records[$0] != nil }  // forgotten ones no longer count
            guard wakeAdopted.count < options.wakeMaxAdopted else {
                metrics.wakeRejected[.adoptionLimit, default: 0] += 1
                return .adoptionLimit(limit: options.wakeMaxAdopted)
            }
            touch(key, now: now)
            wakeAdopted.insert(key)
            adopted = true
        }
        let record = records[key]!
        record.pendingWake = true
        record.lastSeen = now
        metrics.wakeCalls += 1
        let desired: Int
        if config != nil, recovered {
            var affected = [record]
            if let group = record.config.group {
                affected = sortedModelRecords().filter { $0.config.group == group }
            }
            decide(affected, fleet: nil, now: now)  // each record keeps its last tick's signals
            desired = record.decision?.desired ?? 1
        } else {
            // Before the first tick the wake is remembered and applied by it.
            desired = max(record.state.desired ?? 1, record.config.activeFloor)
        }
        guard adopted else { return .woken(desired: desired) }
        let elsewhere = records.keys.filter { $0.modelID == key.modelID && $0 != key }.map(\.namespace).sorted()
        return .adopted(desired: desired, knownNamespaces: elsewhere)
    }

    /// Counts a wake call refused before it reached the engine (token, rate, path).
    public func rejectWake(_ reason: WakeRejection) {
        metrics.wakeRejected[reason, default: 0] += 1
    }

    // MARK: - Views

    /// Ready once the configuration is loaded, recovery is done and a tick has decided.
    public func readiness() -> (ready: Bool, detail: [String]) {
        var detail: [String] = []
        if config == nil { detail.append("config: not loaded" + (lastConfigError.map { " (\($0))" } ?? "")) }
        if !recovered { detail.append("recovery: waiting for Prometheus") }
        if lastTickAt == nil { detail.append("tick: none decided yet") }
        let ready = detail.isEmpty
        if let config, config.errorCount > 0 {
            detail.append("config: \(config.errorCount) error(s), last good versions in force: \(config.problems.filter { $0.severity == .error }.map(\.description).joined(separator: "; "))")
        } else if let lastConfigError, config != nil {
            detail.append("config: last reload failed: \(lastConfigError)")
        }
        if killSwitch { detail.append("kill switch: engaged, scale-to-zero frozen, every model ≥ 1") }
        return (ready, detail)
    }

    /// The current decision of one model, if any.
    public func decision(for key: ModelKey) -> Decision? { records[key]?.decision }

    /// The number of known models.
    public var modelCount: Int { records.count }
}
