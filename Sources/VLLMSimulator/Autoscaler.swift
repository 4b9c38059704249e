import Foundation

/// A KEDA ScaledObject with Prometheus triggers and the HPA it creates, acting on one Deployment
/// the way the upstream controllers do, in scenario time. Used by `vllm-sim --hpa` to follow a
/// recommendation like a cluster would (tolerance, stabilization, rate limits, activation), where
/// a real HPA and KEDA cannot run. Encoded from (Kubernetes 1.33, KEDA 2.17):
///
/// - every metric is External with target type AverageValue `target` (KEDA's prometheus trigger
///   with `metricType: AverageValue`, the default): its proposal is `ceil(value / target)` unless
///   `value / (target × status.replicas)` is within the tolerance band, then `status.replicas`
///   (`pkg/controller/podautoscaler/replica_calculator.go`, `GetExternalPerPodMetricReplicas`;
///   `horizontal.go` passes the scale's status replicas: surge pods count);
/// - the largest proposal wins; an unreadable metric blocks a scale-down
///   (`horizontal.go`, `computeReplicasForMetrics`);
/// - stabilization: the recommendation is kept within [min over the scale-up window, max over the
///   scale-down window] of the past proposals, the window seeded with the current replicas
///   (`horizontal.go`, `stabilizeRecommendationWithBehaviors`, `maybeInitScaleDownStabilizationWindow`);
/// - scale-up rate: at most the larger of +4 pods and +100 % per 15 s, counted from the replicas at
///   the start of the period (`pkg/apis/autoscaling/v2/defaults.go`, `horizontal.go`,
///   `calculateScaleUpLimitWithScalingRules`); scale-down is not rate-limited by default (100 % per 15 s);
/// - KEDA: at 0 replicas a trigger above its activation threshold (0) scales to
///   max(minReplicaCount, 1) and the HPA is idle; with every trigger at 0 for `cooldown` the
///   Deployment goes to 0 (`pkg/scaling/executor/scale_scaledobjects.go`, `scaleFromZeroOrIdle`);
///   an empty query result reads 0 (`ignoreNullValues: true`, `pkg/scalers/prometheus_scaler.go`).
public struct AutoscalerEmulation: Sendable {
    /// The HPA `behavior` and KEDA settings; defaults are the upstream defaults.
    public struct Settings: Sendable, Hashable {
        /// HPA tolerance, both directions (`--horizontal-pod-autoscaler-tolerance`, default 0.1).
        public var tolerance: Double
        /// Scale-down stabilization window in scenario seconds (default 300).
        public var scaleDownWindow: Double
        /// Scale-up stabilization window in scenario seconds (default 0).
        public var scaleUpWindow: Double
        /// Scale-up policies: at most `scaleUpPods` more, or `scaleUpPercent` % more, per `scaleUpPeriod` (the larger).
        public var scaleUpPods: Int
        /// See `scaleUpPods`.
        public var scaleUpPercent: Double
        /// See `scaleUpPods`, scenario seconds.
        public var scaleUpPeriod: Double
        /// KEDA's `minReplicaCount` (0: scale to zero when every trigger is inactive).
        public var minReplicaCount: Int
        /// KEDA's `maxReplicaCount` (the HPA's `maxReplicas`).
        public var maxReplicas: Int
        /// KEDA's `cooldownPeriod` in scenario seconds (default 300).
        public var cooldown: Double

        /// Creates settings; every default is the upstream one.
        public init(
            tolerance: Double = 0.1, scaleDownWindow: Double = 300, scaleUpWindow: Double = 0, scaleUpPods: Int = 4,
            scaleUpPercent: Double = 100, scaleUpPeriod: Double = 15, minReplicaCount: Int = 0, maxReplicas: Int = 100,
            cooldown: Double = 300
        ) {
            self.tolerance = tolerance
            self.scaleDownWindow = scaleDownWindow
            self.scaleUpWindow = scaleUpWindow
            self.scaleUpPods = scaleUpPods
            self.scaleUpPercent = scaleUpPercent
            self.scaleUpPeriod = scaleUpPeriod
            self.minReplicaCount = minReplicaCount
            self.maxReplicas = maxReplicas
            self.cooldown = cooldown
        }
    }

    /// The settings.
    public let settings: Settings
    /// The metric targets (AverageValue), one per metric.
    public let targets: [Double]
    var recommendations: [(at: Double, replicas: Int)] = []
    var scaleUpEvents: [(at: Double, change: Int)] = []
    var scaleDownEvents: [(at: Double, change: Int)] = []
    var lastActive: Double?

    /// Creates the autoscaler of one workload.
    public init(settings: Settings, targets: [Double]) {
        self.settings = settings
        self.targets = targets
    }

    /// One sync: the Deployment's new `spec.replicas` from the metrics' values (nil: the query
    /// failed), its current `spec` and `status` replicas, at scenario time `now`.
    public mutating func reconcile(values: [Double?], spec: Int, status: Int, now: Double) -> Int {
        let known = values.compactMap { $0 }
        let active = known.contains { $0 > 0 }
        if active || lastActive == nil { lastActive = now }
        // KEDA's part: activation from zero, and zero after the cooldown.
        if spec == 0 {
            guard active else { return 0 }
            return record(max(settings.minReplicaCount, 1), from: 0, now: now)
        }
        if settings.minReplicaCount == 0, !known.isEmpty, known.count == values.count, !active,
            let last = lastActive, now - last >= settings.cooldown {
            recommendations.removeAll()
            return record(0, from: spec, now: now)
        }
        // The HPA's part.
        let hpaMin = max(settings.minReplicaCount, 1)
        guard !known.isEmpty else { return spec }
        var proposal = 0
        for (value, target) in zip(values, targets) {
            guard let value else { continue }
            let base = max(status, 1)
            let ratio = value / (target * Double(base))
            let within = (1 - settings.tolerance) <= ratio && ratio <= (1 + settings.tolerance)
            proposal = max(proposal, within ? base : Int((value / target - 1e-9).rounded(.up)))
        }
        if known.count < values.count && proposal < spec { return spec }

        // Stabilization over the past proposals (seeded with the current replicas).
        if recommendations.isEmpty { recommendations.append((now, spec)) }
        var upLimit = proposal, downLimit = proposal
        for past in recommendations {
            if past.at > now - settings.scaleUpWindow { upLimit = min(upLimit, past.replicas) }
            if past.at > now - settings.scaleDownWindow { downLimit = max(downLimit, past.replicas) }
        }
        recommendations.removeAll { $0.at <= now - max(settings.scaleUpWindow, settings.scaleDownWindow) }
        recommendations.append((now, proposal))
        var desired = min(max(spec, upLimit), downLimit)

        // Rate limits and bounds.
        if desired > spec {
            let added = scaleUpEvents.filter { $0.at > now - settings.scaleUpPeriod }.reduce(0) { $0 + $1.change }
            let deleted = scaleDownEvents.filter { $0.at > now - settings.scaleUpPeriod }.reduce(0) { $0 + $1.change }
            let periodStart = spec - added + deleted
            let byPods = periodStart + settings.scaleUpPods
            let byPercent = Int((Double(periodStart) * (1 + settings.scaleUpPercent / 100)).rounded(.up))
            desired = min(desired, max(max(byPods, byPercent), spec), settings.maxReplicas)
        }
        desired = min(max(desired, hpaMin), max(settings.maxReplicas, hpaMin))
        return record(desired, from: spec, now: now)
    }

    private mutating func record(_ desired: Int, from spec: Int, now: Double) -> Int {
        let horizon = max(settings.scaleUpPeriod, 60)
        scaleUpEvents.removeAll { $0.at <= now - horizon }
        scaleDownEvents.removeAll { $0.at <= now - horizon }
        if desired > spec { scaleUpEvents.append((now, desired - spec)) }
        if desired < spec { scaleDownEvents.append((now, spec - desired)) }
        return desired
    }
}
