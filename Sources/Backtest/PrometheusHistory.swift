import Foundation
import ModelConfig
import PrometheusClient

/// The user's own request history from Prometheus: arrivals reconstructed from
/// `vllm:request_success_total`, and measured cold starts from the recommender's own metrics.
///
/// **The approximation.** Prometheus keeps counters, not requests. Per model and per `step`, the
/// completed requests are `sum by (namespace, model_name) (increase(vllm:request_success_total[step]))`
/// evaluated every `step` (a range query, so the windows tile the history). `increase()` extrapolates
/// to the window's edges, so a count is fractional: counts are rounded with the remainder carried
/// to the next step, so the total is kept. A step's requests are spread evenly over it, and a
/// completion is taken as the arrival (service times are seconds; steps are a minute by default).
/// Requests that never completed (dropped, timed out) are not in the counter. What a step hides:
/// the order and spacing of requests within it, so idle gaps shorter than a step are not seen
/// (use a step no longer than the shortest retention you compare). While a model was at zero, the
/// requests that woke it completed after its cold start: the history holds the wake, shifted by
/// the cold start it paid.
public struct PrometheusHistory: Sendable {
    /// The client.
    public let client: PrometheusClient
    /// Extra label matchers on vLLM series (`job="vllm"`).
    public let selector: String
    /// Matchers on the recommender's own series, for measured cold starts.
    public let recommenderSelector: String

    /// Creates a history reader.
    public init(client: PrometheusClient, selector: String = "", recommenderSelector: String = "") {
        self.client = client
        self.selector = selector
        self.recommenderSelector = recommenderSelector
    }

    /// The range query of completed requests per step.
    public func requestsQuery(step: Double) -> String {
        let range = ConfigDuration(milliseconds: Int64((step * 1000).rounded())).prometheusRange
        return "sum by (namespace, model_name) (increase(vllm:request_success_total{\(selector)}[\(range)]))"
    }

    /// The instant query of each model's median measured cold start over the history.
    public func coldStartQuery(since: Double) -> String {
        let range = ConfigDuration(milliseconds: Int64((since * 1000).rounded())).prometheusRange
        return "max by (namespace, model_name) (quantile_over_time(0.5, recommender_model_last_cold_start_seconds{\(recommenderSelector)}[\(range)]))"
    }

    /// Points a range query asks for at most (Prometheus refuses more than 11,000 per series).
    static let pointsPerQuery = 10_000

    /// Reads `since` seconds of history ending at `end`, every `step` seconds. The trace starts at
    /// `end - since` (aligned to the step); `progress` is called with the fraction read.
    public func load(since: Double, step: Double, end: Date, progress: ((Double) -> Void)? = nil) async throws(PrometheusError) -> History {
        let endSeconds = (end.timeIntervalSince1970 / step).rounded(.down) * step
        let start = endSeconds - (since / step).rounded(.up) * step
        var counts: [ModelKey: [(time: Double, value: Double)]] = [:]
        var chunkStart = start + step
        let chunk = Double(Self.pointsPerQuery) * step
        while chunkStart <= endSeconds {
            let chunkEnd = min(endSeconds, chunkStart + chunk - step)
            let series = try await client.queryRange(
                requestsQuery(step: step), start: Date(timeIntervalSince1970: chunkStart), end: Date(timeIntervalSince1970: chunkEnd), step: step)
            for one in series {
                guard let model = one.labels["model_name"] else { continue }
                let key = ModelKey(namespace: one.labels["namespace"] ?? "default", modelID: model)
                for (time, value) in zip(one.times, one.values) where value.isFinite && value > 0 {
                    counts[key, default: []].append((time, value))
                }
            }
            progress?(min(1, (chunkEnd - start) / max(step, endSeconds - start)))
            chunkStart = chunkEnd + step
        }
        var arrivals: [ModelKey: [Double]] = [:]
        for (key, points) in counts {
            arrivals[key] = Self.reconstruct(points.sorted { $0.time < $1.time }, step: step, origin: start)
        }
        var coldStarts: [ModelKey: Double] = [:]
        if let samples = try? await client.query(coldStartQuery(since: since), time: end) {
            for sample in samples where sample.value.isFinite && sample.value > 0 {
                guard let model = sample.labels["model_name"] else { continue }
                coldStarts[ModelKey(namespace: sample.labels["namespace"] ?? "default", modelID: model)] = sample.value
            }
        }
        return History(trace: Trace(arrivals: arrivals), start: start, duration: endSeconds - start, coldStarts: coldStarts)
    }

    /// Arrivals from counts per step: each point `(t, n)` counts the requests of `(t - step, t]`;
    /// counts are rounded with the remainder carried forward and spread evenly over their step.
    public static func reconstruct(_ points: [(time: Double, value: Double)], step: Double, origin: Double) -> [Double] {
        var arrivals: [Double] = []
        var carry = 0.0
        for (time, value) in points {
            carry += value
            let n = Int((carry + 0.5).rounded(.down))
            guard n > 0 else { continue }
            carry -= Double(n)
            let from = time - step - origin
            for j in 0..<n { arrivals.append(from + (Double(j) + 0.5) * step / Double(n)) }
        }
        return arrivals
    }

    /// History read from Prometheus.
    public struct History: Sendable {
        /// The reconstructed arrivals, in seconds from `start`.
        public let trace: Trace
        /// The trace start (Unix seconds).
        public let start: Double
        /// Seconds of history.
        public let duration: Double
        /// Median measured cold start per model, where the recommender measured some.
        public let coldStarts: [ModelKey: Double]
    }
}
