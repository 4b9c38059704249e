import Foundation
import ModelConfig
import PrometheusClient
import Recommendation
import Synchronization

/// One tick's answers from Prometheus for every model: per signal either the values by series
/// identity or the error that made it unknown. A partial answer is an error (spec §4).
public struct FleetSignals: Sendable {
    /// Completed requests by retention period.
    public var requests: [ConfigDuration: Result<[ModelKey: Double], PrometheusError>] = [:]
    /// In-pod running requests.
    public var running: Result<[ModelKey: Double], PrometheusError>
    /// In-pod queued requests.
    public var waiting: Result<[ModelKey: Double], PrometheusError>
    /// Ready replicas.
    public var ready: Result<[ModelKey: Double], PrometheusError>
    /// KV-cache usage.
    public var kvCache: Result<[ModelKey: Double], PrometheusError>
    /// Gateway queue by target.
    public var demand: Result<[GatewayKey: Double], PrometheusError>
    /// Gateway request counter by target.
    public var gatewayRequests: Result<[GatewayKey: Double], PrometheusError>
    /// Per retention period, how many samples the requests window holds per model (when the
    /// requests query answers them, see `QueryTemplates.requests`).
    public var requestsWindowSamples: [ConfigDuration: [ModelKey: Double]] = [:]
    /// Per retention period, the request counters reset inside the window per model (a container
    /// restarted), when the requests query answers them.
    public var requestsWindowResets: [ConfigDuration: [ModelKey: Double]] = [:]
    /// Per retention period, request-counter series that ended inside the window per model.
    public var requestsWindowEnded: [ConfigDuration: [ModelKey: Double]] = [:]
    /// Gateway targets whose request count this tick only a read back over a blind stretch
    /// counted, with the seconds that read covered.
    public var gatewayRequestsReadBack: [GatewayKey: Double] = [:]
    /// Requests the gateway rejected since its last answer, by target: the rise of its error
    /// counters (or the value of one born since).
    public var gatewayRejections: [GatewayKey: Double] = [:]
    /// Up to when the gateway's request counters and its queue were read, by this process or
    /// (before its first answer) the last one (exported for restart recovery).
    public var gatewayReadUpTo = GatewayReadUpTo()
    /// The gateway request-counter query's window, in seconds (0: unknown).
    public var gatewayWindowSeconds: Double = 0
    /// The vLLM pods' scrape interval in seconds (0: unknown, the window's coverage is not checked).
    public var scrapeInterval: Double = 0

    /// Creates a tick's answers.
    public init(
        requests: [ConfigDuration: Result<[ModelKey: Double], PrometheusError>] = [:],
        running: Result<[ModelKey: Double], PrometheusError>, waiting: Result<[ModelKey: Double], PrometheusError>,
        ready: Result<[ModelKey: Double], PrometheusError>, kvCache: Result<[ModelKey: Double], PrometheusError>,
        demand: Result<[GatewayKey: Double], PrometheusError>,
        gatewayRequests: Result<[GatewayKey: Double], PrometheusError> = .success([:])
    ) {
        self.requests = requests
        self.running = running
        self.waiting = waiting
        self.ready = ready
        self.kvCache = kvCache
        self.demand = demand
        self.gatewayRequests = gatewayRequests
    }

    /// A tick where nothing is known (every query failed with `error`).
    public static func unknown(_ error: PrometheusError) -> FleetSignals {
        FleetSignals(
            running: .failure(error), waiting: .failure(error), ready: .failure(error), kvCache: .failure(error),
            demand: .failure(error), gatewayRequests: .failure(error))
    }

    /// Every query of the tick answered completely: only such ticks count toward forgetting.
    public var complete: Bool {
        let results: [Bool] = [running.isSuccess, waiting.isSuccess, ready.isSuccess, kvCache.isSuccess, demand.isSuccess, gatewayRequests.isSuccess]
        return !results.contains(false) && requests.values.allSatisfy(\.isSuccess)
    }

    /// The signals attributed to models (aliases resolved, gateway series assigned to namespaces).
    public func attributed(_ names: NameIndex) -> AttributedSignals {
        func models(_ result: Result<[ModelKey: Double], PrometheusError>) -> Result<[ModelKey: Double], PrometheusError> {
            result.map { values in
                var out: [ModelKey: Double] = [:]
                out.reserveCapacity(values.count)
                for (key, value) in values { out[names.model(reportedAs: key), default: 0] += value }
                return out
            }
        }
        // A gateway series proves a wake path only for the one model it can belong to (see
        // `NameIndex.wakePathProven(by:)`): a series without a namespace for an id known in two
        // namespaces wakes both, proves neither. A series keeps the models of its name known in
        // the inventory, whoever its demand is attributed to: those of the label's namespace, or —
        // with no label, or one naming a namespace where the name is not known (a shared gateway's
        // own) — every known model of that name (spec §4: the known namespaces of the id), a
        // model known only from a recovered recommendation while its pods' scrapes fail included.
        var proven = Set<ModelKey>()
        var named = Set<ModelKey>()
        var labelled = Set<GatewayKey>()
        for result in [demand, gatewayRequests] {
            if case .success(let values) = result { labelled.formUnion(values.keys.filter { $0.namespace != nil }) }
        }
        var routedTo: [GatewayKey: [ModelKey]] = [:]
        func gateway(_ result: Result<[GatewayKey: Double], PrometheusError>) -> Result<[ModelKey: Double], PrometheusError> {
            result.map { values in
                var out: [ModelKey: Double] = [:]
                for (key, value) in values {
                    let models = names.models(routedAs: key, labelled: labelled)
                    routedTo[key] = models
                    if let model = names.wakePathProven(by: key, labelled: labelled) { proven.insert(model) }
                    let inLabel = names.models(labelledAs: key)
                    named.formUnion(inLabel.isEmpty ? names.candidates(named: key.name) : inLabel)
                    for model in models { out[model, default: 0] += value }
                }
                return out
            }
        }
        // kv-cache is an average: attribution of several names to one model keeps the largest.
        let kv = kvCache.map { values in
            var out: [ModelKey: Double] = [:]
            for (key, value) in values { out[names.model(reportedAs: key)] = max(out[names.model(reportedAs: key)] ?? 0, value) }
            return out
        }
        let demandByModel = gateway(demand), requestsByModel = gateway(gatewayRequests)
        let samples = requestsWindowSamples.mapValues { values in
            var out: [ModelKey: Double] = [:]
            for (key, value) in values { out[names.model(reportedAs: key)] = max(out[names.model(reportedAs: key)] ?? 0, value) }
            return out
        }
        // Counts (resets, ended series) of several names of one model add up.
        func summed(_ values: [ModelKey: Double]) -> [ModelKey: Double] {
            var out: [ModelKey: Double] = [:]
            for (key, value) in values { out[names.model(reportedAs: key), default: 0] += value }
            return out
        }
        var attributed = AttributedSignals(
            requests: requests.mapValues(models), running: models(running), waiting: models(waiting), ready: models(ready),
            kvCache: kv, demand: demandByModel, gatewayRequests: requestsByModel, gatewayProven: proven,
            gatewayNamed: named, requestsWindowSamples: samples, scrapeInterval: scrapeInterval)
        attributed.requestsWindowResets = requestsWindowResets.mapValues(summed)
        attributed.requestsWindowEnded = requestsWindowEnded.mapValues(summed)
        // How far back each model's gateway count may reach: the window, when a target counted it
        // in the window; else the longest read back that counted it.
        for (key, value) in gatewayRejections where value > 0 {
            for model in names.models(routedAs: key, labelled: labelled) { attributed.gatewayRejections[model, default: 0] += value }
        }
        if case .success(let values) = gatewayRequests, gatewayWindowSeconds > 0 {
            for (key, value) in values where value > 0 {
                let span = gatewayRequestsReadBack[key] ?? gatewayWindowSeconds
                for model in routedTo[key] ?? [] {
                    attributed.gatewayRequestsSpan[model] = min(attributed.gatewayRequestsSpan[model] ?? .infinity, span)
                }
            }
        }
        return attributed
    }
}

/// A tick's signals keyed by the models they were attributed to.
public struct AttributedSignals: Sendable {
    /// Completed requests by retention period.
    public var requests: [ConfigDuration: Result<[ModelKey: Double], PrometheusError>]
    /// In-pod running requests.
    public var running: Result<[ModelKey: Double], PrometheusError>
    /// In-pod queued requests.
    public var waiting: Result<[ModelKey: Double], PrometheusError>
    /// Ready replicas.
    public var ready: Result<[ModelKey: Double], PrometheusError>
    /// KV-cache usage.
    public var kvCache: Result<[ModelKey: Double], PrometheusError>
    /// Gateway queue.
    public var demand: Result<[ModelKey: Double], PrometheusError>
    /// Gateway request counter.
    public var gatewayRequests: Result<[ModelKey: Double], PrometheusError>
    /// Models a gateway series was attributed to unambiguously (a wake path).
    public var gatewayProven: Set<ModelKey>
    /// Known models a gateway series names (a source that keeps them known, even when the series'
    /// demand is attributed to the same id elsewhere): those of its label's namespace, else every
    /// known model of its name.
    public var gatewayNamed: Set<ModelKey> = []
    /// Per retention period, samples the requests window holds per model.
    public var requestsWindowSamples: [ConfigDuration: [ModelKey: Double]] = [:]
    /// Per retention period, request-counter resets inside the window per model.
    public var requestsWindowResets: [ConfigDuration: [ModelKey: Double]] = [:]
    /// Per retention period, request-counter series that ended inside the window per model.
    public var requestsWindowEnded: [ConfigDuration: [ModelKey: Double]] = [:]
    /// Per model, how far back (seconds) the requests its gateway count holds may lie.
    public var gatewayRequestsSpan: [ModelKey: Double] = [:]
    /// Per model, requests the gateway rejected since its last answer.
    public var gatewayRejections: [ModelKey: Double] = [:]
    /// The vLLM pods' scrape interval in seconds (0: unknown).
    public var scrapeInterval: Double = 0

    /// The signals of one model. Absent from a complete result is 0; a failed or partial query, a
    /// retention that was not queried, NaN and ±Inf are unknown (nil). A model with a replica
    /// reporting but no request-counter series has unknown requests: a broken query or a window
    /// shorter than two scrapes, not "no requests".
    public func signals(for key: ModelKey, retention: ConfigDuration) -> ModelSignals {
        func value(_ result: Result<[ModelKey: Double], PrometheusError>?) -> Double? {
            guard case .success(let values)? = result else { return nil }
            let value = values[key] ?? 0
            return value.isFinite ? value : nil
        }
        let ready = value(ready)
        var requestsValue = value(requests[retention])
        if case .success(let values)? = requests[retention], values[key] == nil, (ready ?? 0) >= 1 { requestsValue = nil }
        var windowSeconds: Double?
        if let samples = requestsWindowSamples[retention]?[key], scrapeInterval > 0 { windowSeconds = samples * scrapeInterval }
        let seen = gatewayProven.contains(key)
        var signals = ModelSignals(
            requests: requestsValue, running: value(running), waiting: value(waiting), ready: ready,
            kvCacheUsage: value(kvCache), demand: value(demand), gatewayRequests: value(gatewayRequests), gatewaySeen: seen)
        signals.requestsWindowSeconds = windowSeconds
        signals.requestsWindowReset = (requestsWindowResets[retention]?[key] ?? 0) > 0
        signals.requestsWindowEnded = (requestsWindowEnded[retention]?[key] ?? 0) > 0
        signals.gatewayRequestsSpan = gatewayRequestsSpan[key]
        signals.gatewayRejections = gatewayRejections[key]
        return signals
    }

    /// Models with at least one vLLM series this tick.
    public var seenModels: Set<ModelKey> {
        var keys = Set<ModelKey>()
        for result in [running, waiting, ready, kvCache] + Array(requests.values) {
            if case .success(let values) = result { keys.formUnion(values.keys) }
        }
        return keys
    }
}

/// Maps the names series carry to the models they count for: a model's id, its `aliases`
/// (served names, LoRA adapters, gateway target names), in its namespace.
///
/// Gateway series are attributed per spec §4: the series' `namespace` label when the model is
/// known there, then the known namespaces of the id or alias, then the series' namespace label;
/// never a namespace nobody configured or saw (a series with no namespace label for a model known
/// nowhere is unattributed).
public struct NameIndex: Sendable {
    /// Names (ids and aliases) of known models with evidence of where they run → their keys.
    private var known: [String: [ModelKey]] = [:]
    /// Names of known models adopted without such evidence (a wake call, a gateway's namespace).
    private var weak: [String: [ModelKey]] = [:]
    /// Aliases of namespace-scoped entries: (namespace, alias) → model id.
    private var scopedAliases: [ModelKey: String] = [:]
    /// Aliases of entries for every namespace: alias → model id.
    private var anyNamespaceAliases: [String: String] = [:]
    /// Models adopted from a gateway series' namespace label alone (a shared gateway's own
    /// namespace once the id is evidenced elsewhere): no candidate for a wake path, no rival.
    private var gatewayAdopted: Set<ModelKey> = []
    /// Every name (id and aliases) each known model answers to.
    private var namesOf: [ModelKey: Set<String>] = [:]

    /// An index knowing nothing: every name is its own model.
    public init() {}

    /// Builds the index from the known models' resolved configurations (and whether each is
    /// evidenced: configured in its namespace or seen in vLLM series) and the ConfigMap's entries.
    public init(models: [(config: ResolvedModelConfig, evidenced: Bool)], entries: [ModelEntry], gatewayAdopted: Set<ModelKey> = []) {
        self.gatewayAdopted = gatewayAdopted
        for (config, evidenced) in models {
            namesOf[config.model, default: []].formUnion([config.model.modelID] + config.aliases)
            for name in Set([config.model.modelID] + config.aliases) {
                if evidenced { known[name, default: []].append(config.model) } else { weak[name, default: []].append(config.model) }
            }
        }
        for name in known.keys { known[name]!.sort() }
        for name in weak.keys { weak[name]!.sort() }
        for entry in entries {
            guard let modelID = entry.modelID, let aliases = entry.settings.aliases else { continue }
            for alias in aliases {
                if let namespace = entry.namespace {
                    scopedAliases[ModelKey(namespace: namespace, modelID: alias)] = modelID
                } else {
                    anyNamespaceAliases[alias] = modelID
                }
            }
        }
    }

    /// The model a vLLM series (namespace, model_name) counts for: the model of that id or alias
    /// in that namespace (its own id first), else the series' own name.
    public func model(reportedAs key: ModelKey) -> ModelKey {
        if let keys = known[key.modelID] ?? weak[key.modelID] {
            if keys.contains(key) { return key }
            if let match = keys.first(where: { $0.namespace == key.namespace }) { return match }
        }
        if let modelID = scopedAliases[key] ?? anyNamespaceAliases[key.modelID] {
            return ModelKey(namespace: key.namespace, modelID: modelID)
        }
        return key
    }

    /// The models a gateway series counts for, most certain first (spec §4: the series' namespace
    /// label first): evidenced in the series' namespace; a scoped alias there; when every model of
    /// the name known elsewhere has a series of its own namespace's label (under any of its
    /// names) among `labelled` (the labelled series answered this tick) — gateways per namespace,
    /// each labelling its series with its model's namespace, account for them all — the model of
    /// that name in the label's namespace, known or adopted now (its pods may not report yet).
    /// Otherwise the label may be a shared gateway's own namespace (which may run a model of its
    /// own): evidenced anywhere; known without evidence in the namespace, then anywhere (records
    /// adopted from a gateway's label alone last); else the model adopted there. A series with no
    /// namespace for a name known nowhere: none.
    public func models(routedAs key: GatewayKey, labelled: Set<GatewayKey> = []) -> [ModelKey] {
        let strong = known[key.name] ?? [], unsure = weak[key.name] ?? []
        guard let namespace = key.namespace else { return strong.isEmpty ? unsure : strong }
        let strongHere = strong.filter { $0.namespace == namespace }
        if !strongHere.isEmpty { return strongHere }
        if let modelID = scopedAliases[ModelKey(namespace: namespace, modelID: key.name)] {
            return [ModelKey(namespace: namespace, modelID: modelID)]
        }
        let elsewhere = (strong + unsure).filter { $0.namespace != namespace && !gatewayAdopted.contains($0) }
        let ownSeries = { (model: ModelKey) in (self.namesOf[model] ?? []).contains { labelled.contains(GatewayKey(namespace: model.namespace, name: $0)) } }
        if !elsewhere.isEmpty, elsewhere.allSatisfy(ownSeries) {
            let here = unsure.filter { $0.namespace == namespace }
            let known = here.filter { !gatewayAdopted.contains($0) }
            if !known.isEmpty { return known }
            return here.isEmpty ? [ModelKey(namespace: namespace, modelID: anyNamespaceAliases[key.name] ?? key.name)] : here
        }
        if !strong.isEmpty { return strong }
        // A record adopted from such a label alone stands for "routed, place unknown": any other
        // record of the name (recovered, woken) is likelier the model's.
        let adopted = unsure.filter { gatewayAdopted.contains($0) }, other = unsure.filter { !gatewayAdopted.contains($0) }
        let otherHere = other.filter { $0.namespace == namespace }
        if !otherHere.isEmpty { return otherHere }
        if !other.isEmpty { return other }
        let adoptedHere = adopted.filter { $0.namespace == namespace }
        if !adoptedHere.isEmpty { return adoptedHere }
        if !adopted.isEmpty { return adopted }
        return [ModelKey(namespace: namespace, modelID: anyNamespaceAliases[key.name] ?? key.name)]
    }

    /// Every known model (evidenced or not) answering to `name`.
    func everyModel(named name: String) -> [ModelKey] { (known[name] ?? []) + (weak[name] ?? []) }

    /// The models a series of `name` could belong to: every known one but those adopted from a
    /// gateway's label alone.
    func candidates(named name: String) -> [ModelKey] { everyModel(named: name).filter { !gatewayAdopted.contains($0) } }

    /// The known models a labelled gateway series names in its own namespace (none without a label).
    public func models(labelledAs key: GatewayKey) -> [ModelKey] {
        guard let namespace = key.namespace else { return [] }
        return everyModel(named: key.name).filter { $0.namespace == namespace }
    }

    /// The model a gateway series proves a wake path for (spec §5: the gateway has been seen
    /// routing *the model*), nil when it could belong to more than one. The candidates are the
    /// known models of that name (or alias), evidenced or not (but not adopted from a gateway's
    /// label alone): with a namespace label, those known
    /// in that namespace, or — when none is (a shared gateway's own namespace) — those known
    /// anywhere; without a label, those known anywhere. The series proves a path only when there
    /// is exactly one candidate and the series' demand is attributed to it alone. A label naming
    /// a namespace where the id is known therefore never proves a path for the same id elsewhere,
    /// even when its demand goes there (the model in the label's namespace may be known only
    /// from a recovered recommendation while its pods' scrapes fail).
    public func wakePathProven(by key: GatewayKey, labelled: Set<GatewayKey> = []) -> ModelKey? {
        let all = candidates(named: key.name)
        let here = key.namespace.map { namespace in all.filter { $0.namespace == namespace } } ?? []
        let candidates = here.isEmpty ? all : here
        guard candidates.count == 1, models(routedAs: key, labelled: labelled) == candidates else { return nil }
        return candidates[0]
    }

    /// Models whose remembered gateway sightings no longer prove anything: every model answering
    /// to a name that another model started answering to since `old` (a model of the same id
    /// discovered in another namespace, a new alias, a model now evidenced), when the name has
    /// more than one model. A sighting was judged against the models known when it was made; a
    /// series attributed to the only model of its name then may belong to a model discovered
    /// later (its pods scraped after the gateway's first series, or recovered after a restart),
    /// so the sighting is dropped and the current series prove again what they still prove.
    /// `old == nil` (the first index of a process) drops the recovered sightings of shared names.
    /// `alsoKnown`: models evidenced before `old` too (those the last process exported, for the
    /// sightings it proved): one evidenced now is no new rival.
    public func modelsWithNewRivals(since old: NameIndex?, alsoKnown: Set<ModelKey> = []) -> Set<ModelKey> {
        var rivalled = Set<ModelKey>()
        for name in Set(known.keys).union(weak.keys) {
            let now = Set(candidates(named: name))
            guard now.count > 1 else { continue }
            let before = Set(old?.candidates(named: name) ?? [])
            let strongBefore = Set(old?.known[name] ?? []).union(alsoKnown.intersection(before))
            if !now.isSubset(of: before) || !Set(known[name] ?? []).isSubset(of: strongBefore) { rivalled.formUnion(now) }
        }
        return rivalled
    }
}

/// Runs the signal queries of one tick concurrently: one per signal, plus one per distinct
/// retention period, never one per model.
public struct SignalCollector: Sendable {
    /// The client.
    public let client: PrometheusClient
    /// The queries.
    public let queries: QueryBuilder
    /// When each gateway target's request counter was last answered, for the catch-up read after
    /// a blind stretch (see ``GatewaySightings``).
    let sightings = GatewaySightings()

    /// Creates a collector.
    /// The store evaluates a query when it receives it (Prometheus without `time`): a read pinned
    /// to a past moment by `offset` adds the time since the tick began. Off for a store that
    /// evaluates every query of a tick at the tick's time (the fault simulation's).
    public var evaluatesAtReceipt = true

    public init(client: PrometheusClient, queries: QueryBuilder) {
        self.client = client
        self.queries = queries
    }

    /// The tick's answers were not used (no decision before restart recovery): the gateway's
    /// counters are read again over this stretch once they are.
    public func answersDiscarded() { sightings.discardLast() }

    /// One query's outcome, for the service's own metrics.
    public struct QueryOutcome: Sendable {
        /// Which signal.
        public let signal: Signal
        /// The error, nil on success.
        public let error: PrometheusError?
    }

    /// Collects every signal; `retentions` are the distinct retention periods in use, `now` the
    /// tick's time (the wall clock when nil), which dates the gateway sightings.
    public func collect(retentions: Set<ConfigDuration>, now: Instant? = nil) async -> (FleetSignals, [QueryOutcome]) {
        let started = ContinuousClock.now
        async let running = byModel(.running)
        async let waiting = byModel(.waiting)
        async let ready = byModel(.ready)
        async let kv = byModel(.kvCache)
        async let demand = byTarget(.demand)
        async let gatewayRequests = targets(.gatewayRequests)
        let answers = await withTaskGroup(of: (ConfigDuration, RequestsWindow).self) { group in
            for retention in retentions {
                group.addTask { (retention, await self.requestsWindow(retention)) }
            }
            var results: [(ConfigDuration, RequestsWindow)] = []
            for await answer in group { results.append(answer) }
            return results
        }
        var requests: [ConfigDuration: Result<[ModelKey: Double], PrometheusError>] = [:]
        var samples: [ConfigDuration: [ModelKey: Double]] = [:], resets: [ConfigDuration: [ModelKey: Double]] = [:]
        var ended: [ConfigDuration: [ModelKey: Double]] = [:]
        for (retention, window) in answers {
            requests[retention] = window.values
            if !window.samples.isEmpty { samples[retention] = window.samples }
            if !window.resets.isEmpty { resets[retention] = window.resets }
            if !window.ended.isEmpty { ended[retention] = window.ended }
        }
        // A process's first answer reads back over the shortest retention in use: what a gateway
        // counted while no recommender was looking (a restart) is demand — a model at zero went
        // there at least that long after its last request, so a rise since came after the zero.
        // Exactly that long: the read adds three scrapes to a blind stretch, and those could hold
        // the sample before the last request's rise (a wake for a request served before the zero).
        let scrapes = 3 * max(queries.scrapeInterval.seconds, 1)
        let firstCatchUp = retentions.map(\.seconds).min().map { max($0 - scrapes, 0.001) }
        var extra: [QueryOutcome] = []
        let at = now ?? Instant(seconds: Date().timeIntervalSince1970)
        let (caughtUp, blind, readBack, rejections) = await catchUp(
            await gatewayRequests, now: at, firstCatchUp: firstCatchUp, started: started, outcomes: &extra)
        let caughtUpDemand = await catchUpDemand(await demand, now: at, counterBlind: blind, firstCatchUp: firstCatchUp, outcomes: &extra)
        var fleet = FleetSignals(
            requests: requests, running: await running, waiting: await waiting, ready: await ready,
            kvCache: await kv, demand: caughtUpDemand, gatewayRequests: caughtUp)
        fleet.requestsWindowSamples = samples
        fleet.requestsWindowResets = resets
        fleet.requestsWindowEnded = ended
        fleet.gatewayRequestsReadBack = readBack
        fleet.gatewayRejections = rejections
        fleet.gatewayReadUpTo = sightings.readUpTo
        fleet.gatewayWindowSeconds = queries.gatewayWindow.seconds
        fleet.scrapeInterval = queries.scrapeInterval.seconds
        var outcomes = requests.values.map { QueryOutcome(signal: .requests, error: $0.failure) }
        outcomes += [
            QueryOutcome(signal: .running, error: fleet.running.failure),
            QueryOutcome(signal: .waiting, error: fleet.waiting.failure),
            QueryOutcome(signal: .ready, error: fleet.ready.failure),
            QueryOutcome(signal: .kvCache, error: fleet.kvCache.failure),
            QueryOutcome(signal: .demand, error: fleet.demand.failure),
            QueryOutcome(signal: .gatewayRequests, error: fleet.gatewayRequests.failure),
        ] + extra
        return (fleet, outcomes)
    }

    /// Reads back this service's recommendation per model: the current one where a running replica
    /// exports it, else the last within `window` (a restarted pod's series are stale: the latest
    /// value wins over an older pod's).
    public func recover(window: ConfigDuration) async -> Result<[ModelKey: Double], PrometheusError> {
        let past = await byModel(.recovery, range: window)
        guard case .success(var values) = past else { return past }
        switch await byModel(query: queries.recoveryCurrentQuery()) {
        case .success(let current):
            for (key, value) in current { values[key] = value }
            return .success(values)
        case .failure(let error):
            return .failure(error)
        }
    }

    /// Reads back up to when the last process had read the gateway's request counters and its
    /// queue (label `signal`: `gateway_requests`, `demand`; the latest over this service's
    /// replicas, within `window`); nil for one no replica exported. A value later than `now` (a
    /// replica's clock ahead, a corrupt sample) says nothing of how far that replica read: it is
    /// dropped before the latest is taken, and when no other is left the whole hour is read back.
    public func recoverGatewayAnswered(window: ConfigDuration, now: Instant) async -> Result<GatewayReadUpTo, PrometheusError> {
        do {
            let samples = try await client.query(queries.query(.recoveryGatewayAnswered, range: window))
            func latest(_ signal: Signal) -> Double? {
                // A series without the label (one time for both) counts for both.
                let values = samples.filter { ($0.labels["signal"] ?? signal.rawValue) == signal.rawValue }.map(\.value).filter { $0.isFinite && $0 > 0 }
                if let latest = values.filter({ $0 <= now.seconds }).max() { return latest }
                return values.isEmpty ? nil : now.seconds - GatewaySightings.longestCatchUp
            }
            return .success(GatewayReadUpTo(counters: latest(.gatewayRequests), queue: latest(.demand)))
        } catch {
            return .failure(error)
        }
    }

    /// Restart recovery read `readUpTo` (see ``recoverGatewayAnswered(window:now:)``): this
    /// process's first answer reads the counters and the queue back from there.
    public func gatewayAnsweredRecovered(_ readUpTo: GatewayReadUpTo) { sightings.recovered(readUpTo) }

    /// One requests query's answer.
    struct RequestsWindow: Sendable {
        /// Completed requests per model.
        var values: Result<[ModelKey: Double], PrometheusError>
        /// Samples the window holds per model (when the template answers them).
        var samples: [ModelKey: Double] = [:]
        /// Counter resets inside the window per model.
        var resets: [ModelKey: Double] = [:]
        /// Counter series that ended inside the window per model.
        var ended: [ModelKey: Double] = [:]
    }

    /// One requests query: the completed requests per model and, when the template answers them,
    /// the samples its window holds, the resets and the ended series in it per model.
    func requestsWindow(_ retention: ConfigDuration) async -> RequestsWindow {
        do {
            let answer = try await client.query(queries.query(.requests, range: retention))
            var window = RequestsWindow(values: .success([:]))
            var values: [ModelKey: Double] = [:]
            for sample in answer {
                guard let model = sample.labels["model_name"] else { continue }
                let key = ModelKey(namespace: sample.labels["namespace"] ?? "", modelID: model)
                if sample.labels[QueryTemplates.windowSamplesLabel] != nil {
                    window.samples[key] = max(window.samples[key] ?? 0, sample.value)
                } else if sample.labels[QueryTemplates.windowResetsLabel] != nil {
                    window.resets[key, default: 0] += sample.value.isFinite ? sample.value : 1
                } else if sample.labels[QueryTemplates.windowEndedLabel] != nil {
                    window.ended[key, default: 0] += sample.value.isFinite ? sample.value : 1
                } else {
                    values[key, default: 0] += sample.value
                }
            }
            window.values = .success(values)
            return window
        } catch {
            return RequestsWindow(values: .failure(error))
        }
    }

    /// Reads back when the gateway was last seen routing each model, over `window`.
    public func recoverWakePaths(window: ConfigDuration) async -> Result<[ModelKey: Double], PrometheusError> {
        await byModel(.recoveryWakePath, range: window)
    }

    /// Reads back when a sighting of each model was last revoked, over `window`.
    public func recoverWakePathRevocations(window: ConfigDuration) async -> Result<[ModelKey: Double], PrometheusError> {
        await byModel(.recoveryWakePathRevoked, range: window)
    }

    /// Reads back which records were adopted from a gateway's namespace label alone (1) or have
    /// been evidenced since (0), over `window`.
    public func recoverAdopted(window: ConfigDuration) async -> Result<[ModelKey: Double], PrometheusError> {
        await byModel(.recoveryAdopted, range: window)
    }

    func byModel(_ signal: Signal, range: ConfigDuration? = nil) async -> Result<[ModelKey: Double], PrometheusError> {
        await byModel(query: queries.query(signal, range: range))
    }

    func byModel(query: String) async -> Result<[ModelKey: Double], PrometheusError> {
        do {
            let samples = try await client.query(query)
            var values: [ModelKey: Double] = [:]
            values.reserveCapacity(samples.count)
            for sample in samples {
                guard let model = sample.labels["model_name"] else { continue }
                let key = ModelKey(namespace: sample.labels["namespace"] ?? "", modelID: model)
                values[key, default: 0] += sample.value
            }
            return .success(values)
        } catch {
            return .failure(error)
        }
    }

    /// The gateway request counters after a blind stretch. The counter is read as an increase over
    /// three scrapes, which needs two samples inside that window: when a gateway's scrapes fail
    /// (or its series go missing) while a request for a model at zero is rejected, the first
    /// samples after the gap no longer span the increment — the request is counted by nobody and
    /// the wake waits for the client's retry. So a target that answers again after being absent
    /// is read once more over the whole gap (from its last sighting, plus three scrapes, at most
    /// ``GatewaySightings/longestCatchUp``), and the larger of the two reads stands. Only targets
    /// that come back are re-read. A failed answer of the recommender's own counts as an absence of
    /// every target (the gateway went on counting meanwhile, targets absent now included), and a
    /// failed catch-up read is tried again with the next answer. A target the read finds with no
    /// increase was still seen routed (a wake path).
    ///
    /// A target this process has never seen, appearing after its first answer, is a new series:
    /// the gateway creates a target's counter with the first request for it, and `increase` never
    /// counts a series' first value, so that value (the present series' counter) is its count.
    ///
    /// Also returns the recommender's own blind stretch that ended with this answer (seconds), nil
    /// when there was none — or when this answer only lingers over one already read back (see
    /// ``catchUpDemand(_:blind:outcomes:)``) — and the targets whose count only the read back
    /// counted, with the seconds it covered; and the requests rejected since the last answer
    /// (``FleetSignals/gatewayRejections``).
    func catchUp(
        _ answer: Result<GatewayAnswer, PrometheusError>, now: Instant, firstCatchUp: Double? = nil,
        started: ContinuousClock.Instant = .now, outcomes: inout [QueryOutcome]
    ) async -> (Result<[GatewayKey: Double], PrometheusError>, blind: Double?, readBack: [GatewayKey: Double], rejections: [GatewayKey: Double]) {
        guard case .success(let plainAnswer) = answer else {
            sightings.missed()  // the gateway goes on counting while the recommender cannot see
            return (answer.map(\.values), nil, [:], [:])
        }
        // Rejections since the last answer: the rise of each target's error counters (their last
        // values), and below, the value of an error counter born since.
        var rejections = sightings.errorRises(plainAnswer.errors)
        // A rejection whose error counter is born since (or was the baseline): demand and a rejection.
        func countBorn(_ key: GatewayKey, _ value: Double) {
            guard value.isFinite, value > 0 else { return }
            values[key] = max(values[key] ?? 0, value)
            rejections[key] = max(rejections[key] ?? 0, value)
        }
        var values = plainAnswer.values
        let present = Set(plainAnswer.present.keys).union(values.keys)
        let countable = Set(plainAnswer.values.keys)
        let bornSince = sightings.firstAnswerStretch(at: now.seconds, first: firstCatchUp)
        let (gaps, blind, born, fresh) = sightings.gaps(
            present: present, countable: countable, lastValues: plainAnswer.present, at: now.seconds,
            blindAfter: max(queries.gatewayWindow.seconds - max(queries.scrapeInterval.seconds, 0), 0), first: firstCatchUp,
            linger: queries.gatewayWindow.seconds)
        for key in born {
            if let first = plainAnswer.present[key], first.isFinite, first > values[key] ?? 0 { values[key] = first }
        }
        // A target known by its request counter whose error counter is new (the endpoint picker
        // creates it with the first rejection, and `increase` never counts a series' first value):
        // that value is its count — a model at zero whose first requests were rejected.
        for (key, first) in sightings.bornErrors(plainAnswer.errors) { countBorn(key, first) }
        // A first answer's read of the error counters as they were that failed: tried again with
        // each later answer (its counters were the baseline meanwhile), until it succeeds.
        // Only the counters that first answer took as its baseline: one born since was counted then.
        if !bornSince.isFirst, let owed = sightings.bornErrorsOwed(at: now.seconds) {
            let among = plainAnswer.errors.filter { owed.candidates.contains($0.key) }
            if among.isEmpty {
                sightings.bornErrorsRead()
            } else if let keys = await errorsBorn(since: owed.from, now: now, started: started, among: among, outcomes: &outcomes) {
                sightings.bornErrorsRead()
                for key in keys { countBorn(key, among[key] ?? 0) }
            }
        }
        guard let longest = (gaps.values.max()).map({ max($0, blind ?? 0) }) ?? blind else {
            sightings.record(present: present, counted: countable, lastValues: plainAnswer.present, errors: plainAnswer.errors, at: now.seconds)
            return (.success(values), nil, [:], rejections)
        }
        // Back to the sample before the gap: within a gateway window before it was last counted.
        let margin = max(3 * max(queries.scrapeInterval.seconds, 1), queries.gatewayWindow.seconds)
        let seconds = min(longest + margin, GatewaySightings.longestCatchUp)
        guard case .success(let wide) = await targets(.gatewayRequests, range: ConfigDuration(milliseconds: Int64((seconds * 1000).rounded(.up)))) else {
            sightings.missed()  // not recorded: the next answer tries the catch-up again
            return (.success(values), nil, [:], rejections)
        }
        // After the recommender's own blind stretch every target counts, those absent now too (a
        // gateway whose scrapes fail since: what it counted before is in the TSDB). A target with a
        // series in the gap but no increase was still seen routed; one never seen before was born
        // in the gap (its last value counts, as above).
        let bornInGap = blind != nil ? sightings.unseen(wide.present.keys) : []
        var errorsBornInGap = sightings.unseenErrors(wide.errors.keys)
        // A process's first answer: the error counters born since the last process last read the
        // gateway (else since the first read back began) were created by rejections nobody
        // counted — those absent from the gateway's counters as they were then. A failed read is
        // owed: each later answer tries it again.
        if bornSince.isFirst, let stretch = bornSince.seconds, blind != nil, !wide.errors.isEmpty {
            let from = now.seconds - stretch - bornErrorsMargin
            if let born = await errorsBorn(since: from, now: now, started: started, among: wide.errors, outcomes: &outcomes) {
                errorsBornInGap = born
            } else {
                sightings.bornErrorsOwe(from: from, candidates: Set(wide.errors.keys))
            }
        }
        var readBack: [GatewayKey: Double] = [:]
        for (key, last) in wide.present where blind != nil || gaps[key] != nil {
            var bornValue = bornInGap.contains(key) && last.isFinite ? last : 0
            if errorsBornInGap.contains(key), let errors = wide.errors[key], errors.isFinite, errors > 0 {
                bornValue = max(bornValue, errors)
                rejections[key] = max(rejections[key] ?? 0, errors)
            }
            let read = max(values[key] ?? 0, wide.values[key].map { $0.isFinite ? $0 : 0 } ?? 0, bornValue)
            if read > 0, (values[key] ?? 0) == 0 { readBack[key] = seconds }
            values[key] = read
        }
        sightings.record(
            present: present.union(blind != nil ? Set(wide.present.keys) : []), counted: countable.union(gaps.keys),
            lastValues: plainAnswer.present, errors: wide.errors.merging(plainAnswer.errors) { $1 }, at: now.seconds)
        return (.success(values), fresh ? blind : nil, readBack, rejections)
    }

    /// How much further back than where the last process last read the gateway the error counters
    /// are read "as they were": a scrape (a sample stamped before that read may have been
    /// ingested after it). A counter the last process saw born within the margin counts again: a
    /// wake at most. (Not more: a store whose data begins after the moment read cannot tell.)
    var bornErrorsMargin: Double { max(queries.scrapeInterval.seconds, 1) }

    /// The targets of `among` whose error counters did not exist at `since` (Unix seconds) — nil
    /// when the read failed. None when the store held no gateway series then (it cannot tell).
    ///
    /// Prometheus evaluates the read when it receives it, after the tick's other gateway reads,
    /// not at `now`: the offset adds the time since the tick began (`started`), unless
    /// ``evaluatesAtReceipt`` is off (a store that evaluates at the tick's time: the simulation).
    func errorsBorn(
        since: Double, now: Instant, started: ContinuousClock.Instant, among: [GatewayKey: Double], outcomes: inout [QueryOutcome]
    ) async -> Set<GatewayKey>? {
        let elapsed = started.duration(to: .now).components
        let late = evaluatesAtReceipt ? Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18 : 0
        let offset = ConfigDuration(milliseconds: Int64((max(now.seconds + late - since, 0.001) * 1000).rounded(.up)))
        let range = ConfigDuration(milliseconds: Int64(GatewaySightings.longestCatchUp * 1000))
        let read = await targets(.gatewayErrorsBefore, range: range, offset: offset, retries: false)
        outcomes.append(QueryOutcome(signal: .gatewayErrorsBefore, error: read.failure))
        guard case .success(let before) = read else { return nil }
        guard !before.present.isEmpty else { return [] }
        return Set(among.keys.filter { before.errors[$0] == nil })
    }

    /// After a stretch nobody read the queue over: the demand read over it (the largest queue each
    /// target had, ``QueryTemplates/demandCatchUp``) joins the current demand. A queue that formed
    /// while the recommender could not see is demand even when the gateway's series went stale
    /// since (its scrapes fail): the current queue cannot show it — and with flow control a queued
    /// request is in no request counter until it is dispatched, so the queue is its only trace.
    /// The stretch is the queue's own (``GatewaySightings/demandStretch(at:blindAfter:counterBlind:first:)``):
    /// its answers failed, or came farther apart than the demand query's window; the counter's
    /// blind stretch (`counterBlind`); a process's first answer (from where the last process last
    /// read the gateway, else `firstCatchUp`); a read back that failed before (owed until one
    /// succeeds). Read once, with a scrape's margin: the queue is a gauge, so what the last answer
    /// before it saw is no news, and a later sample shows in the current queue (re-reading would
    /// wake a model again and again for the same queue). A failed read leaves the current demand
    /// as it is and is tried again with the next answer.
    func catchUpDemand(
        _ answer: Result<[GatewayKey: Double], PrometheusError>, now: Instant, counterBlind: Double?, firstCatchUp: Double?,
        outcomes: inout [QueryOutcome]
    ) async -> Result<[GatewayKey: Double], PrometheusError> {
        guard case .success(var values) = answer else {
            sightings.demandFailed()
            return answer
        }
        let scrape = max(queries.scrapeInterval.seconds, 1)
        guard let from = sightings.demandStretch(
            at: now.seconds, blindAfter: max(queries.gatewayWindow.seconds - scrape, 0), counterBlind: counterBlind, first: firstCatchUp)
        else {
            sightings.demandRead(at: now.seconds, owed: nil)
            return answer
        }
        let seconds = min(max(now.seconds - from, 0) + scrape, GatewaySightings.longestCatchUp)
        let read = await byTarget(.demandCatchUp, range: ConfigDuration(milliseconds: Int64((seconds * 1000).rounded(.up))))
        outcomes.append(QueryOutcome(signal: .demandCatchUp, error: read.failure))
        guard case .success(let past) = read else {
            sightings.demandRead(at: now.seconds, owed: from)
            return answer
        }
        sightings.demandRead(at: now.seconds, owed: nil)
        for (key, value) in past where value.isFinite && value > 0 { values[key] = max(values[key] ?? 0, value) }
        return .success(values)
    }

    func byTarget(_ signal: Signal, range: ConfigDuration? = nil) async -> Result<[GatewayKey: Double], PrometheusError> {
        await targets(signal, range: range).map(\.values)
    }

    /// One gateway query's answer per target: the values, and the targets named by its presence
    /// series (``QueryTemplates/presentLabel``) with their value (the sum of its current counters:
    /// a rise of any one shows), and of those the error counters' part.
    struct GatewayAnswer: Sendable {
        var values: [GatewayKey: Double]
        var present: [GatewayKey: Double]
        var errors: [GatewayKey: Double] = [:]
    }

    /// One gateway query's answer per target (see ``GatewayAnswer``).
    func targets(
        _ signal: Signal, range: ConfigDuration? = nil, offset: ConfigDuration? = nil, retries: Bool = true
    ) async -> Result<GatewayAnswer, PrometheusError> {
        do {
            let samples = try await (retries ? client : client.withoutRetries()).query(queries.query(signal, range: range, offset: offset))  // the counter's window is the builder's unless given
            var values: [GatewayKey: Double] = [:]
            var present: [GatewayKey: Double] = [:]
            var errors: [GatewayKey: Double] = [:]
            for sample in samples {
                let target = sample.labels["target_model_name"].flatMap { $0.isEmpty ? nil : $0 } ?? sample.labels["model_name"]
                guard let target, !target.isEmpty else { continue }
                let namespace = sample.labels["namespace"].flatMap { $0.isEmpty ? nil : $0 }
                let key = GatewayKey(namespace: namespace, name: target)
                if let kind = sample.labels[QueryTemplates.presentLabel] {
                    present[key, default: 0] += sample.value
                    if kind == QueryTemplates.presentErrors { errors[key, default: 0] += sample.value }
                } else {
                    values[key, default: 0] += sample.value
                }
            }
            return .success(GatewayAnswer(values: values, present: present, errors: errors))
        } catch {
            return .failure(error)
        }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }

    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}

/// When each gateway target was last answered by the request-counter query, and which targets
/// come back after an absence (with how long they were away): missing from the answers (the
/// gateway's scrapes failed), or every target when the recommender's own queries failed (a
/// Prometheus outage, a rejected token) while the gateway went on counting.
final class GatewaySightings: Sendable {
    /// The longest gap a catch-up read spans. The read must start before the gap to see its
    /// increments, so a target away for longer is read over this hour only and what it counted
    /// before the hour's start is missed; a longer read could count requests served before a
    /// model went to zero as demand (a needless wake).
    static let longestCatchUp: Double = 3600

    private struct State {
        var seen: [GatewayKey: Double] = [:]
        var last: Double?
        /// An answer failed since the last one recorded.
        var missed = false
        /// Targets whose sightings were dropped (away for over ``longestCatchUp``): not new.
        var forgotten: Set<GatewayKey> = []
        /// `last` before the last answer was recorded.
        var previousLast: Double?
        /// After a blind stretch, answers until `until` read back from `from` again (see `gaps`).
        var linger: (from: Double, until: Double)?
        /// When each target last had an increase in the answer (its window held two samples, or a
        /// catch-up read counted it), and its counter's last value then.
        var counted: [GatewayKey: (at: Double, value: Double?)] = [:]
        /// Up to when the last process read the counters and the queue (restart recovery): the
        /// first answer of this one reads back from there.
        var recovered = GatewayReadUpTo()
        /// When each target's error counters were last answered (their first value counts once).
        var errorsSeen: [GatewayKey: Double] = [:]
        /// A first answer's read of the error counters as they were failed: from where it reads,
        /// and the targets whose counters that answer took as its baseline.
        var bornErrorsOwed: (from: Double, candidates: Set<GatewayKey>)?
        /// Each target's error counters' last recorded value (their rise is a rejection).
        var errorValues: [GatewayKey: Double] = [:]
        /// Where this process's first answer began reading (nil: no answer yet).
        var start: Double?
        /// The queue: when its answer was last recorded (and the one before), whether one failed
        /// since, and where a read back is owed from (a failed one, retried).
        var demandLast: Double?
        var demandPreviousLast: Double?
        var demandMissed = false
        var demandOwed: Double?
    }

    private let state = Mutex(State())

    /// Restart recovery read up to when the last process read the gateway.
    func recovered(_ readUpTo: GatewayReadUpTo) { state.withLock { $0.recovered = readUpTo } }

    /// Up to when the gateway's request counters and its queue were read, by this process or
    /// (before its first answer) the last one. Exported, for the next process's first answer.
    var readUpTo: GatewayReadUpTo {
        state.withLock { state in
            GatewayReadUpTo(
                // While the first answer's read of the error counters as they were is owed, from
                // where it reads: a next process reads them as they were there.
                counters: [state.bornErrorsOwed?.from, state.last ?? state.recovered.counters ?? state.start].compactMap { $0 }.min(),
                queue: state.demandOwed ?? state.demandLast ?? state.recovered.queue ?? state.start)
        }
    }

    /// Before this process's first answer is recorded: how far back (seconds) nobody read the
    /// gateway — to where the last process last read it, else `first` seconds (at most an hour).
    /// Nil once an answer has been recorded, or when neither is known.
    func firstAnswerStretch(at now: Double, first: Double?) -> (isFirst: Bool, seconds: Double?) {
        state.withLock { state in
            guard state.last == nil else { return (false, nil) }
            let stretch = state.recovered.counters.map { min(now - $0, Self.longestCatchUp) } ?? first
            return (true, stretch.flatMap { $0 > 0 ? $0 : nil })
        }
    }

    /// The first answer's read of the error counters as they were failed: owed from `from`, for
    /// the `candidates` that answer took as its baseline.
    func bornErrorsOwe(from: Double, candidates: Set<GatewayKey>) { state.withLock { $0.bornErrorsOwed = (from, candidates) } }

    /// An owed read of the error counters as they were: from where, for which targets (given up
    /// after an hour).
    func bornErrorsOwed(at now: Double) -> (from: Double, candidates: Set<GatewayKey>)? {
        state.withLock { state in
            if let owed = state.bornErrorsOwed, now - owed.from > Self.longestCatchUp { state.bornErrorsOwed = nil }
            return state.bornErrorsOwed
        }
    }

    /// The rise of each target's error counters above the highest value recorded for them; none
    /// for a target not recorded before (a born counter is counted on its own). The highest, not
    /// the last: the value is a sum over the gateway's pods, and one pod's missed scrape lowers it
    /// for a while — back, it would read as rejections (a baseline design woke every model at zero
    /// that way). So a reset (an endpoint picker restarted) shows no rise until its counter passes
    /// the old value: these rises time rejections, they wake nothing.
    func errorRises(_ errors: [GatewayKey: Double]) -> [GatewayKey: Double] {
        state.withLock { state in
            var rises: [GatewayKey: Double] = [:]
            for (key, value) in errors where value.isFinite {
                if let highest = state.errorValues[key], value > highest { rises[key] = value - highest }
            }
            return rises
        }
    }

    /// The owed read succeeded.
    func bornErrorsRead() { state.withLock { $0.bornErrorsOwed = nil } }

    /// The targets of `errors` whose error counters this process has not answered before, once
    /// an answer has been recorded, with their value (the first value of a new counter).
    func bornErrors(_ errors: [GatewayKey: Double]) -> [(GatewayKey, Double)] {
        state.withLock { state in
            guard state.last != nil else { return [] }
            return errors.filter { state.errorsSeen[$0.key] == nil }.map { ($0.key, $0.value) }
        }
    }

    /// The targets of `keys` whose error counters this process has not answered before (see ``bornErrors(_:)``).
    func unseenErrors(_ keys: some Collection<GatewayKey>) -> Set<GatewayKey> {
        state.withLock { state in
            guard state.last != nil else { return [] }
            return Set(keys.filter { state.errorsSeen[$0] == nil })
        }
    }

    /// The queue's answer failed: its stretch is read back once an answer comes.
    func demandFailed() { state.withLock { $0.demandMissed = true } }

    /// Where the queue must be read back from at `now`, nil when it need not: a read owed; its
    /// last answer when one failed since or it is older than `blindAfter`; the counter's blind
    /// stretch (`counterBlind` seconds); at the process's first answer, where the last process
    /// last read the gateway, else `first` seconds back. At most an hour back.
    func demandStretch(at now: Double, blindAfter: Double, counterBlind: Double?, first: Double?) -> Double? {
        state.withLock { state in
            var from: [Double] = []
            // A read owed for longer than the longest read back is given up (it can only fail again).
            if let owed = state.demandOwed, now - owed > Self.longestCatchUp + 60 { state.demandOwed = nil }
            if let owed = state.demandOwed { from.append(owed) }
            if let last = state.demandLast {
                if state.demandMissed || now - last > blindAfter { from.append(last) }
            } else {
                if let recovered = state.recovered.queue, recovered < now { from.append(recovered) }
                if let first, first > 0 { from.append(now - first) }
            }
            if let counterBlind, counterBlind > 0 { from.append(now - counterBlind) }
            if state.start == nil, let earliest = from.min() { state.start = earliest }
            return from.min().map { max($0, now - Self.longestCatchUp) }
        }
    }

    /// The queue answered at `now`; `owed`: the read back from there failed (tried again next).
    func demandRead(at now: Double, owed: Double?) {
        state.withLock { state in
            state.demandPreviousLast = state.demandLast
            state.demandLast = now
            state.demandMissed = false
            state.demandOwed = owed
        }
    }

    /// An answer failed (or was not read): every target is away until the next one recorded.
    func missed() { state.withLock { $0.missed = true } }

    /// The last recorded answer was not used: the stretch since the one before it is re-read.
    func discardLast() {
        state.withLock { state in
            state.last = state.previousLast
            state.missed = true
            state.demandLast = state.demandPreviousLast
            state.demandMissed = true
        }
    }

    /// The targets in `present` that were away — missing from the last recorded answer, or every
    /// target when an answer failed since — with the seconds since they were last answered; and
    /// `blind`, the seconds since the last recorded answer when an answer failed since (every
    /// target, present or not, may have counted unseen meanwhile).
    /// `born`: the targets in `present` never answered before, once an answer has been recorded
    /// (at the first, every target is new to the process, not to the gateway).
    /// Answers farther apart than `blindAfter` seconds (a slow tick: the loop waits its interval
    /// after each) are a blind stretch too: a rise between them falls between their windows.
    /// `first`: the blind stretch of a process's first answer (nil: none).
    /// `linger`: for this many seconds after a blind stretch, each answer reads back over it again
    /// (blind from where it began): the TSDB may itself have been down (a restart) and scrape the
    /// gateway only after the first answer, its new sample then too far from the one before the
    /// stretch for any later window to hold both.
    /// A target present but not counted — its last sample still inside the presence window, the
    /// window of its increase holding fewer than two samples (its gateway's scrapes failed) — is
    /// away too: when it is counted again (`countable`), or its counter's last value (`lastValues`)
    /// moved while it was not, it is read back from when it was last counted.
    func gaps(
        present: some Collection<GatewayKey>, countable: Set<GatewayKey> = [], lastValues: [GatewayKey: Double] = [:],
        at now: Double, blindAfter: Double = .infinity, first: Double? = nil, linger: Double = 0
    ) -> (gaps: [GatewayKey: Double], blind: Double?, born: [GatewayKey], fresh: Bool) {
        state.withLock { state in
            guard let previous = state.last else {
                // From the last process's last answer when that is farther back (its queries failed
                // before it stopped: nobody read the gateway since), at most an hour.
                let sinceLast = state.recovered.counters.flatMap { $0 < now ? min(now - $0, Self.longestCatchUp) : nil }
                let blind = [first, sinceLast].compactMap { $0 }.max().flatMap { $0 > 0 ? $0 : nil }
                if state.start == nil { state.start = now - (blind ?? 0) }
                if let blind, linger > 0 { state.linger = (now - blind, now + linger) }
                return ([:], blind, [], blind != nil)
            }
            if blindAfter > 0, now - previous > blindAfter { state.missed = true }
            var gaps: [GatewayKey: Double] = [:]
            var born: [GatewayKey] = []
            for key in present {
                guard let seen = state.seen[key] else {
                    if !state.forgotten.contains(key) { born.append(key) }  // as `unseen`
                    continue
                }
                let counted = state.counted[key]
                // Counted again after an answer that did not count it, or its counter moved since
                // it was last counted while it cannot be counted now.
                let isCountable = countable.contains(key)
                let uncounted = counted.map { (isCountable && $0.at < previous) || (!isCountable && lastValues[key] != $0.value) } ?? false
                let since = min(seen, counted?.at ?? seen)
                guard seen < previous || state.missed || uncounted, now > since else { continue }
                gaps[key] = now - since
            }
            if state.missed && now > previous {
                // Each stretch reads back from its own start: chained to a lingering one's, failures
                // closer together than `linger` pinned the start and grew the read to an hour.
                if linger > 0 { state.linger = (previous, now + linger) }
                return (gaps, now - previous, born, true)
            }
            if let stretch = state.linger, now <= stretch.until, now > stretch.from { return (gaps, now - stretch.from, born, false) }
            state.linger = nil
            return (gaps, nil, born, false)
        }
    }

    /// The targets in `keys` never answered before (and not dropped after an hour away), once an
    /// answer has been recorded: new to the gateway, not only to this process.
    func unseen(_ keys: some Collection<GatewayKey>) -> Set<GatewayKey> {
        state.withLock { state in
            guard state.last != nil else { return [] }
            return Set(keys.filter { state.seen[$0] == nil && !state.forgotten.contains($0) })
        }
    }

    /// Records the targets answered at `now`; `counted`, those whose increase it holds (see `gaps`).
    func record(
        present: some Collection<GatewayKey>, counted: some Collection<GatewayKey>, lastValues: [GatewayKey: Double],
        errors: [GatewayKey: Double] = [:], at now: Double
    ) {
        state.withLock { state in
            for key in present { state.seen[key] = now }
            for (key, value) in errors {
                state.errorsSeen[key] = now
                if value.isFinite { state.errorValues[key] = max(state.errorValues[key] ?? value, value) }
            }
            for key in counted { state.counted[key] = (now, lastValues[key]) }
            state.previousLast = state.last
            state.last = now
            state.missed = false
            if state.seen.count > 2 * present.count + 64 {
                for (key, seen) in state.seen where now - seen > Self.longestCatchUp { state.forgotten.insert(key) }
                state.seen = state.seen.filter { now - $0.value <= Self.longestCatchUp }
                state.counted = state.counted.filter { state.seen[$0.key] != nil }
                state.errorsSeen = state.errorsSeen.filter { now - $0.value <= Self.longestCatchUp }
                state.errorValues = state.errorValues.filter { state.errorsSeen[$0.key] != nil }
            }
        }
    }
}

/// Up to when the gateway's request counters and its queue were read (Unix seconds; nil: not
/// known): exported per signal, read back by restart recovery.
public struct GatewayReadUpTo: Sendable, Equatable {
    public var counters: Double?
    public var queue: Double?

    public init(counters: Double? = nil, queue: Double? = nil) {
        self.counters = counters
        self.queue = queue
    }
}
