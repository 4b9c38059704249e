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
    /// A model absent from every source this long, counted over ticks whose queries all answered,
    /// is forgotten (seconds). A model recommended 0 is never forgotten.
    public var forgetAfterSeconds: Double
    /// Reject wake calls for unknown models (404) instead of adopting them.
    public var wakeKnownModelsOnly: Bool
    /// A load-based size goes down only after the lower size has been wanted this long (seconds).
    public var scaleDownStabilizationSeconds: Double
    /// No zero without a wake path (`--zero-requires-wake-path`).
    public var zeroRequiresWakePath: Bool
    /// A gateway wake path stays proven this long after its series were last seen (seconds).
    public var wakePathMemorySeconds: Double
    /// The most models a wake call may adopt (unknown ids), counted while they are known; beyond
    /// it a wake for an unknown model is refused (429), so callers cannot grow `/metrics` at will.
    public var wakeMaxAdopted: Int

    /// Creates options.
    public init(
        environmentScaleToZero: Bool? = nil, killSwitchFlag: Bool = false, forgetAfterSeconds: Double = 7 * 86_400,
        wakeKnownModelsOnly: Bool = false, scaleDownStabilizationSeconds: Double = 60,
        zeroRequiresWakePath: Bool = true, wakePathMemorySeconds: Double = 86_400, wakeMaxAdopted: Int = 100
    ) {
        self.wakeMaxAdopted = wakeMaxAdopted
        self.environmentScaleToZero = environmentScaleToZero
        self.killSwitchFlag = killSwitchFlag
        self.forgetAfterSeconds = forgetAfterSeconds
        self.wakeKnownModelsOnly = wakeKnownModelsOnly
        self.scaleDownStabilizationSeconds = scaleDownStabilizationSeconds
        self.zeroRequiresWakePath = zeroRequiresWakePath
        self.wakePathMemorySeconds = wakePathMemorySeconds
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
    /// Seconds the model has been absent from every source, counted over complete ticks only.
    var unseenSeconds: Double = 0
    /// Configured in its namespace or seen in vLLM series there (see `Engine.touch`).
    var evidenced = false
    /// Adopted (in this process) from a gateway series' namespace label alone: a shared gateway's
    /// own namespace, not a model's, once the id is known elsewhere.
    var adoptedFromGateway = false {
        didSet { if adoptedFromGateway { everAdoptedFromGateway = true } }
    }
    /// When a gateway sighting of the model was last revoked (exported for restart recovery).
    var revokedAt: Double?
    /// Adopted so once (exported as 1 or 0, for restart recovery).
    var everAdoptedFromGateway = false
    var pendingWake = false
    var lastColdStartSeconds: Double?
    /// Recommendation and ready replicas over time, for the status page.
    var history = ModelHistory()
    /// Rendered `namespace`, `model_name` labels.
    private(set) var modelLabels = ""
    /// The `inferno_desired_replicas` line, empty before the first decision.
    private(set) var desiredLine: [UInt8] = []
    /// The `recommender_model_state` line, empty before the first decision.
    private(set) var stateLine: [UInt8] = []

    /// The `recommender_model_wake_path` line, empty before the first decision.
    private(set) var wakePathLine: [UInt8] = []
    /// The gateway-last-seen value exported (refreshed at most once a minute: alert thresholds are
    /// minutes, and 10,000 models re-rendered every tick would cost more than it tells).
    private(set) var exportedGatewaySeen: Double?

    init(config: ResolvedModelConfig) {
        self.config = config
        relabel()
    }

    /// Recomputes labels and lines after a configuration change.
    func relabel() {
        modelLabels = ExpositionWriter.labels(["namespace": config.model.namespace, "model_name": config.model.modelID])
        renderLines()
    }

    /// Records a decision, re-rendering the cached lines only when what they show changed.
    func record(_ new: Decision) {
        let changed = decision?.desired != new.desired || decision?.phase != new.phase || decision?.wakePath != new.wakePath
        decision = new
        if let seen = new.state.gatewaySeenAt?.seconds, seen - (exportedGatewaySeen ?? 0) >= 60 {
            exportedGatewaySeen = seen.rounded(.down)
        }
        state = new.state
        pendingWake = false
        if changed { renderLines() }
    }

    /// Drops the remembered gateway sighting (it may have been another model's series): the next
    /// series that proves a path for this model alone records it again.
    func forgetGatewaySighting(now: Instant) {
        if state.gatewaySeenAt != nil || exportedGatewaySeen != nil { revokedAt = now.seconds }  // for restart recovery too
        state.gatewaySeenAt = nil
        exportedGatewaySeen = nil
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
        writer = ExpositionWriter(reserving: modelLabels.utf8.count + 48)
        writer.sample("recommender_model_wake_path", modelLabels + ",path=\"\(decision.wakePath.rawValue)\"", int: 1)
        wakePathLine = writer.bytes
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
    public private(set) var recovered = false
    /// Changes of the exported recommendations (a value changed, a model left), and the last
    /// change a `/metrics` scrape has read (see ``ExportDrain``).
    private var exportGeneration = 0
    private var scrapedGeneration = 0
    private(set) var lastTickAt: Instant?
    private(set) var lastConfigError: String?
    /// Signals whose last query failed: failures and recoveries are logged once, not every tick.
    private(set) var failingSignals: Set<Signal> = []
    /// Names → models, for attribution (see `NameIndex`).
    private var names: NameIndex?
    /// The models the last process exported, read back by recovery: what the first index built
    /// after it compares its rivals with.
    private var rivalBaseline: NameIndex?
    /// The models the last process exported (but those adopted from a gateway's label): evidenced
    /// for it, so one evidenced again here is no new rival of a sighting it proved.
    private var recoveredKnown: Set<ModelKey> = []
    private var namesStale = true
    /// Reported `variant_name` collisions (see `findVariantConflicts`).
    private(set) var variantConflicts: [String] = []
    var metrics = ServiceMetrics()
    /// Models adopted from wake calls (counted against `wakeMaxAdopted` while still known).
    private var wakeAdopted: Set<ModelKey> = []
    /// Subscribers to one model's recommendation (``recommendations(of:)``), by subscription.
    private var subscribers: [ModelKey: [Int: AsyncStream<Int>.Continuation]] = [:]
    private var nextSubscription = 0

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
        adoptConfiguredModels()
        namesStale = true
        variantConflicts = Self.findVariantConflicts(sortedModelRecords())
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
        var set = Set(records.values.map(Self.effectiveRetention))
        set.insert(resolver.defaultRetention)
        return set
    }

    // MARK: - Inventory

    private func adoptConfiguredModels() {
        for entry in config?.overrides ?? [] {
            guard let modelID = entry.modelID, let namespace = entry.namespace else { continue }
            touch(ModelKey(namespace: namespace, modelID: modelID), evidenced: true)
        }
    }

    /// Marks a model as seen now, adopting it when it is new. `evidenced`: configured in its
    /// namespace or seen in vLLM series there (a model adopted from a wake call or a gateway's
    /// namespace alone is not, and loses gateway attribution to one that is).
    private func touch(_ key: ModelKey, evidenced: Bool = false) {
        if let record = records[key] {
            record.unseenSeconds = 0
            if evidenced && !record.evidenced {
                record.evidenced = true
                record.adoptedFromGateway = false
                namesStale = true
            }
            return
        }
        let record = ModelRecord(config: resolver.resolve(key))
        record.evidenced = evidenced
        records[key] = record
        inventoryChanged = true
        namesStale = true
    }

    /// The names series carry → known models (ids and aliases), rebuilt when the inventory or the
    /// configuration changed.
    private func nameIndex(now: Instant) -> NameIndex {
        if let names, !namesStale { return names }
        let built = buildNames()
        // A sighting proves a path for the models known when it was made; a rival for the name
        // (the same id discovered in another namespace, a new alias) makes it unproven again.
        for key in built.modelsWithNewRivals(since: names ?? rivalBaseline, alsoKnown: recoveredKnown) { records[key]?.forgetGatewaySighting(now: now) }
        rivalBaseline = nil  // used once: later indexes compare with the one before
        names = built
        namesStale = false
        return built
    }

    /// The index of every record; `recovered` (restart recovery's models), the index of those
    /// alone, each evidenced unless adopted from a gateway's label (as the last process knew them).
    private func buildNames(recovered: Set<ModelKey>? = nil) -> NameIndex {
        let models = recovered.map { keys in records.filter { keys.contains($0.key) } } ?? records
        return NameIndex(
            models: models.values.map { ($0.config, recovered == nil ? $0.evidenced : !$0.adoptedFromGateway) },
            entries: config?.overrides ?? [], gatewayAdopted: Set(records.filter { $0.value.adoptedFromGateway }.keys))
    }

    /// Reads back the last exported values (restart recovery). Until it succeeds no tick decides.
    /// A value that cannot be a replica count (negative, huge, not finite) is ignored and logged:
    /// that model starts without a previous recommendation, and so is never taken to zero before a
    /// full retention of fresh evidence.
    public func recover(
        _ result: Result<[ModelKey: Double], PrometheusError>,
        wakePaths: Result<[ModelKey: Double], PrometheusError> = .success([:]),
        revoked: Result<[ModelKey: Double], PrometheusError> = .success([:]),
        adopted: Result<[ModelKey: Double], PrometheusError> = .success([:]),
        gatewayAnswered: Result<GatewayReadUpTo, PrometheusError> = .success(GatewayReadUpTo()), now: Instant
    ) {
        // The wake paths are part of the recovery: without them every idle model would be held at
        // `no_wake_path` until the gateway routed it again. So is how far the last process read the
        // gateway (the first answer reads back from there). Any read failing: retried next tick.
        let all: Result<([ModelKey: Double], [ModelKey: Double], [ModelKey: Double], [ModelKey: Double]), PrometheusError> = result.flatMap { values in
            wakePaths.flatMap { seen in revoked.flatMap { gone in adopted.flatMap { flags in gatewayAnswered.map { _ in (values, seen, gone, flags) } } } }
        }
        switch all {
        case .success(let (values, seen, revokedAt, adoptedFromLabel)):
            var restored = 0
            for (key, value) in values {
                touch(key)
                guard value.isFinite, value >= 0, value <= Self.maxRecoverableReplicas else {
                    logger.warning("recovered value is not a replica count; ignored", metadata: [
                        "model": "\(key.modelID)", "namespace": "\(key.namespace)", "value": "\(value)"])
                    continue
                }
                records[key]!.state.desired = Int(value.rounded())
                // A model we had taken to zero ran somewhere real (a replica reported idle there);
                // a model invented by a wake call or a gateway's namespace never reaches zero.
                if value == 0 { records[key]!.evidenced = true }
                restored += 1
            }
            for (key, seconds) in seen where seconds.isFinite && seconds > 0 && seconds <= now.seconds {
                if let gone = revokedAt[key], gone.isFinite, gone >= seconds { continue }  // revoked since
                records[key]?.state.gatewaySeenAt = Instant(seconds: seconds)
            }
            // Still adopted from a gateway's label alone when the last process exported it: no
            // candidate for a wake path (a shared gateway's own namespace), until evidenced.
            for (key, flag) in adoptedFromLabel where flag == 1 {
                if let record = records[key], !record.evidenced { record.adoptedFromGateway = true }
            }
            // The sightings just read back were proven by the last process against the models it
            // knew, those it exported (evidenced then, unless adopted from a gateway's label): they
            // are what a rival is new against — not an empty inventory, nor one with the models
            // configured or woken since.
            recoveredKnown = Set(values.keys.filter { records[$0].map { !$0.adoptedFromGateway } ?? false })
            rivalBaseline = buildNames(recovered: Set(values.keys))
            names = nil
            recovered = true
            metrics.recoveredModels = restored
            logger.info("recovered last recommendations", metadata: ["models": "\(restored)"])
        case .failure(let error):
            metrics.queryErrors[Signal.recovery, default: 0] += 1
            logger.warning("recovery query failed; decisions wait for it", metadata: ["error": "\(error)"])
        }
        metrics.queries[Signal.recovery, default: 0] += 1
    }

    /// The largest recovered value taken as a replica count.
    static let maxRecoverableReplicas = 100_000.0

    // MARK: - Ticks

    /// Whether a tick decides (the configuration is loaded and recovery is done): answers
    /// collected while it does not are read again once it does.
    public var decides: Bool { config != nil && recovered }

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
        guard decides else { return }
        metrics.gatewayReadUpTo = fleet.gatewayReadUpTo

        let elapsed = lastTickAt.map { max(0, now.since($0)) } ?? 0
        adoptConfiguredModels()
        // Models with vLLM series first (evidence of where a model runs), then gateway series,
        // which are attributed to those before anything is adopted from a gateway's namespace.
        var signals = fleet.attributed(nameIndex(now: now))
        let served = signals.seenModels
        if !served.isSubset(of: records.keys) { namesStale = true }
        for key in served { touch(key, evidenced: true) }
        if namesStale { signals = fleet.attributed(nameIndex(now: now)) }
        let routed = Self.keys(signals.demand).union(Self.keys(signals.gatewayRequests))
        if !routed.isSubset(of: records.keys) {
            for key in routed where records[key] == nil {
                touch(key)
                records[key]?.adoptedFromGateway = true
            }
            for key in routed { touch(key) }
            namesStale = true
            signals = fleet.attributed(nameIndex(now: now))
        } else {
            for key in routed { touch(key) }
        }
        // A gateway series keeps the models of its name known (spec §5: seen in demand signals;
        // those of its label's namespace, else every one of that name) even when its demand goes
        // to the same id evidenced elsewhere (a model recovered at ≥ 1 whose pods' scrapes fail)
        // — unless this process adopted the model from such a label or a wake call alone (a
        // shared gateway's own namespace, a mistaken call).
        let named = signals.gatewayNamed.filter { key in
            records[key].map { !$0.adoptedFromGateway && !wakeAdopted.contains(key) } ?? false
        }
        for key in named { touch(key) }
        let seen = served.union(routed).union(named)
        // Forgetting counts only ticks that could see, and never forgets a zero: a zero is a
        // promise to bring the model back on demand — nor a model woken from zero whose replica
        // has not reported yet (its cold start is that promise being kept; its gateway's series
        // may be gone meanwhile, and its pods have none before they are ready).
        if fleet.complete {
            let configured = configuredKeys()
            for (key, record) in records where !seen.contains(key) && !configured.contains(key) {
                record.unseenSeconds += elapsed
                guard record.unseenSeconds > options.forgetAfterSeconds, record.state.desired != 0, record.decision?.desired != 0,
                    record.state.coldStartSince == nil else { continue }
                records[key] = nil
                recoveredKnown.remove(key)
                exportGeneration += 1
                inventoryChanged = true
                logger.info("model forgotten", metadata: ["model": "\(key.modelID)", "namespace": "\(key.namespace)"])
            }
        }
        decide(sortedModelRecords(), signals: signals, now: now)
        lastTickAt = now
        metrics.ticks += 1
        metrics.tickDuration.observe(duration)
        metrics.lastTickSuccess = now.seconds
    }

    private static func keys(_ result: Result<[ModelKey: Double], PrometheusError>) -> Set<ModelKey> {
        if case .success(let values) = result { return Set(values.keys) }
        return []
    }

    private func configuredKeys() -> Set<ModelKey> {
        Set((config?.overrides ?? []).compactMap { entry in
            entry.namespace.flatMap { ns in entry.modelID.map { ModelKey(namespace: ns, modelID: $0) } }
        })
    }

    /// Known models in label order, re-sorted only when the inventory changed.
    func sortedModelRecords() -> [ModelRecord] {
        if inventoryChanged {
            sortedRecords = records.sorted { $0.key < $1.key }.map(\.value)
            inventoryChanged = false
            namesStale = true
            variantConflicts = Self.findVariantConflicts(sortedRecords)
        }
        return sortedRecords
    }

    /// Models of one namespace whose `variant_name` is the same: consumers selecting that name
    /// would mix two models (`max` of both). Reported, never silently merged.
    static func findVariantConflicts(_ records: [ModelRecord]) -> [String] {
        var byVariant: [String: [String]] = [:]
        for record in records {
            byVariant["\(record.config.model.namespace)/\(record.config.variantName)", default: []].append(record.config.model.modelID)
        }
        return byVariant.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }.map { key, models in
            "variant_name \(key) is derived or set for \(models.count) models (\(models.joined(separator: ", "))): set distinct variant_name values"
        }
    }

    var policy: Policy {
        Policy(
            killSwitch: killSwitch, scaleDownStabilization: options.scaleDownStabilizationSeconds,
            zeroRequiresWakePath: options.zeroRequiresWakePath, wakePathMemory: options.wakePathMemorySeconds)
    }

    private func decide(_ models: [ModelRecord], signals: AttributedSignals?, now: Instant) {
        var inputs: [DecisionInput] = []
        inputs.reserveCapacity(models.count)
        for record in models {
            if let signals { record.signals = signals.signals(for: record.config.model, retention: Self.effectiveRetention(record)) }
            inputs.append(DecisionInput(config: record.config, signals: record.signals, state: record.state, wakeRequested: record.pendingWake))
        }
        let decisions = Recommender.recommend(inputs, policy: policy, now: now)
        for (record, decision) in zip(models, decisions) {
            apply(decision, to: record)
            record.history.record(decision, ready: record.signals.ready, at: now)
        }
    }

    private func apply(_ decision: Decision, to record: ModelRecord) {
        let previous = record.decision
        let previousDesired = previous?.desired ?? record.state.desired  // a recovered value counts
        record.record(decision)
        if previous?.desired != decision.desired { exportGeneration += 1 }
        if previous?.desired != decision.desired, let streams = subscribers[record.config.model] {
            for stream in streams.values { stream.yield(decision.desired) }
        }
        if let seconds = decision.coldStartSeconds {
            record.lastColdStartSeconds = seconds
            metrics.coldStarts.observe(seconds)
        }
        metrics.decisions[decision.reason, default: 0] += 1
        if decision.scaledToZero { metrics.scaleToZeroEvents += 1 }
        if decision.woke { metrics.wakeEvents += 1 }
        if decision.woke && decision.reason == .prewarm { metrics.prewarms += 1 }
        if previous?.desired != decision.desired || previous?.reason != decision.reason {
            let key = record.config.model
            logger.info("decision changed", metadata: [
                "model": "\(key.modelID)", "namespace": "\(key.namespace)",
                "desired": "\(decision.desired)", "previous": "\(previousDesired.map(String.init) ?? "none")",
                "reason": "\(decision.reason.rawValue)", "state": "\(decision.phase.rawValue)", "detail": "\(decision.detail)",
                // increase() extrapolates: 41.3865 completed requests reads better as 41.4.
                "model_request_count": "\(record.signals.requests.map { ($0 * 10).rounded() / 10 }.map(ExpositionWriter.format) ?? "unknown")",
                "retention": "\(record.config.retention)", "enable_scale_to_zero": "\(record.config.enableScaleToZero)",
                "wake_path": "\(decision.wakePath.rawValue)",
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
            touch(key)
            wakeAdopted.insert(key)
            adopted = true
        }
        let record = records[key]!
        record.pendingWake = true
        record.unseenSeconds = 0
        metrics.wakeCalls += 1
        let desired: Int
        if config != nil, recovered {
            decideNow(record, now: now)
            desired = record.decision?.desired ?? 1
        } else {
            // Before the first tick the wake is remembered and applied by it. Nothing is exported
            // meanwhile: the model's value is not known before recovery (it may be serving on N
            // replicas, and 1 would scale it down), so a crash before the first decision loses the
            // wake, and its caller calls again (docs/integration.md).
            desired = max(record.state.desired ?? 1, record.config.activeFloor)
        }
        guard adopted else { return .woken(desired: desired) }
        let elsewhere = records.keys.filter { $0.modelID == key.modelID && $0 != key }.map(\.namespace).sorted()
        return .adopted(desired: desired, knownNamespaces: elsewhere)
    }

    /// Recomputes `record` (and its group) now, not at the next tick, each record with its last
    /// tick's signals: how a wake call and polled gateway demand reach the decision core.
    private func decideNow(_ record: ModelRecord, now: Instant) {
        var affected = [record]
        if let group = record.config.group {
            let namespace = record.config.model.namespace
            affected = sortedModelRecords().filter { $0.config.group == group && $0.config.model.namespace == namespace }
        }
        decide(affected, signals: nil, now: now)
    }

    /// The endpoint pickers' queue read directly (``GatewayPoller``): a known model recommended 0
    /// with requests queued for it is decided at once, its gateway demand set to the polled queue
    /// (the decision core wakes it, reason `wake`, and keeps it up for its retention like any
    /// wake). Series are attributed exactly as the tick attributes Prometheus' (``NameIndex``).
    /// Nothing else changes: a model above zero, an empty queue or a failed poll moves nothing,
    /// so polled data never moves a model toward zero; no model is adopted from it (the next
    /// tick adopts from Prometheus as usual). Returns the models woken.
    @discardableResult
    public func gatewayPolled(_ outcome: GatewayPollOutcome, now: Instant) -> [ModelKey] {
        metrics.gatewayPolls += outcome.targets
        metrics.gatewayPollErrors += outcome.failures.count
        guard decides, lastTickAt != nil else { return [] }
        let names = nameIndex(now: now)
        var woken: [ModelKey] = []
        let labelled = Set(outcome.queued.keys.filter { $0.namespace != nil })
        for (series, queued) in outcome.queued where queued > 0 {
            for key in names.models(routedAs: series, labelled: labelled) {
                guard let record = records[key], (record.decision?.desired ?? record.state.desired) == 0 else { continue }
                record.signals.demand = max(record.signals.demand ?? 0, queued)
                decideNow(record, now: now)
                if (record.decision?.desired ?? 0) > 0 { woken.append(key) }
            }
        }
        metrics.gatewayPollWakes += woken.count
        for key in woken {
            logger.info("woken by polled gateway demand", metadata: ["model": "\(key.modelID)", "namespace": "\(key.namespace)"])
        }
        return woken
    }

    /// Counts a wake call refused before it reached the engine (token, rate, path).
    public func rejectWake(_ reason: WakeRejection) {
        metrics.wakeRejected[reason, default: 0] += 1
    }

    // MARK: - Subscriptions

    /// The recommendation of `key` as it changes: the current one first (when the model has been
    /// decided), then every new value the moment a tick, a wake call or polled gateway demand
    /// decides it. The stream keeps the newest values if its reader falls behind; it ends when the
    /// reader stops reading (cancellation).
    public func recommendations(of key: ModelKey) -> AsyncStream<Int> {
        let (stream, continuation) = AsyncStream<Int>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let id = nextSubscription
        nextSubscription += 1
        subscribers[key, default: [:]][id] = continuation
        if let desired = records[key]?.decision?.desired { continuation.yield(desired) }
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(key, id) }
        }
        return stream
    }

    private func unsubscribe(_ key: ModelKey, _ id: Int) {
        subscribers[key]?[id] = nil
        if subscribers[key]?.isEmpty == true { subscribers[key] = nil }
    }

    /// Ends every subscription (graceful shutdown: readers see their stream finish).
    public func endSubscriptions() {
        for streams in subscribers.values { for stream in streams.values { stream.finish() } }
        subscribers = [:]
    }

    /// The number of open subscriptions (``recommendations(of:)``).
    public var subscriptionCount: Int { subscribers.values.reduce(0) { $0 + $1.count } }

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
        detail += variantConflicts.map { "exposition: \($0)" }
        let blocked = records.values.filter { $0.decision?.reason == .noWakePath }.count
        if blocked > 0 { detail.append("wake path: \(blocked) idle model(s) held at ≥ 1 with no wake path (see /api/v1/recommendations)") }
        return (ready, detail)
    }

    /// Whether the model is known (configured, seen, adopted or recovered).
    public func knows(_ key: ModelKey) -> Bool { records[key] != nil }

    /// `/metrics` as a scrape reads it: the page, and the scrape marked as having read every
    /// change so far.
    func renderMetricsForScrape() -> ExpositionWriter {
        scrapedGeneration = exportGeneration
        return renderMetricsBytes()
    }

    /// Whether a scrape has read the last change of the exported recommendations.
    public var lastChangeScraped: Bool { scrapedGeneration >= exportGeneration }

    /// The current decision of one model, if any.
    public func decision(for key: ModelKey) -> Decision? { records[key]?.decision }

    /// The number of known models.
    public var modelCount: Int { records.count }
}
