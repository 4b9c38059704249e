import Foundation
import ModelConfig
import PrometheusClient

/// A PromQL signal the recommender reads; the value of the `signal` label on its own metrics.
public enum Signal: String, Sendable, CaseIterable {
    case requests, running, waiting, ready, kvCache = "kv_cache", demand, gatewayRequests = "gateway_requests", recovery
    case recoveryWakePath = "recovery_wake_path"
    case recoveryWakePathRevoked = "recovery_wake_path_revoked"
    case recoveryAdopted = "recovery_adopted"
    case recoveryLearned = "recovery_learned"
    case recoveryGatewayAnswered = "recovery_gateway_answered"
    case demandCatchUp = "demand_catch_up"
    case gatewayErrorsBefore = "gateway_errors_before"
}

/// The PromQL templates, one per signal, each evaluated once per tick for every model at once.
///
/// Placeholders: `$SELECTOR` (extra matchers on vLLM series, e.g. `job="vllm"`),
/// `$GATEWAY_SELECTOR` (on the gateway queue series), `$RECOMMENDER_SELECTOR` (on this service's own
/// `inferno_desired_replicas`), `$RANGE` (a retention period, or the recovery window), `$OFFSET`
/// (how far back ``gatewayErrorsBefore`` looks).
public struct QueryTemplates: Sendable {
    /// Completed requests in the window, one query per distinct retention period; with, in the
    /// same answer, how many samples the window holds per model (series labelled
    /// `rr_window_samples`): a window that holds less than R of data (a fresh Prometheus, a
    /// replica of an HA pair that just started, a TSDB gap) is no evidence of R without requests.
    /// The count is the largest over the window's series (the TSDB holds that much), but no more than
    /// the smallest over the series that are current and have counted something: a new replica
    /// whose counter is already above 0 at its first sample is evidence only once it has been
    /// scraped for R (`increase` cannot see requests it served before its first scrape); a counter
    /// still at 0 has never counted a request, whatever the window holds. (`and` binds tighter
    /// than `or`.)
    /// A third series (`rr_window_resets`) counts the request counters reset inside the window (a
    /// container restarted): what a counter counted between its last scrape and the reset is lost,
    /// so the window is no evidence until the reset has left it.
    /// A fourth (`rr_window_ended`) counts the request-counter series that ended inside the
    /// window (a pod removed, or its scrapes failing): a request it served after its last scrape
    /// is in no sample, so the window is no evidence until that series has left it — R after a
    /// scale-down at the latest.
    /// A replaced template without these series is trusted as it is.
    public var requests =
        "sum by (namespace, model_name) (increase(vllm:request_success_total{$SELECTOR}[$RANGE])) or label_replace(min by (namespace, model_name) (count_over_time(vllm:request_success_total{$SELECTOR}[$RANGE]) and vllm:request_success_total{$SELECTOR} and min_over_time(vllm:request_success_total{$SELECTOR}[$RANGE]) > 0 or max by (namespace, model_name) (count_over_time(vllm:request_success_total{$SELECTOR}[$RANGE]))), \"rr_window_samples\", \"true\", \"\", \"\") or label_replace(sum by (namespace, model_name) (resets(vllm:request_success_total{$SELECTOR}[$RANGE])) > 0, \"rr_window_resets\", \"true\", \"\", \"\") or label_replace(count by (namespace, model_name) (count_over_time(vllm:request_success_total{$SELECTOR}[$RANGE]) unless vllm:request_success_total{$SELECTOR}), \"rr_window_ended\", \"true\", \"\", \"\")"
    /// The label that marks the window-samples series of the requests query.
    public static let windowSamplesLabel = "rr_window_samples"
    /// The label that marks the counter-resets series of the requests query.
    public static let windowResetsLabel = "rr_window_resets"
    /// The label that marks the ended-series series of the requests query.
    public static let windowEndedLabel = "rr_window_ended"
    /// Requests being processed.
    public var running = "sum by (namespace, model_name) (vllm:num_requests_running{$SELECTOR})"
    /// Requests queued inside the pods.
    public var waiting = "sum by (namespace, model_name) (vllm:num_requests_waiting{$SELECTOR})"
    /// Ready replicas: pods exporting a vLLM series, counted per pod (the engines of a
    /// data-parallel pod export one series each, under the same `pod`/`instance`).
    public var ready = "count by (namespace, model_name) (group by (namespace, model_name, pod, instance) (vllm:num_requests_running{$SELECTOR}))"
    /// Average KV-cache usage.
    public var kvCache = "avg by (namespace, model_name) (vllm:kv_cache_usage_perc{$SELECTOR})"
    /// Demand at the gateway: the endpoint picker's queue, the newer metric name first — its
    /// largest value since the last tick (`$RANGE`: a tick plus a scrape): a request that queued
    /// between two ticks shows even when the gateway's series went stale before the second (its
    /// scrapes failing). With flow control a queued request is in no request counter until it is
    /// dispatched, so for a model at zero the queue is its only trace.
    public var demand =
        "sum by (namespace, target_model_name) (max_over_time(llm_d_epp_flow_control_queue_size{$GATEWAY_SELECTOR}[$RANGE])) or sum by (namespace, target_model_name) (max_over_time(inference_extension_flow_control_queue_size{$GATEWAY_SELECTOR}[$RANGE]))"
    /// Demand over a stretch the recommender could not see (`$RANGE`: the stretch): the largest
    /// queue each target had in it. Read once, after the recommender's own
    /// queries failed (an outage, a rejected token) or at a process's first answer: requests that
    /// queued meanwhile for a model at zero are demand even when the gateway's series went stale
    /// since (its scrapes fail) and the current queue cannot show them.
    public var demandCatchUp =
        "sum by (namespace, target_model_name) (max_over_time(llm_d_epp_flow_control_queue_size{$GATEWAY_SELECTOR}[$RANGE])) or sum by (namespace, target_model_name) (max_over_time(inference_extension_flow_control_queue_size{$GATEWAY_SELECTOR}[$RANGE]))"
    /// The gateway's per-model request counters, increased over a few scrapes (`$RANGE` = 3
    /// scrape intervals): demand for a model with no replica, and their series prove the gateway
    /// routes the model (a wake path). The endpoint picker counts a request in
    /// `inference_objective_request_total` only once it is scheduled to a pod, and one it rejects
    /// (no pod ready: a model at zero without flow control) in
    /// `inference_objective_request_error_total` (label `error_code`; gateway-api-inference-extension
    /// `pkg/epp/handlers/server.go`, `RecordRequestCounter` after `director.HandleRequest` succeeds,
    /// `RecordRequestErrCounter` otherwise): the two are summed per target — the error counter
    /// without the codes that are no demand for capacity (`BadRequest`, `BadConfiguration`: a
    /// malformed request; `ModelServerError`: a pod's error response, already in the request
    /// counter). The presence series of the error counters is apart (`rr_present="errors"`): a
    /// target known by its request counter whose error counter is new counts its first value. The newer metric
    /// names first, then those of gateway-api-inference-extension before v1.0. `increase`
    /// rides out a gateway restart (counter reset) and a missed scrape of one gateway.
    /// The answer also names every target with a sample in the window (`rr_present`, the sum of its
    /// last counters): a target whose scrapes resume shows there from its first sample, when
    /// `increase` needs two, so the catch-up read over the gap (``SignalCollector``) runs one scrape
    /// earlier; a target's first series, created by the first request for it, counts that request,
    /// which `increase` never does; and the catch-up read over a gap sees every target that had a
    /// series in it (a wake path), one sample is enough. A replaced template without those series is caught up once
    /// `increase` answers again.
    public var gatewayRequests =
        "sum by (namespace, model_name, target_model_name) (increase(inference_objective_request_total{$GATEWAY_SELECTOR}[$RANGE]) or increase(inference_objective_request_error_total{error_code!~\"BadRequest|BadConfiguration|ModelServerError\",$GATEWAY_SELECTOR}[$RANGE])) or sum by (namespace, model_name, target_model_name) (increase(inference_model_request_total{$GATEWAY_SELECTOR}[$RANGE]) or increase(inference_model_request_error_total{error_code!~\"BadRequest|BadConfiguration|ModelServerError\",$GATEWAY_SELECTOR}[$RANGE])) or label_replace(sum by (namespace, model_name, target_model_name) (last_over_time(inference_objective_request_total{$GATEWAY_SELECTOR}[$RANGE]) or last_over_time(inference_model_request_total{$GATEWAY_SELECTOR}[$RANGE])), \"rr_present\", \"true\", \"\", \"\") or label_replace(sum by (namespace, model_name, target_model_name) (last_over_time(inference_objective_request_error_total{error_code!~\"BadRequest|BadConfiguration|ModelServerError\",$GATEWAY_SELECTOR}[$RANGE]) or last_over_time(inference_model_request_error_total{error_code!~\"BadRequest|BadConfiguration|ModelServerError\",$GATEWAY_SELECTOR}[$RANGE])), \"rr_present\", \"errors\", \"\", \"\")"
    /// The gateway's counters as they were `$OFFSET` ago (their last value in the `$RANGE` before
    /// then, presence series as in ``gatewayRequests``: `rr_present="errors"` for the error
    /// counters, `"true"` for the request counters), read by a process's first answer with
    /// `$OFFSET` back to where the last process last read the gateway (less a margin). An error
    /// counter present now that was not then was born meanwhile — created by a rejection nobody
    /// counted (`increase` never counts a series' first value, and the last process never saw it)
    /// — so its value is demand. Only when the store held some gateway series then: a store with no
    /// data that far back (a fresh TSDB, a replica of an HA pair that lost its storage) cannot tell
    /// a counter born a moment ago from one that has existed for days.
    public var gatewayErrorsBefore =
        "label_replace(sum by (namespace, model_name, target_model_name) (last_over_time(inference_objective_request_error_total{error_code!~\"BadRequest|BadConfiguration|ModelServerError\",$GATEWAY_SELECTOR}[$RANGE] offset $OFFSET) or last_over_time(inference_model_request_error_total{error_code!~\"BadRequest|BadConfiguration|ModelServerError\",$GATEWAY_SELECTOR}[$RANGE] offset $OFFSET)), \"rr_present\", \"errors\", \"\", \"\") or label_replace(sum by (namespace, model_name, target_model_name) (last_over_time(inference_objective_request_total{$GATEWAY_SELECTOR}[$RANGE] offset $OFFSET) or last_over_time(inference_model_request_total{$GATEWAY_SELECTOR}[$RANGE] offset $OFFSET)), \"rr_present\", \"true\", \"\", \"\")"
    /// The label that marks the presence series of the gateway request-counter query.
    public static let presentLabel = "rr_present"
    /// Its value on the error counters' presence series (`true` on the request counters').
    public static let presentErrors = "errors"
    /// Restart recovery, first: the value each model has now (series of a running replica of this
    /// service; a restarted pod's old series are stale and absent), so the latest wins over an
    /// older pod's higher value.
    public var recoveryCurrent = "max by (namespace, model_name) (inferno_desired_replicas{$RECOMMENDER_SELECTOR})"
    /// Restart recovery, then, for models with no current series: this service's last exported
    /// value per model within the recovery window.
    public var recovery =
        "max by (namespace, model_name) (last_over_time(inferno_desired_replicas{$RECOMMENDER_SELECTOR}[$RANGE]))"
    /// Restart recovery of proven wake paths: when the gateway was last seen routing each model.
    public var recoveryWakePath =
        "max by (namespace, model_name) (max_over_time(recommender_model_gateway_last_seen_timestamp_seconds{$RECOMMENDER_SELECTOR}[$RANGE]))"
    /// Restart recovery of revoked sightings: when a sighting of each model was last revoked (a
    /// rival for its name appeared); a sighting no later than its revocation is not recovered,
    /// whichever replica of this service exported either (each pod's series are its own).
    public var recoveryWakePathRevoked =
        "max by (namespace, model_name) (max_over_time(recommender_model_gateway_revoked_timestamp_seconds{$RECOMMENDER_SELECTOR}[$RANGE]))"

    /// Restart recovery of the records adopted from a gateway series' namespace label alone (1;
    /// 0 once evidenced): they stay no candidate for a wake path after a restart.
    public var recoveryAdopted =
        "max by (namespace, model_name) (last_over_time(recommender_model_adopted_from_gateway_label{$RECOMMENDER_SELECTOR}[$RANGE]))"

    /// Restart recovery of how far the last process had read the gateway: up to when its request
    /// counters and its queue were read (label `signal`; one series per replica of this service;
    /// the latest counts). A process's first answer reads each back from there, so what queued or
    /// was counted while no process could see (the last one's queries failing, then the restart)
    /// is demand.
    public var recoveryGatewayAnswered =
        "max_over_time(recommender_gateway_last_answered_timestamp_seconds{$RECOMMENDER_SELECTOR}[$RANGE])"

    /// Restart recovery of adaptive keep-alive's learned values: `$METRIC` is each learned gauge,
    /// `$LABEL` the label that tells its samples apart (`, quantile`), if any.
    public var recoveryLearned =
        "max by (namespace, model_name$LABEL) (last_over_time($METRIC{$RECOMMENDER_SELECTOR}[$RANGE]))"

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
        case .demandCatchUp: demandCatchUp
        case .gatewayRequests: gatewayRequests
        case .recovery: recovery
        case .recoveryWakePath: recoveryWakePath
        case .recoveryWakePathRevoked: recoveryWakePathRevoked
        case .recoveryAdopted: recoveryAdopted
        case .recoveryLearned: recoveryLearned
        case .recoveryGatewayAnswered: recoveryGatewayAnswered
        case .gatewayErrorsBefore: gatewayErrorsBefore
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
    /// The scrape interval of the vLLM pods: the requests window is the retention plus one scrape,
    /// because Prometheus places a completion only between two scrapes. `increase(...[R])` alone
    /// reads 0 up to one scrape before R has passed since the last request; `[R + scrape]` reads 0
    /// only once R has passed, and at most one scrape later (spec §5 step 3). Zero (this type's
    /// default) leaves the window at R exactly; `serve` defaults to 30s (`--scrape-interval`).
    public var scrapeInterval: ConfigDuration
    /// The tick interval (zero: unknown): the gateway's window must span from one tick to the next.
    public var tickInterval: ConfigDuration

    /// Creates a builder.
    public init(
        templates: QueryTemplates = QueryTemplates(), selector: String = "", gatewaySelector: String = "", recommenderSelector: String = "",
        scrapeInterval: ConfigDuration = ConfigDuration(milliseconds: 0), tickInterval: ConfigDuration = ConfigDuration(milliseconds: 0)
    ) {
        self.templates = templates
        self.selector = selector
        self.gatewaySelector = gatewaySelector
        self.recommenderSelector = recommenderSelector
        self.scrapeInterval = scrapeInterval
        self.tickInterval = tickInterval
    }

    /// The window of the gateway request-counter query: three scrapes, and at least a tick plus
    /// two scrapes — with ticks farther apart than that, a rise between two ticks (a rejected
    /// request, its series' samples gone stale since) would fall between their windows.
    public var gatewayWindow: ConfigDuration {
        guard scrapeInterval.milliseconds > 0 else { return ConfigDuration(seconds: 60) }
        return ConfigDuration(milliseconds: max(3 * scrapeInterval.milliseconds, tickInterval.milliseconds + 2 * scrapeInterval.milliseconds))
    }

    /// The window of the demand query: from the last tick, a tick plus a scrape (a minute when the
    /// scrape interval is unknown).
    public var demandWindow: ConfigDuration {
        guard scrapeInterval.milliseconds > 0 else { return ConfigDuration(seconds: 60) }
        return ConfigDuration(milliseconds: max(tickInterval.milliseconds, scrapeInterval.milliseconds) + scrapeInterval.milliseconds)
    }

    /// The first recovery query (the current recommendations).
    public func recoveryCurrentQuery() -> String {
        Self.substitute(templates.recoveryCurrent, [("$RECOMMENDER_SELECTOR", recommenderSelector)])
    }

    /// The query for `signal`, with `range` for `$RANGE` (left as written when there is none) and
    /// `offset` for `$OFFSET`. One pass over the template: a value is never itself searched for
    /// placeholders.
    public func query(_ signal: Signal, range: ConfigDuration? = nil, offset: ConfigDuration? = nil) -> String {
        var values = [("$GATEWAY_SELECTOR", gatewaySelector), ("$RECOMMENDER_SELECTOR", recommenderSelector), ("$SELECTOR", selector)]
        if let offset { values.append(("$OFFSET", offset.prometheusRange)) }
        if signal == .gatewayRequests {
            values.append(("$RANGE", (range ?? gatewayWindow).prometheusRange))
        } else if signal == .demand {
            values.append(("$RANGE", (range ?? demandWindow).prometheusRange))
        } else if var range {
            if signal == .requests { range = ConfigDuration(milliseconds: range.milliseconds + scrapeInterval.milliseconds) }
            values.append(("$RANGE", range.prometheusRange))
        }
        return Self.substitute(templates.template(signal), values)
    }

    /// Replaces each placeholder of `values` in `template`, left to right in one pass (the tick asks
    /// for every query anew: Foundation's `replacingOccurrences` was a third of a simulated tick).
    static func substitute(_ template: String, _ values: [(name: String, value: String)]) -> String {
        guard template.utf8.contains(UInt8(ascii: "$")) else { return template }
        var out = ""
        out.reserveCapacity(template.utf8.count + 128)
        var rest = template[...]
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let tail = rest[dollar...]
            if let hit = values.first(where: { tail.hasPrefix($0.name) }) {
                out += hit.value
                rest = tail.dropFirst(hit.name.count)
            } else {
                out += "$"
                rest = tail.dropFirst()
            }
        }
        out += rest
        return out
    }
}
