import Foundation
import ModelConfig
import Yams

/// A traffic scenario: the models to simulate and how requests arrive. Durations are in scenario
/// time, which runs `timeScale` times faster than real time.
public struct Scenario: Sendable {
    /// How one model's requests arrive.
    public enum Traffic: Sendable, Equatable {
        /// Exactly `rate` requests per second, evenly spread.
        case constant(rate: Double)
        /// Poisson arrivals at `rate` per second.
        case poisson(rate: Double)
        /// Poisson at `rate` during `on`, silent during `off`, repeating (starting with `on`).
        case bursts(rate: Double, on: Double, off: Double)
        /// Poisson with a rate following a sine between 0 and `peak` over `period` (peak at half period).
        case diurnal(peak: Double, period: Double)
        /// Poisson at `rate` for `duration` every `every` (a batch job), first run at `offset`.
        case periodic(rate: Double, every: Double, duration: Double, offset: Double)
        /// No requests at all.
        case silent
        /// A rate that follows `points` (scenario seconds, requests per second), linear between
        /// them and flat outside them; with `period`, the shape repeats every period (a day).
        case profile(points: [ProfilePoint], period: Double?)

        /// The arrival rate at scenario time `t` (seconds).
        public func rate(at t: Double) -> Double {
            switch self {
            case .constant(let rate), .poisson(let rate): return rate
            case .bursts(let rate, let on, let off):
                return t.truncatingRemainder(dividingBy: on + off) < on ? rate : 0
            case .diurnal(let peak, let period):
                return peak * (1 - cos(2 * .pi * t / period)) / 2
            case .periodic(let rate, let every, let duration, let offset):
                guard t >= offset else { return 0 }
                return (t - offset).truncatingRemainder(dividingBy: every) < duration ? rate : 0
            case .silent: return 0
            case .profile(let points, let period):
                guard let first = points.first, let last = points.last else { return 0 }
                let at = period.map { t.truncatingRemainder(dividingBy: $0) } ?? t
                if at <= first.at { return first.rate }
                if at >= last.at { return last.rate }
                let next = points.firstIndex { $0.at > at } ?? points.count - 1
                let (a, b) = (points[next - 1], points[next])
                return a.rate + (b.rate - a.rate) * (at - a.at) / (b.at - a.at)
            }
        }

        /// Whether arrivals are random (Poisson) or evenly spread.
        var isRandom: Bool {
            if case .constant = self { return false }
            return true
        }
    }

    /// One point of a `profile`: the arrival rate at a scenario time.
    public struct ProfilePoint: Sendable, Equatable {
        /// Scenario seconds since the start (of the period, when the profile repeats).
        public let at: Double
        /// Requests per second at that time.
        public let rate: Double

        /// Creates a point.
        public init(at: Double, rate: Double) {
            self.at = at
            self.rate = rate
        }
    }

    /// One simulated model.
    public struct Model: Sendable {
        /// The model id (`model_name`).
        public let id: String
        /// Its namespace.
        public let namespace: String
        /// How its requests arrive.
        public let traffic: Traffic
        /// Replicas before the first recommendation is read.
        public let initialReplicas: Int
        /// Scenario seconds at which a rolling update of the model starts (maxSurge 1,
        /// maxUnavailable 0: a surge pod starts, and once it is ready an old pod terminates, until
        /// every pod is new). Nil: no rollout.
        public var rolloutAt: Double? = nil
    }

    /// Scenario seconds per real second.
    public let timeScale: Double
    /// Scenario seconds from a replica's start to ready.
    public let coldStart: Double
    /// Scenario seconds one request takes on a replica.
    public let serviceTime: Double
    /// Requests in flight per replica before they wait.
    public let replicaConcurrency: Int
    /// Scenario seconds a request waits at the gateway before it is dropped.
    public let queueTimeout: Double
    /// Requests the gateway queues per model before it drops new ones.
    public let queueCapacity: Int
    /// Random seed (runs are reproducible for a given sequence of replica decisions).
    public let seed: UInt64
    /// The endpoint picker's flow control: on, requests for a model with no ready replica wait in
    /// its queue (`llm_d_epp_flow_control_queue_size`); off, they are rejected at once (503) and
    /// only its error counter (`inference_objective_request_error_total`) moves; the client retries.
    public let flowControl: Bool
    /// Without flow control: scenario seconds a rejected client waits before it retries.
    public let retryAfter: Double
    /// Without flow control: retries before a client gives up (the request is dropped).
    public let retries: Int
    /// KV-cache tokens one request in flight holds (prompt + output so far), and the KV-cache
    /// capacity of one replica in tokens: `vllm:kv_cache_usage_perc` follows the load, and a replica
    /// runs only the requests whose KV fits (the rest wait in the pod, no preemption).
    public let tokensPerRequest: Double
    /// See `tokensPerRequest`.
    public let kvCapacityTokens: Double
    /// Scenario seconds a pod removed from its Deployment (scaled down, or replaced by a rolling
    /// update) keeps serving and reporting metrics before it is gone: vLLM drains its requests
    /// after SIGTERM, and Prometheus scrapes the pod until it exits. 0: gone at once.
    public let terminationGrace: Double
    /// The models.
    public let models: [Model]

    /// Requests one replica runs at once: its concurrency, or fewer when their KV does not fit.
    public var runnablePerReplica: Int {
        max(1, min(replicaConcurrency, Int((kvCapacityTokens / max(tokensPerRequest, 1)).rounded(.down))))
    }

    /// Creates a scenario.
    public init(
        timeScale: Double = 1, coldStart: Double = 60, serviceTime: Double = 2, replicaConcurrency: Int = 8,
        queueTimeout: Double = 600, queueCapacity: Int = 10_000, seed: UInt64 = 1, flowControl: Bool = true,
        retryAfter: Double = 30, retries: Int = 20, tokensPerRequest: Double = 1, kvCapacityTokens: Double? = nil,
        terminationGrace: Double = 0, models: [Model]
    ) {
        self.terminationGrace = terminationGrace
        self.tokensPerRequest = tokensPerRequest
        self.kvCapacityTokens = kvCapacityTokens ?? Double(replicaConcurrency) * tokensPerRequest
        self.flowControl = flowControl
        self.retryAfter = retryAfter
        self.retries = retries
        self.timeScale = timeScale
        self.coldStart = coldStart
        self.serviceTime = serviceTime
        self.replicaConcurrency = replicaConcurrency
        self.queueTimeout = queueTimeout
        self.queueCapacity = queueCapacity
        self.seed = seed
        self.models = models
    }
}

/// A scenario file that cannot be used: where and why.
public struct ScenarioError: Error, CustomStringConvertible {
    /// The message, naming the file and the field.
    public let description: String
}

extension Scenario {
    /// Reads a scenario YAML file.
    public static func load(path: String) throws -> Scenario {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ScenarioError(description: "\(path): cannot read the scenario file")
        }
        return try parse(text, file: path)
    }

    /// Parses scenario YAML.
    public static func parse(_ text: String, file: String = "scenario") throws -> Scenario {
        let root: [String: Any]
        do {
            guard let loaded = try Yams.load(yaml: text) as? [String: Any] else {
                throw ScenarioError(description: "\(file): expected a mapping with `models:`")
            }
            root = loaded
        } catch let error as ScenarioError {
            throw error
        } catch {
            throw ScenarioError(description: "\(file): invalid YAML: \(error)")
        }
        func duration(_ value: Any?, _ field: String, _ fallback: Double) throws -> Double {
            guard let value else { return fallback }
            guard let parsed = ConfigDuration.parse("\(value)"), parsed.isPositive else {
                throw ScenarioError(description: "\(file): \(field): expected a duration such as 30s or 5m, found \(value)")
            }
            return parsed.seconds
        }
        func number(_ value: Any?, _ field: String, _ fallback: Double) throws -> Double {
            guard let value else { return fallback }
            guard let number = (value as? Double) ?? (value as? Int).map(Double.init), number >= 0 else {
                throw ScenarioError(description: "\(file): \(field): expected a number ≥ 0, found \(value)")
            }
            return number
        }
        let known: Set<String> = [
            "time_scale", "cold_start", "service_time", "replica_concurrency", "queue_timeout", "queue_capacity", "seed", "models",
            "flow_control", "retry_after", "retries", "tokens_per_request", "kv_capacity_tokens", "termination_grace",
        ]
        var flowControl = true
        if let value = root["flow_control"] {
            guard let flag = value as? Bool else {
                throw ScenarioError(description: "\(file): flow_control: expected true or false, found \(value)")
            }
            flowControl = flag
        }
        if let unknown = root.keys.first(where: { !known.contains($0) }) {
            throw ScenarioError(description: "\(file): \(unknown): unknown field; expected one of \(known.sorted().joined(separator: ", "))")
        }
        guard let list = root["models"] as? [[String: Any]], !list.isEmpty else {
            throw ScenarioError(description: "\(file): models: expected a non-empty list of models")
        }
        var models: [Model] = []
        for (index, entry) in list.enumerated() {
            let at = "models[\(index)]"
            guard let id = entry["id"] as? String, !id.isEmpty else {
                throw ScenarioError(description: "\(file): \(at).id: expected the model id")
            }
            let spec = entry["traffic"] as? [String: Any] ?? ["kind": "silent"]
            let kind = spec["kind"] as? String ?? "silent"
            let traffic: Traffic
            switch kind {
            case "constant": traffic = .constant(rate: try number(spec["rate"], "\(at).traffic.rate", 1))
            case "poisson": traffic = .poisson(rate: try number(spec["rate"], "\(at).traffic.rate", 1))
            case "bursts":
                traffic = .bursts(
                    rate: try number(spec["rate"], "\(at).traffic.rate", 1), on: try duration(spec["on"], "\(at).traffic.on", 300),
                    off: try duration(spec["off"], "\(at).traffic.off", 1200))
            case "diurnal":
                traffic = .diurnal(peak: try number(spec["peak"], "\(at).traffic.peak", 1), period: try duration(spec["period"], "\(at).traffic.period", 86_400))
            case "periodic":
                traffic = .periodic(
                    rate: try number(spec["rate"], "\(at).traffic.rate", 1), every: try duration(spec["every"], "\(at).traffic.every", 3600),
                    duration: try duration(spec["for"], "\(at).traffic.for", 300),
                    offset: spec["offset"] == nil ? 0 : try duration(spec["offset"], "\(at).traffic.offset", 0))
            case "silent": traffic = .silent
            case "profile": traffic = try profile(spec, at: "\(at).traffic")
            default:
                throw ScenarioError(description: "\(file): \(at).traffic.kind: expected constant, poisson, bursts, diurnal, periodic, profile or silent, found \(kind)")
            }
            var model = Model(
                id: id, namespace: entry["namespace"] as? String ?? "default", traffic: traffic,
                initialReplicas: Int(try number(entry["initial_replicas"], "\(at).initial_replicas", 1)))
            if let rollout = entry["rollout_at"] { model.rolloutAt = try duration(rollout, "\(at).rollout_at", 0) }
            models.append(model)
        }
        func profile(_ spec: [String: Any], at: String) throws -> Traffic {
            guard let list = spec["points"] as? [Any], !list.isEmpty else {
                throw ScenarioError(description: "\(file): \(at).points: expected a non-empty list of {at: DURATION, rate: NUMBER}")
            }
            var points: [ProfilePoint] = []
            for (index, item) in list.enumerated() {
                let field = "\(at).points[\(index)]"
                guard let point = item as? [String: Any] else {
                    throw ScenarioError(description: "\(file): \(field): expected {at: DURATION, rate: NUMBER}, found \(item)")
                }
                for key in ["at", "rate"] where point[key] == nil {
                    throw ScenarioError(description: "\(file): \(field).\(key): missing; expected {at: DURATION, rate: NUMBER}")
                }
                let text = "\(point["at"]!)"
                guard let parsed = ConfigDuration.parse(text), parsed.seconds >= 0 else {
                    throw ScenarioError(description: "\(file): \(field).at: expected a duration such as 0s, 90m or 6h, found \(text)")
                }
                let time = parsed.seconds
                if let previous = points.last, time <= previous.at {
                    throw ScenarioError(description: "\(file): \(field).at: expected a time after the previous point's, found \(text)")
                }
                points.append(ProfilePoint(at: time, rate: try number(point["rate"], "\(field).rate", 0)))
            }
            let period = spec["period"] == nil ? nil : try duration(spec["period"], "\(at).period", 86_400)
            if let period, let last = points.last, last.at > period {
                throw ScenarioError(description: "\(file): \(at).period: expected at least the last point's time, found \(spec["period"]!)")
            }
            return .profile(points: points, period: period)
        }
        return Scenario(
            timeScale: try number(root["time_scale"], "time_scale", 1), coldStart: try duration(root["cold_start"], "cold_start", 60),
            serviceTime: try duration(root["service_time"], "service_time", 2),
            replicaConcurrency: max(1, Int(try number(root["replica_concurrency"], "replica_concurrency", 8))),
            queueTimeout: try duration(root["queue_timeout"], "queue_timeout", 600),
            queueCapacity: Int(try number(root["queue_capacity"], "queue_capacity", 10_000)),
            seed: UInt64(try number(root["seed"], "seed", 1)), flowControl: flowControl,
            retryAfter: try duration(root["retry_after"], "retry_after", 30), retries: Int(try number(root["retries"], "retries", 20)),
            tokensPerRequest: try number(root["tokens_per_request"], "tokens_per_request", 1),
            kvCapacityTokens: root["kv_capacity_tokens"] == nil ? nil : try number(root["kv_capacity_tokens"], "kv_capacity_tokens", 8),
            terminationGrace: root["termination_grace"] == nil ? 0 : try duration(root["termination_grace"], "termination_grace", 0),
            models: models)
    }
}
