import Foundation
import Testing
import ModelConfig
@testable import Recommendation

/// An adaptive (or fixed) model with scale-to-zero on.
func keepAliveModel(
    keepAlive: KeepAliveMode = .adaptive, retention: Double = 3600, minRetention: Double = 60, cost: Double = 600, prewarm: Bool? = nil
) -> ResolvedModelConfig {
    ResolvedModelConfig(
        model: ModelKey(namespace: "ns", modelID: "m"), enableScaleToZero: true, retention: ConfigDuration(milliseconds: Int64(retention * 1000)),
        keepAlive: keepAlive, coldStartCost: ConfigDuration(milliseconds: Int64(cost * 1000)),
        minRetention: ConfigDuration(milliseconds: Int64(minRetention * 1000)), prewarm: prewarm)
}

/// Drives the decision core over `arrivals` (seconds) the way the service sees them: a tick every
/// 15 s, the gateway's request counter, the requests window `[R + 15s]` of completions (a request
/// completes when it arrives, if a replica is ready; otherwise when one is), one replica ready
/// `coldStart` seconds after the recommendation leaves zero.
struct MiniWorld {
    let config: ResolvedModelConfig
    var coldStart: Double = 60
    var state = ModelState()
    var replicaSince: Double? = 0
    var completions: [Double] = []
    var pending: [Double] = []
    var log: [(time: Double, decision: Decision)] = []

    init(config: ResolvedModelConfig, coldStart: Double = 60) {
        self.config = config
        self.coldStart = coldStart
    }

    mutating func run(arrivals: [Double], until end: Double) {
        var next = 0
        var t = 0.0
        while t <= end {
            while next < arrivals.count, arrivals[next] <= t {
                pending.append(arrivals[next])
                next += 1
            }
            let ready = replicaSince.map { t >= $0 } ?? false
            if ready {
                completions += pending.map { Swift.max($0, replicaSince!) }
                pending.removeAll()
            }
            let r = KeepAlive.retention(config, state).seconds
            let window = completions.filter { $0 > t - r - 15 && $0 <= t }.count
            // The gateway's counter increased over three scrapes (15 s each).
            let atGateway = arrivals[..<next].filter { $0 > t - 45 }.count
            let signals = ModelSignals(
                requests: Double(window), running: 0, waiting: 0, ready: ready ? 1 : 0, kvCacheUsage: 0,
                demand: ready ? 0 : Double(pending.count), gatewayRequests: Double(atGateway), gatewaySeen: true)
            let decision = Recommender.decide(DecisionInput(config: config, signals: signals, state: state), policy: Policy(), now: Instant(seconds: t))
            if decision.desired == 0 { replicaSince = nil } else if replicaSince == nil { replicaSince = t + coldStart }
            state = decision.state
            log.append((t, decision))
            t += 15
        }
    }

    var zeroTimes: [Double] { log.filter { $0.decision.scaledToZero }.map(\.time) }
    var wakes: [(time: Double, reason: Reason)] { log.filter { $0.decision.woke }.map { ($0.time, $0.decision.reason) } }
}

struct KeepAliveRetentionTests {
    @Test func fixedKeepAliveUsesTheRetentionPeriod() {
        let config = keepAliveModel(keepAlive: .fixed, retention: 420)
        #expect(KeepAlive.retention(config, ModelState(gatewaySeenAt: Instant(seconds: 1))).seconds == 420)
    }

    @Test func adaptiveWithNothingLearnedUsesTheBreakEvenCostWithinItsBounds() {
        let seen = ModelState(gatewaySeenAt: Instant(seconds: 1))
        #expect(KeepAlive.retention(keepAliveModel(cost: 600), seen).seconds == 600)
        #expect(KeepAlive.retention(keepAliveModel(retention: 1800, cost: 7200), seen).seconds == 1800)
        #expect(KeepAlive.retention(keepAliveModel(minRetention: 300, cost: 60), seen).seconds == 300)
    }

    @Test func adaptiveWithoutAnObservableArrivalCounterKeepsTheRetentionPeriod() {
        #expect(KeepAlive.retention(keepAliveModel(retention: 3600), ModelState()).seconds == 3600)
    }

    @Test func scaleToZeroDisabledKeepsTheRetentionPeriod() {
        let config = ResolvedModelConfig(model: ModelKey(namespace: "ns", modelID: "m"), enableScaleToZero: false, keepAlive: .adaptive)
        #expect(KeepAlive.retention(config, ModelState(gatewaySeenAt: Instant(seconds: 1))) == config.retention)
    }

    @Test func expectedCostChargesShortGapsTheirLengthAndLongOnesTheRetentionPlusACold() {
        var h = GapHistogram()
        for _ in 0..<3 { h.add(100, predicted: false, at: 0) }  // bucket [90, 120)
        h.add(7200, predicted: false, at: 0)  // bucket [7200, 9000)
        // R = 300: the three 100 s gaps are kept (300 s), the 2 h gap costs 300 + 600.
        #expect(KeepAlive.expectedCost(h, retention: 300, coldStartCost: 600, prewarmCost: nil) == 300 + 900)
        // R = 60: every gap costs 60 + 600.
        #expect(KeepAlive.expectedCost(h, retention: 60, coldStartCost: 600, prewarmCost: nil) == 4 * 660)
        // A gap a pre-warm covered costs the pre-warm's idle lead instead of the cold start.
        var covered = GapHistogram()
        covered.add(7200, predicted: true, at: 0)
        #expect(KeepAlive.expectedCost(covered, retention: 60, coldStartCost: 600, prewarmCost: 120) == 180)
    }

    @Test func theChoiceIsTheCheapestStepWithinTheBounds() {
        var learned = KeepAliveState.Learned()
        for _ in 0..<20 { learned.gaps.add(250, predicted: false, at: 0) }  // every gap 250 s
        let settings = KeepAliveState.Settings(keepAliveModel(retention: 3600, minRetention: 60, cost: 600))
        // Keeping 300 s covers every gap (250 s each) for less than a cold start (60 + 600).
        #expect(KeepAlive.choose(learned, settings) == 300)
        let cheapColdStarts = KeepAliveState.Settings(keepAliveModel(retention: 3600, minRetention: 60, cost: 30))
        #expect(KeepAlive.choose(learned, cheapColdStarts) == 60)
    }

    @Test func histogramWeightsHalveEveryHalfLife() {
        var h = GapHistogram()
        h.add(100, predicted: false, at: 0)
        h.add(100, predicted: false, at: KeepAlive.halfLife)
        #expect(abs(h.weight - 1.5) < 1e-9)
    }

    @Test(arguments: [29.0, 30, 44, 45, 599, 600, 700, 604_800, 10_000_000])
    func everyGapFallsInTheBucketOfItsLadderStep(gap: Double) {
        let bucket = KeepAlive.bucket(of: gap)
        #expect(KeepAlive.ladder[bucket] <= gap || bucket == 0)
        #expect(bucket == KeepAlive.ladder.count - 1 || KeepAlive.ladder[bucket + 1] > gap)
    }
}

struct KeepAliveLearningTests {
    @Test func rareArrivalsLearnTheMinimumRetentionAndGoToZeroSooner() {
        // A request every 3 hours for 2 days: keeping the model up between them is never worth a cold start.
        var world = MiniWorld(config: keepAliveModel(retention: 3600, minRetention: 60, cost: 600, prewarm: false))
        world.run(arrivals: stride(from: 100.0, to: 172_800, by: 10_800).map { $0 }, until: 172_800)
        #expect(KeepAlive.retention(world.config, world.state).seconds == 60)
        // Once learned, the model goes to zero a minute (plus at most a tick and a scrape) after its
        // last request completed (it arrived at zero and waited for the cold start).
        let lastCompletion = world.completions.last!
        let zero = world.zeroTimes.last!
        #expect(zero >= lastCompletion + 60 && zero <= lastCompletion + 60 + 15 + 15)
    }

    @Test func frequentShortGapsLearnARetentionThatCoversThem() {
        // A request every 4 minutes: cheaper to stay up than to pay a 10 minute cold start each time.
        var world = MiniWorld(config: keepAliveModel(retention: 3600, minRetention: 60, cost: 600, prewarm: false))
        world.run(arrivals: stride(from: 10.0, to: 20_000, by: 240).map { $0 }, until: 20_000)
        let learned = KeepAlive.retention(world.config, world.state).seconds
        #expect(learned >= 240 && learned <= 300)
        #expect(world.zeroTimes.isEmpty)
    }

    @Test func theLearnedRetentionNeverBreaksTheEvidenceRule() {
        // Learned R = 60 s, but the requests window still shows a completion: no zero.
        var state = ModelState(desired: 1, observedSince: Instant(seconds: 0), gatewaySeenAt: Instant(seconds: 0))
        state.keepAlive = KeepAliveState(recovered: LearnedValues(retention: 60))
        let config = keepAliveModel(retention: 3600, minRetention: 60, cost: 600)
        #expect(KeepAlive.retention(config, state).seconds == 60)
        let busy = ModelSignals(requests: 1, running: 0, waiting: 0, ready: 1, kvCacheUsage: 0, demand: 0, gatewayRequests: 0, gatewaySeen: true)
        #expect(Recommender.decide(DecisionInput(config: config, signals: busy, state: state), policy: Policy(), now: Instant(seconds: 1000)).desired == 1)
        // An unknown signal holds.
        var unknown = ModelSignals.idleReplica
        unknown.requests = nil
        #expect(Recommender.decide(DecisionInput(config: config, signals: unknown, state: state), policy: Policy(), now: Instant(seconds: 1000)).reason == .hold)
        // Observed for less than the learned R: stays up.
        var fresh = state
        fresh.observedSince = Instant(seconds: 970)
        #expect(Recommender.decide(DecisionInput(config: config, signals: .idleReplica, state: fresh), policy: Policy(), now: Instant(seconds: 1000)).desired == 1)
        // Quiet and observed for R: zero.
        #expect(Recommender.decide(DecisionInput(config: config, signals: .idleReplica, state: state), policy: Policy(), now: Instant(seconds: 1000)).desired == 0)
        // The kill switch still wins.
        #expect(Recommender.decide(DecisionInput(config: config, signals: .idleReplica, state: state), policy: Policy(killSwitch: true), now: Instant(seconds: 1000)).desired == 1)
    }

    @Test func aPrewarmPlansWithTheLastMeasuredColdStart() {
        var world = MiniWorld(config: keepAliveModel(retention: 3600, minRetention: 60, cost: 600), coldStart: 80)
        world.run(arrivals: PrewarmTests.hourly, until: 6 * 3600)
        // Measured from the recommendation leaving zero to the first tick (every 15 s) that sees the
        // replica ready: 80 s rounds up to 90 s.
        #expect(world.state.keepAlive.coldStart == 90)
    }

    @Test func copiesOfAStateDoNotShareWhatTheyLearnLater() {
        let config = keepAliveModel()
        let first = KeepAlive.learn(KeepAliveState(), arrival: true, config: config, now: Instant(seconds: 0))
        let copy = first
        let second = KeepAlive.learn(first, arrival: true, config: config, now: Instant(seconds: 600))
        #expect(copy.gaps.weight == 0)
        #expect(second.gaps.weight == 1)
        #expect(copy == first && copy != second)
    }
}

struct PrewarmTests {
    /// An hourly timer firing 3 requests over two minutes, from t = 1000 s: pre-warmed, they come one by
    /// one (at zero, the later ones queue behind the cold start); either way one burst.
    static let hourly = (0..<30).flatMap { k in [0.0, 60, 120].map { 1000 + Double(k) * 3600 + $0 } }

    @Test func periodicBurstsAreDetectedAndIrregularOnesAreNot() {
        #expect(KeepAlive.periodicity([0, 3600, 7200, 10_800, 14_400])?.period == 3600)
        #expect(KeepAlive.periodicity([0, 3630, 7190, 10_800, 14_420]) != nil)
        #expect(KeepAlive.periodicity([0, 3600, 9000, 10_800, 14_400]) == nil)
        #expect(KeepAlive.periodicity([0, 3600, 7200, 10_800]) == nil)  // too few bursts
    }

    @Test func aPeriodicModelIsPrewarmedBeforeItsArrivalsAndNobodyWaits() {
        var world = MiniWorld(config: keepAliveModel(retention: 3600, minRetention: 60, cost: 600))
        world.run(arrivals: Self.hourly, until: 30 * 3600)
        let prewarms = world.wakes.filter { $0.reason == .prewarm }
        #expect(prewarms.count >= 20)
        for wake in prewarms {
            // Ahead of the next firing by the cold start and the window, never after it.
            let firing = 1000 + ((wake.time - 1000) / 3600).rounded(.up) * 3600
            #expect(firing - wake.time > world.coldStart && firing - wake.time < 600)
        }
        // After the first bursts no wake is a cold start (demand at zero).
        let late = world.wakes.filter { $0.time > 1000 + 8 * 3600 }
        #expect(late.allSatisfy { $0.reason == .prewarm })
    }

    @Test func aPrewarmIsLetGoIfNothingComesAndStopsAfterTwoMisses() {
        var world = MiniWorld(config: keepAliveModel(retention: 3600, minRetention: 60, cost: 600))
        let stopped = Self.hourly.filter { $0 < 1000 + 10 * 3600 }  // the timer stops after 10 firings
        world.run(arrivals: stopped, until: 20 * 3600)
        let after = world.log.filter { $0.time > 1000 + 9 * 3600 + 300 }  // after the last firing
        let prewarmWakes = after.filter { $0.decision.woke && $0.decision.reason == .prewarm }
        #expect(prewarmWakes.count == 2)
        // Each is let go within the window: zero again before the next expected firing.
        #expect(after.last!.decision.desired == 0)
        let up = after.filter { $0.decision.desired > 0 }.count * 15
        #expect(Double(up) < 2 * 600)
    }

    @Test func prewarmIsOffWhenItWouldCostMoreIdleTimeThanAColdStartIsWorth() {
        var world = MiniWorld(config: keepAliveModel(retention: 3600, minRetention: 60, cost: 60))
        world.run(arrivals: Self.hourly, until: 30 * 3600)
        #expect(world.wakes.allSatisfy { $0.reason != .prewarm })
    }

    @Test func whatIsExportedRestoresTheRetentionAndThePrewarmWindow() {
        var world = MiniWorld(config: keepAliveModel(retention: 3600, minRetention: 60, cost: 600))
        world.run(arrivals: Self.hourly, until: 12 * 3600)
        let exported = world.state.keepAlive.exported(world.config, world.state)
        let recovered = ModelState(desired: world.state.desired, gatewaySeenAt: world.state.gatewaySeenAt, keepAlive: KeepAliveState(recovered: exported))
        #expect(KeepAlive.retention(world.config, recovered) == KeepAlive.retention(world.config, world.state))
        let next = Instant(seconds: 1000 + 12 * 3600 - 200)
        #expect(KeepAlive.prewarmWindow(world.config, recovered.keepAlive, now: next)?.expected
            == KeepAlive.prewarmWindow(world.config, world.state.keepAlive, now: next)?.expected)
        #expect(recovered.keepAlive.coldStart == world.state.keepAlive.coldStart)
    }
}

struct KeepAliveChoiceTests {
    /// The choice is the cheapest candidate by the full cost function, whatever the histogram.
    @Test(arguments: 0..<40)
    func theFastChoiceIsTheCheapestCandidate(seed: Int) {
        var random = UInt64(seed + 1) &* 0x9E37_79B9_7F4A_7C15
        func next() -> Double {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(random >> 11) / Double(1 << 53)
        }
        var learned = KeepAliveState.Learned()
        for _ in 0..<(10 + Int(next() * 200)) { learned.gaps.add(30 * pow(10_000, next()), predicted: next() < 0.3, at: 0) }
        learned.period = next() < 0.5 ? 3600 : nil
        let lower = [45.0, 60, 100, 600][Int(next() * 4)], upper = [900.0, 3600, 5000, 86_400][Int(next() * 4)]
        let settings = KeepAliveState.Settings(keepAliveModel(retention: upper, minRetention: lower, cost: [60.0, 600, 1800, 7200][Int(next() * 4)]))
        let chosen = KeepAlive.choose(learned, settings)
        let prewarmCost = KeepAlive.prewarmIdleCost(learned, settings)
        var candidates = [lower, upper]
        candidates += KeepAlive.ladder.filter { $0 > lower && $0 < upper }
        let costs = candidates.map { KeepAlive.expectedCost(learned.gaps, retention: $0, coldStartCost: settings.cost, prewarmCost: prewarmCost) }
        let chosenCost = KeepAlive.expectedCost(learned.gaps, retention: chosen, coldStartCost: settings.cost, prewarmCost: prewarmCost)
        #expect(chosen >= lower && chosen <= upper)
        #expect(chosenCost <= costs.min()! * (1 + 1e-9) + 1e-6)
    }
}

struct KeepAliveRestartTests {
    /// A timer every 270 s that skipped one firing: keeping the model up through the 10-minute gap pays, because a
    /// cold start is worth 30. The tail (one gap in 68) must survive the export.
    @Test func theExportedGapsRebuildAHistogramThatChoosesTheSame() {
        let config = keepAliveModel(retention: 7200, minRetention: 60, cost: 1800, prewarm: false)
        var state = ModelState(gatewaySeenAt: Instant(seconds: 1))
        var t = 1000.0
        state.keepAlive = KeepAlive.learn(state.keepAlive, arrival: true, config: config, now: Instant(seconds: t))
        for k in 0..<68 {
            t += k == 30 ? 600 : 270
            state.keepAlive = KeepAlive.learn(state.keepAlive, arrival: true, config: config, now: Instant(seconds: t))
        }
        #expect(KeepAlive.retention(config, state).seconds == 900)  // the step above the 600 s gap
        var exported = state.keepAlive.exported(config, state)
        exported.retention = nil  // the histogram alone, not the recovered retention, decides
        let restarted = ModelState(gatewaySeenAt: Instant(seconds: 1), keepAlive: KeepAliveState(recovered: exported))
        #expect(restarted.keepAlive.gaps.weight(atLeast: 60) >= KeepAlive.minimumWeight)
        #expect(KeepAlive.retention(config, restarted).seconds == 900)
        #expect(restarted.keepAlive.lastArrival == Instant(seconds: t))
    }

    @Test func burstStartsSurviveARestartBeforeThePeriodIsKnown() {
        let config = keepAliveModel(retention: 3600, minRetention: 60, cost: 1800)
        var learned = KeepAliveState()
        for k in 0..<3 { learned = KeepAlive.learn(learned, arrival: true, config: config, now: Instant(seconds: 500 + Double(k) * 21_600)) }
        #expect(learned.period == nil && learned.burstStarts.count == 2)
        var recovered = KeepAliveState(recovered: learned.exported(config, ModelState(gatewaySeenAt: Instant(seconds: 1))))
        #expect(recovered.burstStarts == learned.burstStarts)
        for k in 3..<6 { recovered = KeepAlive.learn(recovered, arrival: true, config: config, now: Instant(seconds: 500 + Double(k) * 21_600)) }
        #expect(recovered.period == 21_600)
    }
}
