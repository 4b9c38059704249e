import Foundation

/// The PromQL that the consumers of the recommendation run, written exactly as the Helm chart
/// writes it into the objects it generates (`charts/replica-recommender/templates/_helpers.tpl`:
/// `rr.desiredQuery`, `rr.demandQuery`, `rr.adapterQuery`), so `explain --consumer` shows a user the
/// query their KEDA or HPA really runs. The chart tests compare both.
public enum ConsumerQueries {
    /// The endpoint picker's error codes that are no demand for capacity (a malformed request, a
    /// pod's error response already in the request counter), left out of the counters' increase.
    static let demandErrorCodes = "error_code!~\"BadRequest|BadConfiguration|ModelServerError\","
    /// Which gateway series count as demand, and how they name the model.
    public struct DemandOptions: Sendable, Hashable {
        /// Gauges of requests queued in the endpoint picker's flow control.
        public var queueMetrics: [String]
        /// Counters of requests the endpoint picker scheduled and rejected.
        public var requestCounters: [String]
        /// The label naming the model on those series.
        public var modelLabel: String
        /// When set, only series whose label of this name is the target's namespace count.
        public var namespaceLabel: String
        /// Extra matchers on the gateway's series (the chart's `prometheus.gatewaySelector`).
        public var gatewaySelector: String
        /// The `increase()` window of the counters, a PromQL duration.
        public var window: String

        /// The chart's defaults (`autoscaling.keda.demand`).
        public init(
            queueMetrics: [String] = ["llm_d_epp_flow_control_queue_size", "inference_extension_flow_control_queue_size"],
            requestCounters: [String] = ["inference_objective_request_total", "inference_objective_request_error_total", "inference_model_request_total", "inference_model_request_error_total"],
            modelLabel: String = "target_model_name", namespaceLabel: String = "", gatewaySelector: String = "",
            window: String = "2m"
        ) {
            self.queueMetrics = queueMetrics
            self.requestCounters = requestCounters
            self.modelLabel = modelLabel
            self.namespaceLabel = namespaceLabel
            self.gatewaySelector = gatewaySelector
            self.window = window
        }
    }

    /// KEDA's recommendation trigger: the recommendation as one series, however many recommender
    /// replicas export it (KEDA's prometheus scaler fails on more than one series).
    public static func kedaRecommendation(variant: String, namespace: String) -> String {
        "max(inferno_desired_replicas{variantautoscaling_name=\"\(promString(variant))\",variantautoscaling_namespace=\"\(promString(namespace))\"})"
    }

    /// KEDA's activation-only demand trigger: queued requests plus the counters' increase, under the
    /// model id or an alias, always one series (0 when the gateway has no series for the model).
    /// Nil when there is nothing to select on (no names, or no metrics).
    public static func kedaDemand(names: [String], namespace: String, options: DemandOptions = DemandOptions()) -> String? {
        var unique: [String] = []
        for name in names where !unique.contains(name) { unique.append(name) }
        guard !unique.isEmpty, !(options.queueMetrics.isEmpty && options.requestCounters.isEmpty) else { return nil }
        var matchers = ["\(options.modelLabel)=~\"\(promString(unique.map(regexQuoteMeta).joined(separator: "|")))\""]
        if !options.namespaceLabel.isEmpty { matchers.append("\(options.namespaceLabel)=\"\(promString(namespace))\"") }
        if !options.gatewaySelector.isEmpty { matchers.append(options.gatewaySelector) }
        let selector = matchers.joined(separator: ",")
        var parts: [String] = []
        if !options.queueMetrics.isEmpty {
            parts.append("(sum({__name__=~\"\(options.queueMetrics.joined(separator: "|"))\",\(selector)}) or vector(0))")
        }
        if !options.requestCounters.isEmpty {
            parts.append(
                "(sum(increase({__name__=~\"\(options.requestCounters.joined(separator: "|"))\",\(Self.demandErrorCodes)\(selector)}[\(options.window)])) or vector(0))")
        }
        return parts.joined(separator: " + ")
    }

    /// The query prometheus-adapter runs for an HPA in `namespace` selecting `variant`, with the
    /// external rule of `config/integrations/prometheus-adapter-values.yaml` (the adapter puts the
    /// metric selector's matchers first, then the namespace matcher; pkg/naming/metrics_query.go).
    public static func adapter(variant: String, namespace: String) -> String {
        "max by (variantautoscaling_namespace, variantautoscaling_name) (inferno_desired_replicas{variantautoscaling_name=\"\(promString(variant))\",variantautoscaling_namespace=\"\(promString(namespace))\"})"
    }

    /// Go's `regexp.QuoteMeta` (Helm's `regexQuoteMeta`): a backslash before each of `\.+*?()|[]{}^$`.
    public static func regexQuoteMeta(_ text: String) -> String {
        var quoted = ""
        for character in text {
            if "\\.+*?()|[]{}^$".contains(character) { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted
    }

    /// The content of a PromQL double-quoted string: backslashes and double quotes escaped.
    public static func promString(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
