import Foundation
import ModelConfig
import PrometheusClient

/// A PromQL signal the recommender reads; the value of the `signal` label on its own metrics.
public enum Signal: String, Sendable, CaseIterable {
    case requests, running, waiting, ready, kvCache = "kv_cache", demand, recovery
}

/// The PromQL templates, one per signal, each evaluated once per tick for every model at once.
///
/// Placeholders: `$SELECTOR` (extra matchers on vLLM series, e.g. `job="vllm"`),
/// `$GATEWAY_SELECTOR` (on the gateway queue series), `$RECOMMENDER_SELECTOR` (on this service's own
/// `inferno_desired_replicas`), `$RANGE` (a retention period, or the recovery window).
public struct QueryTemplates: Sendable {
    /// Completed requests in the window, one query per distinct retention period.
    public var requests = "sum by (namespace, model_name) (increase(vllm:request_success_total{$SELECTOR}[$RANGE]))"
    /// Requests being processed.
    public var running = "sum by (namespace, model_name) (vllm:num_requests_running{$SELECTOR})"
    /// Requests queued inside the pods.
    public var waiting = "sum by (namespace, model_name) (vllm:num_requests_waiting{$SELECTOR})"
    /// Ready replicas: pods exporting a per-pod vLLM series.
    public var ready = "count by (namespace, model_name) (vllm:num_requests_running{$SELECTOR})"
    /// Average KV-cache usage.
    public var kvCache = "avg by (namespace, model_name) (vllm:kv_cache_usage_perc{$SELECTOR})"
    /// Demand at the gateway: the endpoint picker's queue, the newer metric name first.
    public var demand =
        "sum by (target_model_name) (llm_d_epp_flow_control_queue_size{$GATEWAY_SELECTOR}) or sum by (target_model_name) (inference_extension_flow_control_queue_size{$GATEWAY_SELECTOR})"
    /// Restart recovery: this service's last exported value per model.
    public var recovery =
        "max by (namespace, model_name) (last_over_time(inferno_desired_replicas{$RECOMMENDER_SELECTOR}[$RANGE]))"

    /// The default templates.
    public init() {}

    /// The template of `signal`.
    public func template(_ signal: Signal) -> String {
        switch signal {
        case .requests: requests
        case .running: running
        case .waiting: waiting
        case .ready: ready
        case .kvCache: kvCache
        case .demand: demand
        case .recovery: recovery
        }
    }
}

/// Turns templates into queries with the configured selectors.
public struct QueryBuilder: Sendable {
    /// The templates.
    public var templates: QueryTemplates
    /// Extra matchers on vLLM series (`job="vllm"`), empty for none.
    public var selector: String
    /// Extra matchers on gateway queue series.
    public var gatewaySelector: String
    /// Matchers on this service's own series for recovery.
    public var recommenderSelector: String

    /// Creates a builder.
    public init(templates: QueryTemplates = QueryTemplates(), selector: String = "", gatewaySelector: String = "", recommenderSelector: String = "") {
        self.templates = templates
        self.selector = selector
        self.gatewaySelector = gatewaySelector
        self.recommenderSelector = recommenderSelector
    }

    /// The query for `signal`, with `range` for `$RANGE`.
    public func query(_ signal: Signal, range: ConfigDuration? = nil) -> String {
        var text = templates.template(signal)
        text = text.replacingOccurrences(of: "$GATEWAY_SELECTOR", with: gatewaySelector)
        text = text.replacingOccurrences(of: "$RECOMMENDER_SELECTOR", with: recommenderSelector)
        text = text.replacingOccurrences(of: "$SELECTOR", with: selector)
        if let range { text = text.replacingOccurrences(of: "$RANGE", with: range.prometheusRange) }
        return text
    }
}
