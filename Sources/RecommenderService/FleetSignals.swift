import Foundation
import ModelConfig
import PrometheusClient
import Recommendation

/// One tick's answers from Prometheus for every model: per signal either the values by model or
/// the error that made it unknown.
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
    /// Gateway queue by model id (the gateway metric has no namespace).
    public var demand: Result<[String: Double], PrometheusError>

    /// Creates a tick's answers.
    public init(
        requests: [ConfigDuration: Result<[ModelKey: Double], PrometheusError>] = [:],
        running: Result<[ModelKey: Double], PrometheusError>, waiting: Result<[ModelKey: Double], PrometheusError>,
        ready: Result<[ModelKey: Double], PrometheusError>, kvCache: Result<[ModelKey: Double], PrometheusError>,
        demand: Result<[String: Double], PrometheusError>
    ) {
        self.requests = requests
        self.running = running
        self.waiting = waiting
        self.ready = ready
        self.kvCache = kvCache
        self.demand = demand
    }

    /// A tick where nothing is known (every query failed with `error`).
    public static func unknown(_ error: PrometheusError) -> FleetSignals {
        FleetSignals(running: .failure(error), waiting: .failure(error), ready: .failure(error), kvCache: .failure(error), demand: .failure(error))
    }

    /// The signals of one model. Absent from a successful result is 0; a failed query, a retention
    /// that was not queried, NaN and ±Inf are unknown (nil).
    public func signals(for key: ModelKey, retention: ConfigDuration) -> ModelSignals {
        func value(_ result: Result<[ModelKey: Double], PrometheusError>?) -> Double? {
            guard case .success(let values)? = result else { return nil }
            let value = values[key] ?? 0
            return value.isFinite ? value : nil
        }
        var demandValue: Double?
        if case .success(let values) = demand {
            let value = values[key.modelID] ?? 0
            demandValue = value.isFinite ? value : nil
        }
        return ModelSignals(
            requests: value(requests[retention]), running: value(running), waiting: value(waiting),
            ready: value(ready), kvCacheUsage: value(kvCache), demand: demandValue)
    }

    /// Models with at least one vLLM series this tick.
    public var seenModels: Set<ModelKey> {
        var keys = Set<ModelKey>()
        for result in [running, waiting, ready, kvCache] + Array(requests.values) {
            if case .success(let values) = result { keys.formUnion(values.keys) }
        }
        return keys
    }

    /// Model ids with gateway demand series this tick (any value).
    public var demandModels: Set<String> {
        if case .success(let values) = demand { return Set(values.keys) }
        return []
    }
}

/// Runs the signal queries of one tick concurrently: one per signal, plus one per distinct
/// retention period, never one per model.
public struct SignalCollector: Sendable {
    /// The client.
    public let client: PrometheusClient
    /// The queries.
    public let queries: QueryBuilder

    /// Creates a collector.
    public init(client: PrometheusClient, queries: QueryBuilder) {
        self.client = client
        self.queries = queries
    }

    /// One query's outcome, for the service's own metrics.
    public struct QueryOutcome: Sendable {
        /// Which signal.
        public let signal: Signal
        /// The error, nil on success.
        public let error: PrometheusError?
    }

    /// Collects every signal; `retentions` are the distinct retention periods in use.
    public func collect(retentions: Set<ConfigDuration>) async -> (FleetSignals, [QueryOutcome]) {
        async let running = byModel(.running)
        async let waiting = byModel(.waiting)
        async let ready = byModel(.ready)
        async let kv = byModel(.kvCache)
        async let demand = byTarget()
        let requests = await withTaskGroup(of: (ConfigDuration, Result<[ModelKey: Double], PrometheusError>).self) { group in
            for retention in retentions {
                group.addTask { (retention, await self.byModel(.requests, range: retention)) }
            }
            var results: [ConfigDuration: Result<[ModelKey: Double], PrometheusError>] = [:]
            for await (retention, result) in group { results[retention] = result }
            return results
        }
        let fleet = FleetSignals(
            requests: requests, running: await running, waiting: await waiting, ready: await ready,
            kvCache: await kv, demand: await demand)
        var outcomes = requests.values.map { QueryOutcome(signal: .requests, error: $0.failure) }
        outcomes += [
            QueryOutcome(signal: .running, error: fleet.running.failure),
            QueryOutcome(signal: .waiting, error: fleet.waiting.failure),
            QueryOutcome(signal: .ready, error: fleet.ready.failure),
            QueryOutcome(signal: .kvCache, error: fleet.kvCache.failure),
            QueryOutcome(signal: .demand, error: fleet.demand.failure),
        ]
        return (fleet, outcomes)
    }

    /// Reads back this service's last exported value per model over `window`.
    public func recover(window: ConfigDuration) async -> Result<[ModelKey: Double], PrometheusError> {
        await byModel(.recovery, range: window)
    }

    func byModel(_ signal: Signal, range: ConfigDuration? = nil) async -> Result<[ModelKey: Double], PrometheusError> {
        do {
            let samples = try await client.query(queries.query(signal, range: range))
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

    func byTarget() async -> Result<[String: Double], PrometheusError> {
        do {
            let samples = try await client.query(queries.query(.demand))
            var values: [String: Double] = [:]
            for sample in samples {
                guard let model = sample.labels["target_model_name"] else { continue }
                values[model, default: 0] += sample.value
            }
            return .success(values)
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
}
