import Foundation
import ModelConfig

/// What adaptive keep-alive has learned of one model: its idle gaps, the rhythm of its bursts and
/// its cold start. Plain data carried in ``ModelState``; ``KeepAlive`` reads one and returns the next.
/// Stored out of line (one reference, nil while empty): the decision core copies states every tick,
/// and most models learn nothing between two ticks.
public struct KeepAliveState: Sendable, Hashable {
    /// The learned values. A value type; each change is written to a new box, so copies of a state
    /// never see each other's changes.
    struct Learned: Sendable, Hashable {
        var gaps = GapHistogram()
        var lastArrival: Instant?
        var burstStarts: [Double] = []
        var period: Double?
        var spread: Double = 0
        var coldStart: Double?
        var recoveredRetention: Double?
        /// Gaps of at least the minimum retention learned since the restart that recovered this state.
        var gapsSinceRecovery = 0
        var choice: Choice?
    }

    private final class Box: Sendable {
        let value: Learned
        init(_ value: Learned) { self.value = value }
    }

    private var box: Box?

    var learned: Learned {
        get { box?.value ?? Learned() }
        set { box = Box(newValue) }
    }

    public static func == (lhs: KeepAliveState, rhs: KeepAliveState) -> Bool { lhs.box === rhs.box || lhs.learned == rhs.learned }
    public func hash(into hasher: inout Hasher) { hasher.combine(learned) }

    /// The idle gaps seen, by bucket of ``KeepAlive/ladder`` (weights decay with time).
    public var gaps: GapHistogram { learned.gaps }
    /// The last tick an arrival was seen (gateway requests or demand, a wake call, requests in flight).
    public var lastArrival: Instant? { learned.lastArrival }
    /// The starts of the latest bursts (arrivals after a gap of at least ``KeepAlive/burstGap(_:)``),
    /// oldest first, in seconds.
    public var burstStarts: [Double] { learned.burstStarts }
    /// The period of the bursts when the latest ones came at a regular interval; nil otherwise.
    public var period: Double? { learned.period }
    /// The largest deviation of those intervals from the period, in seconds.
    public var spread: Double { learned.spread }
    /// The last measured cold start (0 → ready), in seconds; nil until one was measured.
    public var coldStart: Double? { learned.coldStart }
    /// A retention read back after a restart, used until enough new gaps are learned.
    public var recoveredRetention: Double? { learned.recoveredRetention }
    /// The retention chosen at the last change of what was learned, and the settings it was chosen for.
    var choice: Choice? { learned.choice }

    struct Choice: Sendable, Hashable {
        let settings: Settings
        let seconds: Double
    }

    /// The settings a choice depends on: a configuration change makes the cached choice stale.
    struct Settings: Sendable, Hashable {
        let lower: Double, upper: Double, cost: Double, prewarm: Bool

        init(_ config: ResolvedModelConfig) {
            lower = config.minRetention.seconds
            upper = config.retention.seconds
            cost = config.coldStartCost.seconds
            prewarm = config.prewarm
        }
    }

    /// Nothing learned yet.
    public init() {}

    /// The state recovered after a restart from what the service exported (see ``exported``): the
    /// chosen retention, the idle gaps as quantiles (the histogram is rebuilt from them), the
    /// latest burst starts, the cold start. The recovered retention stands until
    /// ``KeepAlive/recoveredWeight`` new gaps are learned (or the rebuilt histogram decides, when it
    /// holds enough gaps).
    public init(recovered: LearnedValues) {
        var learned = Learned()
        let quantiles = recovered.gapQuantiles.filter { $0.isFinite && $0 > 0 }
        if let weight = recovered.gapWeight, weight.isFinite, weight > 0, quantiles.count == KeepAlive.exportedQuantiles.count {
            // The histogram rebuilt from its quantiles: as many gaps, placed at the quantiles.
            for (gap, share) in zip(quantiles, KeepAlive.exportedShares) { learned.gaps.rebuild(gap, weight: weight * share, covered: 0) }
        }
        learned.burstStarts = Array(recovered.burstStarts.filter { $0.isFinite && $0 > 0 }.sorted().suffix(KeepAlive.burstsForPeriod + 1))
        (learned.period, learned.spread) = KeepAlive.periodicity(learned.burstStarts) ?? (nil, 0)
        if let covered = recovered.coveredWeight, covered.isFinite, covered > 0,
            let length = recovered.coveredMean ?? learned.period, length.isFinite, length > 0 {
            // Gaps pre-warms covered: about a period each.
            learned.gaps.rebuild(length, weight: covered, covered: covered)
        }
        // The next arrival is measured from the last one before the restart (or the last burst):
        // a gap, and maybe a burst, not lost to the restart.
        let last = [recovered.lastArrival, learned.burstStarts.last].compactMap { $0 }.filter { $0.isFinite && $0 > 0 }.max()
        learned.lastArrival = last.map { Instant(seconds: $0) }
        learned.recoveredRetention = recovered.retention.flatMap { $0.isFinite && $0 > 0 ? $0 : nil }
        learned.coldStart = recovered.coldStart.flatMap { $0.isFinite && $0 > 0 ? $0 : nil }
        if learned != Learned() { self.learned = learned }
    }

    /// What the service exports of this state, to read it back after a restart.
    public func exported(_ config: ResolvedModelConfig, _ state: ModelState) -> LearnedValues {
        let lower = config.minRetention.seconds
        let uncovered = gaps.uncoveredWeight(atLeast: lower)
        return LearnedValues(
            retention: config.keepAlive == .adaptive ? KeepAlive.retention(config, state).seconds : nil,
            burstStarts: Array(burstStarts.suffix(KeepAlive.burstsForPeriod)), lastArrival: lastArrival?.seconds, coldStart: coldStart,
            gapWeight: uncovered > 0 ? uncovered : nil, gapQuantiles: gaps.quantiles(KeepAlive.exportedQuantiles, atLeast: lower),
            coveredWeight: gaps.coveredWeight > 0 ? gaps.coveredWeight : nil, coveredMean: gaps.coveredMean)
    }
}

/// The learned values of one model the service exports as gauges and reads back after a restart.
public struct LearnedValues: Sendable, Hashable {
    /// The retention adaptive keep-alive chose (`recommender_model_keep_alive_seconds`).
    public var retention: Double?
    /// The latest burst starts, oldest first (`recommender_model_burst_start_timestamp_seconds{burst}`).
    public var burstStarts: [Double]
    /// The last tick an arrival was seen (`recommender_model_last_arrival_timestamp_seconds`).
    public var lastArrival: Double?
    /// The measured cold start (`recommender_model_last_cold_start_seconds`).
    public var coldStart: Double?
    /// The weight of the learned idle gaps at least the minimum retention long that no pre-warm
    /// covered (`recommender_model_idle_gaps`).
    public var gapWeight: Double?
    /// Their quantiles at ``KeepAlive/exportedQuantiles`` (`recommender_model_idle_gap_seconds{quantile}`).
    public var gapQuantiles: [Double]
    /// The weight of the gaps pre-warms covered, all about a period long (`recommender_model_idle_gaps_prewarmed`).
    public var coveredWeight: Double?
    /// Their mean length (`recommender_model_idle_gaps_prewarmed_mean_seconds`).
    public var coveredMean: Double?

    /// Creates values; nil or empty is not known.
    public init(
        retention: Double? = nil, burstStarts: [Double] = [], lastArrival: Double? = nil, coldStart: Double? = nil, gapWeight: Double? = nil,
        gapQuantiles: [Double] = [], coveredWeight: Double? = nil, coveredMean: Double? = nil
    ) {
        self.retention = retention
        self.burstStarts = burstStarts
        self.lastArrival = lastArrival
        self.coldStart = coldStart
        self.gapWeight = gapWeight
        self.gapQuantiles = gapQuantiles
        self.coveredWeight = coveredWeight
        self.coveredMean = coveredMean
    }
}

/// A bounded histogram of idle gaps: one bucket per step of ``KeepAlive/ladder``, each with the
/// (decayed) number of gaps, their summed length, and how many of them a pre-warm covered.
public struct GapHistogram: Sendable, Hashable {
    /// Gaps per bucket (weights, halved every ``KeepAlive/halfLife`` seconds).
    public internal(set) var counts: [Double] = []
    /// Summed gap lengths per bucket, decayed like the counts.
    public internal(set) var sums: [Double] = []
    /// Gaps per bucket that ended in an arrival a pre-warm was ready for.
    public internal(set) var predicted: [Double] = []
    /// When the weights were last decayed (seconds); nil before the first gap learned live.
    var decayedAt: Double?

    /// The total weight of the gaps.
    public var weight: Double { counts.reduce(0, +) }

    /// The weight of the gaps that can be `lower` or longer: only those tell retentions of at least
    /// `lower` apart.
    public func weight(atLeast lower: Double) -> Double {
        var total = 0.0
        for i in counts.indices where Self.relevant(i, lower) { total += counts[i] }
        return total
    }

    mutating func add(_ gap: Double, predicted covered: Bool, at now: Double) {
        add(gap, weight: 1, covered: covered ? 1 : 0, at: now)
    }

    /// Adds gaps rebuilt after a restart: they start no decay clock.
    mutating func rebuild(_ gap: Double, weight: Double, covered: Double) {
        add(gap, weight: weight, covered: covered, at: nil)
    }

    /// Adds `weight` gaps of length `gap`, `covered` of them covered by a pre-warm, at `now` (nil for
    /// a rebuilt histogram: its first gap learned live starts the decay clock).
    mutating func add(_ gap: Double, weight: Double, covered: Double, at at: Double?) {
        let now = at ?? 0
        if counts.isEmpty {
            counts = Array(repeating: 0, count: KeepAlive.ladder.count)
            sums = counts
            predicted = counts
        } else if let decayedAt, now > decayedAt {
            let factor = exp2(-(now - decayedAt) / KeepAlive.halfLife)
            for i in counts.indices {
                counts[i] *= factor
                sums[i] *= factor
                predicted[i] *= factor
            }
        }
        if let at { decayedAt = at }
        let bucket = KeepAlive.bucket(of: gap)
        counts[bucket] += weight
        sums[bucket] += gap * weight
        predicted[bucket] += covered
    }

    /// Whether bucket `i` can hold gaps of `lower` or longer.
    static func relevant(_ i: Int, _ lower: Double) -> Bool { i + 1 == KeepAlive.ladder.count || KeepAlive.ladder[i + 1] > lower }

    /// The weight of the gaps no pre-warm covered that can be `lower` or longer.
    public func uncoveredWeight(atLeast lower: Double) -> Double {
        var total = 0.0
        for i in counts.indices where Self.relevant(i, lower) { total += Swift.max(0, counts[i] - predicted[i]) }
        return total
    }

    /// Weighted quantiles at `levels` of the gaps no pre-warm covered that can be `lower` or longer
    /// (each the mean gap of the bucket it falls in): what tells retentions of at least `lower` apart.
    public func quantiles(_ levels: [Double], atLeast lower: Double) -> [Double] {
        let total = uncoveredWeight(atLeast: lower)
        guard total > 1e-9 else { return [] }
        var result: [Double] = []
        var cumulative = 0.0
        var level = 0
        for i in counts.indices where Self.relevant(i, lower) && counts[i] - predicted[i] > 1e-12 {
            cumulative += counts[i] - predicted[i]
            while level < levels.count, cumulative >= levels[level] * total - 1e-9 {
                // The bucket's mean, kept inside the bucket (decayed sums round): rebuilt, it lands
                // where it came from.
                let high = i + 1 < KeepAlive.ladder.count ? KeepAlive.ladder[i + 1].nextDown : .infinity
                result.append(Swift.min(Swift.max(sums[i] / counts[i], KeepAlive.ladder[i]), high))
                level += 1
            }
        }
        return result
    }

    /// The weight of the gaps a pre-warm covered.
    public var coveredWeight: Double { predicted.reduce(0, +) }

    /// Their mean length (by the mean of the buckets they fall in); nil when there are none.
    public var coveredMean: Double? {
        var weight = 0.0, total = 0.0
        for i in counts.indices where predicted[i] > 0 && counts[i] > 0 {
            weight += predicted[i]
            total += predicted[i] * sums[i] / counts[i]
        }
        return weight > 0 ? total / weight : nil
    }
}

/// Adaptive keep-alive and pre-warm (spec §5 step 5): the retention R of the idle → zero rule,
/// learned per model from its own idle gaps, and a wake scheduled ahead of periodic arrivals.
///
/// **Keep-alive as a rent-or-buy problem.** After a model's last request, keeping a replica costs
/// GPU time by the second ("renting"); letting it go costs `cold_start_cost` when the next request
/// comes ("buying"). A fixed retention equal to the cost is the classic break-even rule, never worse
/// than twice the best choice in hindsight whatever the gaps. Knowing the model's gap distribution,
/// one can do better: the retention minimising the expected cost
/// `E[min(G, R)] + cost · P(G > R)` over the histogram of its past gaps G. That is the choice here,
/// among the steps of ``ladder`` within [`min_retention_period`, `retention_period`]; with fewer than
/// ``minimumWeight`` gaps learned it is the break-even rule (`cold_start_cost`, bounded). Gaps a
/// pre-warm covers cost the pre-warm's idle lead instead of a cold start.
///
/// **Safety.** The learned value only replaces R inside its bounds: every rule of spec §5 step 3
/// (positive evidence over the whole window, continuous observation, no wake within R, a wake path)
/// holds with it. A model whose arrivals are not observable (no gateway request-counter series seen)
/// keeps `retention_period`. See `docs/keep-alive.md`.
public enum KeepAlive {
    /// The steps a learned retention is chosen among, and the bucket edges of the gap histogram
    /// (seconds). A bounded set: the requests query runs once per distinct retention in use.
    public static let ladder: [Double] = [
        30, 45, 60, 90, 120, 180, 240, 300, 420, 600, 900, 1200, 1500, 1800, 2400, 3000, 3600, 4500, 5400, 7200,
        9000, 10_800, 14_400, 18_000, 21_600, 28_800, 36_000, 43_200, 57_600, 72_000, 86_400, 129_600, 172_800,
        259_200, 345_600, 432_000, 604_800,
    ]
    /// Seconds after which a learned gap weighs half: the history adapts to a changed workload within days.
    public static let halfLife = 3 * 86_400.0
    /// Gaps needed before the histogram decides (below it: the recovered retention or break-even).
    public static let minimumWeight = 8.0
    /// Gaps needed after a restart before the new histogram replaces the recovered retention, which
    /// summarises a longer history than a few gaps.
    public static let recoveredWeight = 32.0

    /// The cold start assumed before one was measured, in seconds.
    public static let defaultColdStart = 120.0
    /// Extra seconds a pre-warm is ready ahead of the earliest expected arrival (one tick of up to
    /// 30 s, and the time the autoscaler takes to act).
    public static let prewarmLead = 30.0
    /// How late an arrival is seen after it happened (a tick and a scrape), in seconds: the
    /// tolerance a pre-warm window adds on each side of the expected arrival.
    public static let observationJitter = 45.0
    /// The quantiles of the idle gaps the service exports, to rebuild the histogram after a restart:
    /// each stands for the share of gaps in ``exportedShares`` around it, finer in the tail, where a
    /// few long gaps decide whether keeping a model up pays.
    public static let exportedQuantiles = [0.125, 0.375, 0.625, 0.825, 0.935, 0.98, 0.995]
    /// The share of the gaps each exported quantile stands for.
    public static let exportedShares = [0.25, 0.25, 0.25, 0.15, 0.07, 0.02, 0.01]
    /// Bursts whose intervals make a period.
    public static let burstsForPeriod = 5

    // MARK: - The retention

    /// The retention R in force for a model's next decision: `retention_period` for fixed keep-alive,
    /// the learned one (bounded) for adaptive. A pure function of configuration and state, so the
    /// service can query `increase(...[R + scrape])` before deciding with the same R.
    public static func retention(_ config: ResolvedModelConfig, _ state: ModelState) -> ConfigDuration {
        guard config.keepAlive == .adaptive, config.enableScaleToZero, state.gatewaySeenAt != nil else { return config.retention }
        let settings = KeepAliveState.Settings(config)
        let seconds: Double
        if let choice = state.keepAlive.choice, choice.settings == settings {
            seconds = choice.seconds
        } else {
            seconds = choose(state.keepAlive, settings)
        }
        return ConfigDuration(milliseconds: Int64((seconds * 1000).rounded()))
    }

    /// Whether a model learns from its arrivals.
    static func learns(_ config: ResolvedModelConfig) -> Bool { config.keepAlive == .adaptive || config.prewarm }

    /// The least idle gap that starts a burst: five minutes, or the minimum retention when longer.
    /// Requests of one batch a minute apart are one burst, whether the first found the model at
    /// zero (the others then queue behind its cold start) or pre-warmed (they come one by one).
    public static func burstGap(_ config: ResolvedModelConfig) -> Double { Swift.max(300, config.minRetention.seconds) }

    /// The retention that minimises the expected cost of the learned gaps (see the type's summary).
    static func choose(_ state: KeepAliveState, _ settings: KeepAliveState.Settings) -> Double { choose(state.learned, settings) }

    static func choose(_ state: KeepAliveState.Learned, _ settings: KeepAliveState.Settings) -> Double {
        let lower = Swift.min(settings.lower, settings.upper), upper = settings.upper
        func bounded(_ value: Double) -> Double { Swift.min(Swift.max(value, lower), upper) }
        guard state.gaps.weight(atLeast: lower) >= minimumWeight else { return bounded(state.recoveredRetention ?? settings.cost) }
        let prewarmCost = prewarmIdleCost(state, settings)
        let h = state.gaps
        // For a step R = ladder[j], expectedCost is Σ_{i<j} sums[i] + Σ_{i≥j} (n_i·R + cold_i): with
        // prefix and suffix sums every step costs O(1); the bounds, which need not be steps, are
        // computed in full.
        var kept = Array(repeating: 0.0, count: ladder.count + 1)
        var count = kept, cold = kept
        for i in ladder.indices { kept[i + 1] = kept[i] + (h.counts.isEmpty ? 0 : h.sums[i]) }
        for i in ladder.indices.reversed() where !h.counts.isEmpty {
            let covered = prewarmCost == nil ? 0 : Swift.min(h.predicted[i], h.counts[i])
            count[i] = count[i + 1] + h.counts[i]
            cold[i] = cold[i + 1] + (h.counts[i] - covered) * settings.cost + covered * (prewarmCost ?? 0)
        }
        var best = lower
        var bestCost = expectedCost(h, retention: lower, coldStartCost: settings.cost, prewarmCost: prewarmCost)
        for (j, step) in ladder.enumerated() where step > lower && step < upper {
            let cost = kept[j] + count[j] * step + cold[j]
            if cost < bestCost - 1e-9 { (best, bestCost) = (step, cost) }
        }
        if upper > lower, expectedCost(h, retention: upper, coldStartCost: settings.cost, prewarmCost: prewarmCost) < bestCost - 1e-9 {
            best = upper
        }
        return best
    }

    /// The cost a covered gap pays instead of a cold start: the time a pre-warmed replica is ready
    /// before the expected arrival. Nil when pre-warm is off or would not pay for itself.
    static func prewarmIdleCost(_ state: KeepAliveState.Learned, _ settings: KeepAliveState.Settings) -> Double? {
        guard settings.prewarm, state.period != nil else { return nil }
        let idle = 2 * tolerance(state) + prewarmLead
        return idle < settings.cost ? idle : nil
    }

    /// Expected cost (summed over the learned gaps, in seconds of GPU time) of retention `r`: a gap
    /// shorter than `r` costs its length; a longer one costs `r` plus a cold start (or the
    /// pre-warm's idle lead when a pre-warm covered it).
    static func expectedCost(_ h: GapHistogram, retention r: Double, coldStartCost: Double, prewarmCost: Double?) -> Double {
        var total = 0.0
        for i in h.counts.indices where h.counts[i] > 0 {
            let low = ladder[i]
            let high = i + 1 < ladder.count ? ladder[i + 1] : .infinity
            let n = h.counts[i], covered = prewarmCost == nil ? 0 : Swift.min(h.predicted[i], n)
            let dropped = (n - covered) * (r + coldStartCost) + covered * (r + (prewarmCost ?? 0))
            if high <= r {
                total += h.sums[i]
            } else if low >= r {
                total += dropped
            } else {
                total += h.sums[i] / n < r ? h.sums[i] : dropped
            }
        }
        return total
    }

    /// The histogram bucket of a gap.
    static func bucket(of gap: Double) -> Int {
        var low = 0, high = ladder.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if ladder[mid] <= gap { low = mid } else { high = mid - 1 }
        }
        return low
    }

    // MARK: - Learning

    /// One tick of learning: an arrival after an idle gap adds the gap to the histogram (gaps
    /// shorter than the first step are activity, not idleness), starts a burst after a long gap,
    /// and refreshes the chosen retention when anything changed.
    static func learn(_ state: KeepAliveState, arrival: Bool, config: ResolvedModelConfig, now: Instant) -> KeepAliveState {
        let settings = KeepAliveState.Settings(config)
        guard arrival || state.choice?.settings != settings else { return state }
        var result = state
        var next = state.learned
        if arrival {
            next.lastArrival = now
            if let last = state.lastArrival, now.since(last) >= ladder[0] {
                let gap = now.since(last)
                let covered = prewarmWindow(config, state.learned, now: now)?.covers(now) ?? false
                next.gaps.add(gap, predicted: covered, at: now.seconds)
                if gap >= burstGap(config) {
                    next.burstStarts.append(now.seconds)
                    if next.burstStarts.count > burstsForPeriod + 1 { next.burstStarts.removeFirst(next.burstStarts.count - burstsForPeriod - 1) }
                    (next.period, next.spread) = periodicity(next.burstStarts) ?? (nil, 0)
                }
                if next.recoveredRetention != nil, gap >= settings.lower {
                    next.gapsSinceRecovery += 1
                    if next.gapsSinceRecovery >= Int(recoveredWeight) { next.recoveredRetention = nil }
                }
                next.choice = KeepAliveState.Choice(settings: settings, seconds: choose(next, settings))
                result.learned = next
                return result
            }
        }
        if next.choice?.settings != settings { next.choice = KeepAliveState.Choice(settings: settings, seconds: choose(next, settings)) }
        result.learned = next
        return result
    }

    /// Records a measured cold start: the last one is what a pre-warm plans with (and what the
    /// service exports as `recommender_model_last_cold_start_seconds`).
    static func recordColdStart(_ seconds: Double, into state: inout KeepAliveState) {
        state.learned.coldStart = seconds
    }

    // MARK: - Periodic arrivals and pre-warm

    /// The period of the latest bursts and their largest deviation from it, when the last
    /// ``burstsForPeriod`` bursts came at a regular interval: every interval one, two or three
    /// periods (a timer skips a firing now and then) within 90 s plus 1 % of the period, at least
    /// two of them a single period. Nil otherwise.
    static func periodicity(_ starts: [Double]) -> (period: Double, spread: Double)? {
        guard starts.count >= burstsForPeriod else { return nil }
        let recent = Array(starts.suffix(burstsForPeriod))
        let intervals = zip(recent.dropFirst(), recent).map { $0 - $1 }
        guard let shortest = intervals.min(), shortest >= 600 else { return nil }
        let multiples = intervals.map { ($0 / shortest).rounded() }
        guard multiples.allSatisfy({ $0 >= 1 && $0 <= 3 }), multiples.filter({ $0 == 1 }).count >= 2 else { return nil }
        let period = intervals.reduce(0, +) / multiples.reduce(0, +)
        let spread = zip(intervals, multiples).map { abs($0 - $1 * period) }.max() ?? 0
        return spread <= 90 + 0.01 * period ? (period, spread) : nil
    }

    static func tolerance(_ state: KeepAliveState.Learned) -> Double { state.spread + observationJitter }

    /// A pre-warm window: a replica should be up from `wakeAt` until `until`, for an arrival
    /// expected at `expected`.
    public struct PrewarmWindow: Sendable, Hashable {
        /// The expected arrival.
        public let expected: Instant
        /// When to wake: the cold start, the tolerance and a lead ahead of it.
        public let wakeAt: Instant
        /// When to let go if nothing came: the tolerance after it.
        public let until: Instant
        /// The period of the arrivals, in seconds.
        public let period: Double

        func covers(_ t: Instant) -> Bool { t >= wakeAt && t < until }
    }

    /// The pre-warm window `now` falls in, if any: the model has pre-warm on, its bursts are
    /// periodic, at most one expected arrival has been missed since the last burst (two misses in a
    /// row stop pre-warming until the next burst), and a pre-warm costs less idle time than a cold
    /// start is worth.
    public static func prewarmWindow(_ config: ResolvedModelConfig, _ state: KeepAliveState, now: Instant) -> PrewarmWindow? {
        guard config.prewarm, state.period != nil else { return nil }
        return prewarmWindow(config, state.learned, now: now)
    }

    static func prewarmWindow(_ config: ResolvedModelConfig, _ state: KeepAliveState.Learned, now: Instant) -> PrewarmWindow? {
        guard config.prewarm, config.enableScaleToZero, let period = state.period, let last = state.burstStarts.last else { return nil }
        let tolerance = tolerance(state)
        guard 2 * tolerance + prewarmLead < config.coldStartCost.seconds else { return nil }
        // The first expected arrival whose window has not closed.
        let k = Swift.max(1, ((now.seconds - last - tolerance) / period).rounded(.down) + 1)
        guard k <= 2 else { return nil }
        let expected = Instant(seconds: last + k * period)
        let window = PrewarmWindow(
            expected: expected, wakeAt: expected.adding(-(tolerance + (state.coldStart ?? defaultColdStart) + prewarmLead)),
            until: expected.adding(tolerance), period: period)
        return window.covers(now) ? window : nil
    }
}

extension Recommender {
    /// Step 5, pre-warm: a periodic model's next arrival is due. A model at zero is brought up ahead
    /// of it; a model idle enough for zero is kept up; after the window, if nothing came, the idle →
    /// zero rule applies again, unchanged.
    static func prewarm(_ e: Evidence, _ window: KeepAlive.PrewarmWindow, now: Instant) -> (Int, Reason, String) {
        let detail = "pre-warm: arrivals every \(format(window.period))s, the next expected in \(format(window.expected.since(now).rounded()))s; "
            + "let go in \(format(window.until.since(now).rounded()))s if nothing comes"
        return (e.input.config.activeFloor, .prewarm, detail)
    }
}
