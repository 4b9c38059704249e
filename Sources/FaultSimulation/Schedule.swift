import Foundation

/// A model of the simulated fleet and its traffic.
public struct SimModel: Sendable, Hashable {
    /// What kind of traffic and configuration it was generated as (for reading a schedule).
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// No requests, or one early.
        case idle
        /// A request every 0.5–4 s.
        case busy
        /// Bursts of 1–5 requests, up to three.
        case bursty
        /// One request every 0.5–2 retention periods.
        case periodic
        /// `enable_scale_to_zero: false`.
        case protected
        /// A member of a `group` (and the same group name in another namespace).
        case grouped
        /// Requested under an alias (`aliases`).
        case aliased
        /// Woken through the wake API (`wake_path: api`).
        case api
        /// The same model id in two namespaces.
        case shared
        /// Two model ids of one namespace that derive the same `variant_name` (`org-x/twin-3`,
        /// `org-y/twin-3`): consumers selecting that name would mix them, so it must be reported.
        case twin
    }
    /// The model id (`model_id`, and `model_name` of its vLLM series unless `servedName` differs).
    public var id: String
    /// Its namespace.
    public var namespace: String
    /// How it was generated.
    public var kind: Kind
    /// `model_name` on its vLLM series (vLLM's `--served-model-name`).
    public var servedName: String
    /// `target_model_name` at the gateway (an alias or LoRA adapter name for aliased models).
    public var requestedName: String
    /// When requests arrive (seconds of virtual time).
    public var arrivals: [Double]
    /// Seconds a request runs on a replica.
    public var serviceTime: Double
    /// Seconds from pod creation to ready (model load).
    public var coldStart: Double
    /// Requests reach it through an API caller that calls the wake API (`wake_path: api`), not the gateway.
    public var viaAPI: Bool

    /// `namespace/id`, the identity used by events.
    public var ref: String { namespace + "/" + id }
}

/// One ConfigMap entry as the checker understands it (independently of the product's parser).
public struct EntrySpec: Sendable, Hashable {
    /// The ConfigMap key.
    public var key: String
    /// The model it names (nil for `default` and `global`).
    public var modelID: String?
    /// The namespace it is limited to.
    public var namespace: String?
    /// `enable_scale_to_zero`.
    public var enable: Bool?
    /// `retention_period` in seconds.
    public var retention: Double?
    /// `min_replicas`.
    public var minReplicas: Int?
    /// `group`.
    public var group: String?
    /// `aliases`.
    public var aliases: [String] = []
    /// `wake_path: api`.
    public var wakePathAPI = false
    /// For `global`: `scale_to_zero_allowed`.
    public var scaleToZeroAllowed: Bool?
    /// `max_replicas`.
    public var maxReplicas: Int?

    /// The YAML text of the entry.
    public var yaml: String {
        if key == "global" { return scaleToZeroAllowed.map { "scale_to_zero_allowed: \($0)\n" } ?? "" }
        var lines: [String] = []
        if let modelID { lines.append("model_id: \(modelID)") }
        if let namespace { lines.append("namespace: \(namespace)") }
        if let enable { lines.append("enable_scale_to_zero: \(enable)") }
        if let retention { lines.append("retention_period: \(Self.duration(retention))") }
        if let minReplicas { lines.append("min_replicas: \(minReplicas)") }
        if let maxReplicas { lines.append("max_replicas: \(maxReplicas)") }
        if let group { lines.append("group: \(group)") }
        if !aliases.isEmpty { lines.append("aliases: [\(aliases.joined(separator: ", "))]") }
        if wakePathAPI { lines.append("wake_path: api") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Seconds as a Go duration.
    static func duration(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(Int((seconds * 1000).rounded()))ms"
    }

    /// A short reading: `enable=true R=20s min=2 group=g1`.
    public var summary: String {
        if key == "global" { return "scale_to_zero_allowed=\(scaleToZeroAllowed.map(String.init) ?? "unset")" }
        var parts: [String] = []
        if let modelID { parts.append(modelID + (namespace.map { " in \($0)" } ?? " (all namespaces)")) }
        if let enable { parts.append("enable=\(enable)") }
        if let retention { parts.append("R=\(Self.duration(retention))") }
        if let minReplicas { parts.append("min=\(minReplicas)") }
        if let maxReplicas { parts.append("max=\(maxReplicas)") }
        if let group { parts.append("group=\(group)") }
        if !aliases.isEmpty { parts.append("aliases=\(aliases)") }
        if wakePathAPI { parts.append("wake_path=api") }
        return parts.joined(separator: " ")
    }
}

/// How an edit breaks an entry.
public enum BreakKind: String, Sendable, Hashable, CaseIterable {
    /// Not YAML at all.
    case invalidYAML = "invalid YAML"
    /// `enable_scale_to_zero: "yes please"`.
    case wrongType = "wrong type"
    /// `retention_period: 5 minutes`.
    case invalidDuration = "invalid duration"
    /// A field nobody knows.
    case unknownField = "unknown field"
}

/// The text of a ConfigMap key.
public enum EntryText: Sendable, Hashable {
    /// Valid text of `spec`.
    case good(EntrySpec)
    /// Broken text; `intended` is what the author meant (aggressive on purpose: applying it
    /// anyway would make scale-to-zero more aggressive).
    case bad(BreakKind, intended: EntrySpec)

    /// The entry it describes.
    public var spec: EntrySpec {
        switch self {
        case .good(let spec), .bad(_, let spec): spec
        }
    }

    /// The ConfigMap text.
    public var yaml: String {
        switch self {
        case .good(let spec): return spec.yaml
        case .bad(.invalidYAML, let spec): return spec.yaml + "enable_scale_to_zero: [true\n  retention: {\n"
        case .bad(.wrongType, let spec):
            var text = spec
            text.enable = nil
            return text.yaml + "enable_scale_to_zero: \"yes please\"\n"
        case .bad(.invalidDuration, let spec):
            var text = spec
            text.retention = nil
            return text.yaml + "retention_period: 5 minutes\n"
        case .bad(.unknownField, let spec): return spec.yaml + "scale_down_aggressively: true\n"
        }
    }
}

/// A fault or condition of the monitoring path.
public enum FaultKind: Sendable, Hashable {
    /// Connection refused on every query.
    case refused
    /// HTTP 503 from a proxy in front of the TSDB.
    case unavailable
    /// Answers take this many seconds (beyond the client timeout they time out).
    case slow(seconds: Double)
    /// HTTP 401 (an expired token).
    case unauthorized
    /// A store did not answer: the series of `models` in `metrics` are missing and the answer says
    /// it is partial (`isPartial` or a Thanos warning).
    case partial(thanos: Bool, models: [String], metrics: [String])
    /// A model's pods export this non-finite value for `metric`.
    case nonFinite(model: String, metric: String, value: Double)
    /// A model's pods fail their scrapes (staleness markers).
    case scrapeGap(model: String)
    /// The gateway fails its scrapes.
    case gatewayGap
    /// A model's pods stop exporting one metric (a relabelling mistake).
    case missingSeries(model: String, metric: String)
    /// The TSDB is down (connection refused, no scrapes) and restarts with a data gap.
    case tsdbRestart
    /// Not a fault: answers carry harmless PromQL info annotations (must not count as partial).
    case harmlessAnnotations
    /// The recovery query answers a huge value (a corrupt sample): must not crash the recommender.
    case corruptRecovery
    /// Queries are answered by the other replica of an HA pair, which holds data only since
    /// `dataSince` (it started then with empty storage): every query succeeds, the windows are
    /// short. The recommender's own series are left whole (recovery is another promise).
    case failover(dataSince: Double)
    /// Queries that read `metric` fail (HTTP 503: the store holding those series does not
    /// answer); every other query succeeds.
    case queryFails(metric: String)

    /// The model the fault is about, if one.
    public var model: String? {
        switch self {
        case .nonFinite(let model, _, _), .scrapeGap(let model), .missingSeries(let model, _): model
        default: nil
        }
    }

    /// Whether the fault makes every query of a tick fail or unknown (not per model).
    public var failsQueries: Bool {
        switch self {
        case .refused, .unavailable, .unauthorized, .partial, .tsdbRestart: true
        case .slow(let seconds): seconds >= Simulation.clientTimeout
        default: false
        }
    }

    /// Readable.
    public var description: String {
        switch self {
        case .refused: "Prometheus refuses connections"
        case .unavailable: "HTTP 503 on every query"
        case .slow(let s): "answers take \(Simulation.format(s))s" + (s >= Simulation.clientTimeout ? " (beyond the \(Simulation.format(Simulation.clientTimeout))s client timeout)" : "")
        case .unauthorized: "HTTP 401 on every query"
        case .partial(let thanos, let models, let metrics):
            "partial answers (\(thanos ? "Thanos warning" : "isPartial: true")): series of \(models.joined(separator: ", ")) missing from \(metrics.joined(separator: ", "))"
        case .nonFinite(let model, let metric, let value): "\(model) exports \(metric) = \(QueryAPI.format(value))"
        case .scrapeGap(let model): "scrapes of \(model)'s pods fail"
        case .gatewayGap: "scrapes of the gateway fail"
        case .missingSeries(let model, let metric): "\(model)'s pods stop exporting \(metric)"
        case .tsdbRestart: "TSDB down and restarted (data gap)"
        case .harmlessAnnotations: "answers carry harmless PromQL info annotations"
        case .corruptRecovery: "the recovery query answers 1e300"
        case .failover(let since): "queries answered by an HA replica holding data only since t=\(Simulation.format(since))"
        case .queryFails(let metric): "queries that read \(metric) fail (HTTP 503)"
        }
    }
}

/// One event of a schedule.
public enum ScheduleEvent: Sendable, Hashable {
    /// A fault over `[start, end)`.
    case fault(FaultKind, start: Double, end: Double)
    /// A ConfigMap key set to `text` (a good or bad edit, the kill switch on `global`).
    case setEntry(at: Double, EntryText)
    /// A ConfigMap key removed.
    case removeEntry(at: Double, key: String)
    /// The recommender restarts: down for `down` seconds, then a new engine recovers from the TSDB.
    case restart(at: Double, down: Double)
    /// A model's first pod restarts its container (counter reset, not ready for its cold start).
    case containerRestart(at: Double, model: String)

    /// When it starts.
    public var time: Double {
        switch self {
        case .fault(_, let start, _): start
        case .setEntry(let at, _), .removeEntry(let at, _), .restart(let at, _), .containerRestart(let at, _): at
        }
    }

    /// Readable.
    public var description: String {
        switch self {
        case .fault(let kind, let start, let end): "t=\(Simulation.format(start))..\(Simulation.format(end))  \(kind.description)"
        case .setEntry(let at, .good(let spec)) where spec.key == "global":
            "t=\(Simulation.format(at))  kill switch \(spec.scaleToZeroAllowed == false ? "ON" : "off") (global: \(spec.summary))"
        case .setEntry(let at, .good(let spec)): "t=\(Simulation.format(at))  good edit of key `\(spec.key)`: \(spec.summary)"
        case .setEntry(let at, .bad(let kind, let spec)): "t=\(Simulation.format(at))  bad edit of key `\(spec.key)` (\(kind.rawValue)), meant: \(spec.summary)"
        case .removeEntry(let at, let key): "t=\(Simulation.format(at))  key `\(key)` removed"
        case .restart(let at, let down): "t=\(Simulation.format(at))  recommender restarts (down \(Simulation.format(down))s)"
        case .containerRestart(let at, let model): "t=\(Simulation.format(at))  container restart of a pod of \(model) (counter reset)"
        }
    }
}

/// Where the gateway's series get a `namespace` label from.
public enum GatewayNamespaces: String, Sendable, Hashable, CaseIterable {
    /// No namespace label.
    case none
    /// One shared gateway: the label is its own namespace (`llm-gateway`), which names no model.
    case shared
    /// A gateway per namespace: the label is the model's namespace.
    case perNamespace = "per-namespace"
}

/// Everything a run depends on. A run is a pure function of its schedule.
public struct Schedule: Sendable, Hashable {
    /// The seed it was generated from.
    public var seed: UInt64
    /// Scrape interval, seconds.
    public var scrapeInterval: Double
    /// Tick interval, seconds.
    public var tickInterval: Double
    /// Length of the run, seconds.
    public var duration: Double
    /// `--forget-after`, seconds.
    public var forgetAfter: Double
    /// Prometheus 2 or 3 semantics.
    public var flavour: PrometheusFlavour
    /// The gateway queues requests for a model with no ready pod (flow control); without it they
    /// are rejected and retried, and only the gateway's request counter shows the demand.
    public var flowControl: Bool
    /// The gateway series' `namespace` label.
    public var gatewayNamespaces: GatewayNamespaces
    /// The fleet.
    public var models: [SimModel]
    /// The ConfigMap at the start.
    public var config: [EntryText]
    /// Faults, edits, restarts, in any order.
    public var events: [ScheduleEvent]
    /// `--scale-down-stabilization`, seconds (0: a lower size at once).
    public var scaleDownStabilization: Double = 0
    /// Seconds a client waits before it retries a rejected request (no flow control).
    public var clientRetryAfter: Double = 3

    /// The readable form printed with a failure.
    public var description: String {
        var lines = [
            "seed \(seed): scrape \(Simulation.format(scrapeInterval))s, tick \(Simulation.format(tickInterval))s, run \(Simulation.format(duration))s, forget after \(Simulation.format(forgetAfter))s, Prometheus \(flavour.rawValue), gateway flow control \(flowControl ? "on" : "off"), gateway namespace label: \(gatewayNamespaces.rawValue)"
                + (scaleDownStabilization > 0 ? ", scale-down stabilization \(Simulation.format(scaleDownStabilization))s" : "")
                + (clientRetryAfter != 3 ? ", clients retry after \(Simulation.format(clientRetryAfter))s" : ""),
            "models:",
        ]
        for model in models {
            var line = "  \(model.ref) [\(model.kind.rawValue)]"
            if model.servedName != model.id { line += " served as \(model.servedName)" }
            if model.requestedName != model.id { line += " requested as \(model.requestedName)" }
            if model.viaAPI { line += " via the wake API" }
            line += ", cold start \(Simulation.format(model.coldStart))s, service \(Simulation.format(model.serviceTime))s, "
            line += model.arrivals.isEmpty ? "no requests" : "requests at " + Self.compact(model.arrivals)
            lines.append(line)
        }
        lines.append("config:")
        for entry in config {
            switch entry {
            case .good(let spec): lines.append("  \(spec.key): \(spec.summary)")
            case .bad(let kind, let spec): lines.append("  \(spec.key): BROKEN (\(kind.rawValue)), meant: \(spec.summary)")
            }
        }
        lines.append(events.isEmpty ? "events: none" : "events:")
        for event in events.sorted(by: { $0.time < $1.time }) { lines.append("  " + event.description) }
        return lines.joined(separator: "\n")
    }

    static func compact(_ times: [Double]) -> String {
        if times.count <= 12 { return times.map(Simulation.format).joined(separator: ", ") }
        return times.prefix(5).map(Simulation.format).joined(separator: ", ") + ", … (\(times.count) in all) …, "
            + times.suffix(3).map(Simulation.format).joined(separator: ", ")
    }
}
