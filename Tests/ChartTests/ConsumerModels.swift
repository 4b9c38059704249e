import Foundation

// Models of the consumers' documented behaviour. KEDA and the HPA cannot run here (no Kubernetes
// API); these encode their upstream sources, which the tests apply to the objects the chart renders.

/// KEDA's polling loop for one ScaledObject, as kedacore/keda v2.20.2 (main at 8b4f083, Aug 2026)
/// does it:
/// - a prometheus trigger reads one series; an empty result is 0 with `ignoreNullValues: true` (the
///   default) and an error with "false"; more than one series is an error; it is active when its
///   value is above `activationThreshold` (pkg/scalers/prometheus_scaler.go ExecutePromQuery,
///   GetMetricsAndActivity);
/// - a failing trigger with a valid fallback, after more than `failureThreshold` failures, is
///   replaced by the fallback metric and counted as active ("When fallback is active, the scaler
///   should be considered active", pkg/scaling/scale_handler.go getScalerState; applied in the
///   polling loop since v2.19.0, CHANGELOG "Apply fallback in polling loop to enable scaling from
///   zero (#7239)"); the fallback metric is `replicas × target` for `static`, the current replicas
///   for `currentReplicas`, their max for `currentReplicasIfHigher` (pkg/fallback/fallback.go doFallback);
/// - the ScaledObject is active when any trigger is (OR), and in error when any trigger errs
///   (scale_handler.go getScaledObjectState);
/// - pkg/scaling/executor/scale_scaledobjects.go RequestScale: active at 0 replicas scales to
///   max(minReplicaCount, 1) even with other triggers in error; inactive with an error and no
///   fallback changes nothing; inactive without error at > 0 replicas deactivates to
///   minReplicaCount after cooldownPeriod; otherwise the HPA sizes the workload.
enum KEDAModel {
    /// A prometheus trigger as rendered.
    struct Trigger {
        var threshold: Double
        var activationThreshold: Double
        var ignoreNullValues: Bool

        /// From a rendered trigger's metadata (KEDA's defaults for what is absent).
        init(_ metadata: [String: Any]) {
            threshold = Double(metadata["threshold"] as? String ?? "") ?? .nan
            activationThreshold = Double(metadata["activationThreshold"] as? String ?? "0") ?? 0
            ignoreNullValues = (metadata["ignoreNullValues"] as? String ?? "true").lowercased() == "true"
        }

        /// What the trigger makes of a query's answer: the values of its series, or nil when
        /// Prometheus failed.
        func read(_ series: [Double]?) -> Reading {
            guard let series else { return .error }
            switch series.count {
            case 0: return ignoreNullValues ? .value(0) : .error
            case 1: return series[0].isNaN || series[0].isInfinite ? (ignoreNullValues ? .value(0) : .error) : .value(series[0])
            default: return .error
            }
        }
    }

    /// A trigger's reading in one poll.
    enum Reading: Equatable {
        case value(Double)
        case error
    }

    /// A ScaledObject's fallback as rendered.
    struct Fallback {
        var behavior: String
        var replicas: Int
        var failureThreshold: Int

        init?(_ spec: Any?) {
            guard let spec = spec as? [String: Any] else { return nil }
            behavior = spec["behavior"] as? String ?? "static"
            replicas = spec["replicas"] as? Int ?? 0
            failureThreshold = spec["failureThreshold"] as? Int ?? 3
        }

        /// The metric value the failing trigger is replaced by (before division by readiness for
        /// Value targets, which the chart does not use).
        func metric(currentReplicas: Int, target: Double) -> Double {
            switch behavior {
            case "currentReplicas": Double(currentReplicas) * target
            case "currentReplicasIfHigher": Double(max(currentReplicas, replicas)) * target
            case "currentReplicasIfLower": Double(min(currentReplicas, replicas)) * target
            default: Double(replicas) * target
            }
        }
    }

    /// What the executor does in one poll.
    enum Action: Equatable {
        /// Scale a workload at zero up to this many replicas.
        case activate(to: Int)
        /// Scale to minReplicaCount once cooldownPeriod has passed since the last activity.
        case deactivate
        /// Leave the replica count alone (an error with no fallback, or nothing to do).
        case hold
        /// Active at > 0 replicas: the HPA sizes the workload from the metrics.
        case hpa(metrics: [Double?])
    }

    /// One poll: the triggers and their readings, the fallback and how many consecutive failures
    /// each failing trigger has had, the current replicas and the ScaledObject's minReplicaCount.
    static func poll(
        _ triggers: [(Trigger, Reading)], fallback: Fallback?, failures: Int, currentReplicas: Int, minReplicaCount: Int = 0
    ) -> Action {
        var active = false
        var error = false
        var metrics: [Double?] = []
        for (trigger, reading) in triggers {
            switch reading {
            case .value(let value):
                if value > trigger.activationThreshold { active = true }
                metrics.append(value)
            case .error:
                if let fallback, fallback.replicas >= 0, failures > fallback.failureThreshold {
                    active = true
                    metrics.append(fallback.metric(currentReplicas: currentReplicas, target: trigger.threshold))
                } else {
                    error = true
                    metrics.append(nil)
                }
            }
        }
        if active {
            if currentReplicas == 0 { return .activate(to: max(minReplicaCount, 1)) }
            return error ? .hold : .hpa(metrics: metrics)
        }
        if error { return .hold }
        if currentReplicas > 0 && minReplicaCount == 0 { return .deactivate }
        return .hold
    }
}

/// The HPA's arithmetic, as kubernetes/kubernetes pkg/controller/podautoscaler does it (v1.33 and
/// later, with per-direction tolerances):
/// - replica_calculator.go GetExternalPerPodMetricReplicas (AverageValue): usage is the sum of
///   the metric's series; ratio = usage / (target × current); outside the tolerance band
///   (`Tolerances.isWithin`: 1 − down ≤ ratio ≤ 1 + up, default 0.1 each) the proposal is
///   ceil(usage / target), inside it the current count;
/// - horizontal.go computeReplicasForMetrics: the largest proposal over the metrics; when every
///   metric is invalid, or some are and the largest proposal would scale down, no change.
enum HPAModel {
    /// A proposal for one AverageValue external metric.
    static func averageValue(current: Int, series: [Double], target: Double, tolerance: (down: Double, up: Double) = (0.1, 0.1)) -> Int {
        let usage = series.reduce(0, +)
        let ratio = usage / (target * Double(current))
        if (1.0 - tolerance.down) <= ratio && ratio <= (1.0 + tolerance.up) { return current }
        return Int((usage / target).rounded(.up))
    }

    /// The HPA's decision over its metrics' proposals (nil: the metric is invalid); nil means no change.
    static func combine(_ proposals: [Int?], specReplicas: Int) -> Int? {
        let valid = proposals.compactMap { $0 }
        let invalid = proposals.count - valid.count
        let largest = valid.max() ?? 0
        if invalid >= proposals.count || (invalid > 0 && largest < specReplicas) { return nil }
        return largest
    }

    /// A tolerance as rendered in an HPA behaviour (`tolerance` of scaleDown and scaleUp), the
    /// cluster default (0.1) where absent.
    static func tolerance(_ behavior: Any?) -> (down: Double, up: Double) {
        func value(_ direction: String) -> Double {
            guard let text = dig(behavior, direction, "tolerance") as? String else { return 0.1 }
            return Double(text) ?? .nan
        }
        return (value("scaleDown"), value("scaleUp"))
    }
}
