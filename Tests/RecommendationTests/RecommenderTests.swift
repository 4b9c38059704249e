import Testing
import ModelConfig
@testable import Recommendation

/// A resolved configuration for one model, as the resolver would produce it.
func model(
    _ id: String = "m", namespace: String = "ns", enable: Bool = true, retention: Int64 = 300, min: Int = 1, max: Int? = nil,
    target: Double? = nil, group: String? = nil, wakePath: String? = nil
) -> ResolvedModelConfig {
    ConfigResolver(
        config: ModelConfigSet.build(entries: [RawEntry(key: "e", text: """
            model_id: \(id)
            enable_scale_to_zero: \(enable)
            retention_period: \(retention)s
            min_replicas: \(min)
            \(max.map { "max_replicas: \($0)" } ?? "")
            \(target.map { "target_concurrency: \($0)" } ?? "")
            \(group.map { "group: \($0)" } ?? "")
            \(wakePath.map { "wake_path: \($0)" } ?? "")
            """, location: EntryLocation(file: "t"))], previous: nil),
        environmentScaleToZero: nil
    ).resolve(ModelKey(namespace: namespace, modelID: id))
}

let t0 = Instant(seconds: 1_000_000)
func at(_ offset: Double) -> Instant { Instant(seconds: t0.seconds + offset) }

/// Signals with every activity signal known; the gateway routing the model unless `seen` is false.
func signals(
    requests: Double = 0, running: Double = 0, waiting: Double = 0, ready: Double = 1, demand: Double = 0,
    gatewayRequests: Double = 0, seen: Bool = true
) -> ModelSignals {
    ModelSignals(requests: requests, running: running, waiting: waiting, ready: ready, kvCacheUsage: 0, demand: demand,
                 gatewayRequests: gatewayRequests, gatewaySeen: seen)
}

/// Observed continuously since `t0`, the gateway seen routing it.
func observed(_ desired: Int? = 1, since: Instant = t0, lastWake: Instant? = nil) -> ModelState {
    ModelState(desired: desired, observedSince: since, lastWake: lastWake, gatewaySeenAt: since)
}

struct DecisionTableTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let name: String
        let config: ResolvedModelConfig
        let signals: ModelSignals
        let state: ModelState
        var wake = false
        var killSwitch = false
        let now: Instant
        let desired: Int
        let reason: Reason
        let phase: Phase
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        // idle → zero
        Row(name: "observed quiet for the whole retention goes to zero", config: model(), signals: .idleReplica,
            state: observed(), now: at(300), desired: 0, reason: .idle, phase: .zero),
        Row(name: "observed for less than the retention stays up, idle", config: model(), signals: .idleReplica,
            state: observed(), now: at(299), desired: 1, reason: .active, phase: .idle),
        Row(name: "the first complete tick starts the observation, not zero", config: model(retention: 1), signals: .idleReplica,
            state: ModelState(desired: 1), now: at(1000), desired: 1, reason: .active, phase: .idle),
        Row(name: "a fresh recommender with no history does not go to zero", config: model(retention: 1), signals: .idleReplica,
            state: ModelState(), now: at(0), desired: 1, reason: .active, phase: .idle),
        Row(name: "a recovered recommendation is not evidence: the observation starts afresh", config: model(retention: 1),
            signals: .idleReplica, state: ModelState(desired: 3), now: at(0), desired: 3, reason: .active, phase: .idle),
        Row(name: "no zero within the retention after a wake", config: model(retention: 300), signals: .idleReplica,
            state: observed(lastWake: at(100)), now: at(350), desired: 1, reason: .active, phase: .idle),
        Row(name: "zero once the retention after a wake has passed", config: model(retention: 300), signals: .idleReplica,
            state: observed(lastWake: at(100)), now: at(400), desired: 0, reason: .idle, phase: .zero),
        Row(name: "a model whose replicas report no metrics has no evidence of idleness", config: model(),
            signals: signals(ready: 0), state: observed(), now: at(100_000), desired: 1, reason: .active, phase: .idle),
        Row(name: "a model at zero stays at zero while quiet", config: model(), signals: .quiet,
            state: observed(0), now: at(1), desired: 0, reason: .idle, phase: .zero),
        Row(name: "a recovered zero stays zero after a restart", config: model(), signals: .quiet,
            state: ModelState(desired: 0), now: at(0), desired: 0, reason: .idle, phase: .zero),
        Row(name: "completed requests at zero bring the model back (someone is serving it)", config: model(),
            signals: signals(requests: 3), state: observed(0), now: at(0), desired: 1, reason: .active, phase: .waking),
        // no zero without a wake path
        Row(name: "idle with no wake path is held up and says why", config: model(), signals: signals(seen: false),
            state: ModelState(desired: 1, observedSince: t0), now: at(300), desired: 1, reason: .noWakePath, phase: .idle),
        Row(name: "wake_path api lets a model the gateway never routed go to zero", config: model(wakePath: "api"),
            signals: signals(seen: false), state: ModelState(desired: 1, observedSince: t0), now: at(300),
            desired: 0, reason: .idle, phase: .zero),
        Row(name: "a wake path proven within the memory period still counts", config: model(), signals: signals(seen: false),
            state: ModelState(desired: 1, observedSince: t0, gatewaySeenAt: at(-3600)), now: at(300),
            desired: 0, reason: .idle, phase: .zero),
        Row(name: "a wake path older than the memory period no longer counts", config: model(), signals: signals(seen: false),
            state: ModelState(desired: 1, observedSince: at(-200_000), gatewaySeenAt: at(-100_000)), now: at(300),
            desired: 1, reason: .noWakePath, phase: .idle),
        // hold
        Row(name: "idle model with a failed request query is held", config: model(),
            signals: ModelSignals(requests: nil, running: 0, waiting: 0, ready: 1, demand: 0, gatewayRequests: 0, gatewaySeen: true),
            state: observed(), now: at(10_000), desired: 1, reason: .hold, phase: .held),
        Row(name: "idle model with unknown demand is held", config: model(),
            signals: ModelSignals(requests: 0, running: 0, waiting: 0, ready: 1, demand: nil, gatewayRequests: 0, gatewaySeen: true),
            state: observed(), now: at(10_000), desired: 1, reason: .hold, phase: .held),
        Row(name: "idle model with an unknown gateway counter is held", config: model(),
            signals: ModelSignals(requests: 0, running: 0, waiting: 0, ready: 1, demand: 0, gatewayRequests: nil),
            state: observed(), now: at(10_000), desired: 1, reason: .hold, phase: .held),
        Row(name: "idle model with an unknown ready count is held", config: model(),
            signals: ModelSignals(requests: 0, running: 0, waiting: 0, ready: nil, demand: 0, gatewayRequests: 0),
            state: observed(), now: at(10_000), desired: 1, reason: .hold, phase: .held),
        Row(name: "unknown with no history holds at the floor", config: model(min: 2),
            signals: ModelSignals(), state: ModelState(), now: at(0), desired: 2, reason: .hold, phase: .held),
        Row(name: "a hold honours a newly raised min_replicas", config: model(min: 3),
            signals: ModelSignals(), state: observed(1), now: at(0), desired: 3, reason: .hold, phase: .held),
        Row(name: "a hold keeps a larger previous recommendation", config: model(max: 8),
            signals: ModelSignals(), state: observed(5), now: at(0), desired: 5, reason: .hold, phase: .held),
        Row(name: "a model serving while its size is unknown keeps its size up to a newly lowered max_replicas", config: model(max: 1),
            signals: ModelSignals(requests: 3, running: 1, waiting: nil, ready: 2, demand: 0, gatewayRequests: 0, gatewaySeen: true),
            state: observed(2), now: at(0), desired: 1, reason: .active, phase: .active),
        Row(name: "model at zero with unknown signals stays at zero", config: model(),
            signals: ModelSignals(), state: ModelState(desired: 0), now: at(0), desired: 0, reason: .hold, phase: .zero),
        // wake
        Row(name: "gateway queue wakes a model at zero", config: model(), signals: signals(ready: 0, demand: 3),
            state: observed(0), now: at(0), desired: 1, reason: .wake, phase: .waking),
        Row(name: "requests at the gateway wake a model at zero (no flow control: rejected, counted)", config: model(),
            signals: signals(ready: 0, gatewayRequests: 1), state: observed(0), now: at(0),
            desired: 1, reason: .wake, phase: .waking),
        Row(name: "requests at the gateway while replicas serve are theirs, not a wake", config: model(),
            signals: signals(requests: 4, ready: 1, gatewayRequests: 4), state: observed(1), now: at(0),
            desired: 1, reason: .active, phase: .idle),
        Row(name: "requests at the gateway in the window keep a quiet model from zero", config: model(retention: 60),
            signals: signals(ready: 1, gatewayRequests: 1), state: observed(1, since: at(-1000)), now: at(0),
            desired: 1, reason: .active, phase: .idle),
        Row(name: "demand wakes to min_replicas", config: model(min: 3), signals: signals(ready: 0, demand: 1),
            state: observed(0), now: at(0), desired: 3, reason: .wake, phase: .waking),
        Row(name: "a wake call wakes even when every query failed", config: model(),
            signals: ModelSignals(), state: ModelState(desired: 0), wake: true, now: at(0),
            desired: 1, reason: .wake, phase: .waking),
        Row(name: "demand wakes even when the request query failed", config: model(),
            signals: ModelSignals(requests: nil, running: nil, waiting: nil, ready: nil, demand: 2),
            state: ModelState(desired: 0), now: at(0), desired: 1, reason: .wake, phase: .waking),
        Row(name: "in-flight requests keep a model up", config: model(), signals: signals(running: 2),
            state: observed(), now: at(10_000), desired: 1, reason: .active, phase: .active),
        Row(name: "recent completed requests keep a model up, counting down from the last one", config: model(), signals: signals(requests: 5, ready: 2),
            state: observed(2), now: at(10_000), desired: 2, reason: .active, phase: .idle),
        // protected
        Row(name: "disabled model never goes below 1", config: model(enable: false), signals: .idleReplica,
            state: observed(), now: at(100_000), desired: 1, reason: .active, phase: .idle),
        Row(name: "disabled model at zero comes back", config: model(enable: false), signals: .quiet,
            state: ModelState(desired: 0), now: at(0), desired: 1, reason: .active, phase: .waking),
        Row(name: "kill switch keeps an idle model up", config: model(), signals: .idleReplica,
            state: observed(), killSwitch: true, now: at(100_000), desired: 1, reason: .active, phase: .idle),
        Row(name: "kill switch brings back a model at zero", config: model(), signals: .quiet,
            state: ModelState(desired: 0), killSwitch: true, now: at(0), desired: 1, reason: .active, phase: .waking),
        Row(name: "kill switch with unknown signals brings back to the floor", config: model(min: 2),
            signals: ModelSignals(), state: ModelState(desired: 0), killSwitch: true, now: at(0),
            desired: 2, reason: .hold, phase: .waking),
        // sizing
        Row(name: "target concurrency sizes to load", config: model(max: 10, target: 4),
            signals: signals(requests: 50, running: 9, waiting: 4, ready: 2), state: ModelState(desired: 2), now: at(0),
            desired: 4, reason: .active, phase: .active),
        Row(name: "target concurrency is clamped to max_replicas", config: model(max: 3, target: 1),
            signals: signals(requests: 50, running: 9, waiting: 4, ready: 2), state: ModelState(desired: 2), now: at(0),
            desired: 3, reason: .active, phase: .active),
        Row(name: "target concurrency with low load keeps min_replicas", config: model(min: 2, target: 8),
            signals: signals(requests: 5, running: 1, ready: 2), state: ModelState(desired: 2), now: at(0),
            desired: 2, reason: .active, phase: .active),
        Row(name: "sized by saturation, idle replicas come down one step, not the ready count echoed", config: model(max: 5),
            signals: signals(requests: 50, ready: 4), state: ModelState(desired: 4, peak: 4, peakAt: at(-100)), now: at(0),
            desired: 3, reason: .active, phase: .idle),
        Row(name: "a saturated model goes up at once to enough replicas for its queue", config: model(max: 10),
            signals: ModelSignals(requests: 50, running: 16, waiting: 20, ready: 2, kvCacheUsage: 0.95, demand: 0, gatewayRequests: 0, gatewaySeen: true),
            state: ModelState(desired: 2, peak: 2, peakAt: at(-5)), now: at(0), desired: 5, reason: .active, phase: .active),
        Row(name: "KV-cache above the target sizes up without waiting requests", config: model(max: 10),
            signals: ModelSignals(requests: 50, running: 6, waiting: 0, ready: 2, kvCacheUsage: 0.9, demand: 0, gatewayRequests: 0, gatewaySeen: true),
            state: ModelState(desired: 2, peak: 2, peakAt: at(-5)), now: at(0), desired: 3, reason: .active, phase: .active),
        Row(name: "a surge pod of a rolling update does not raise the recommendation", config: model(max: 10),
            signals: ModelSignals(requests: 50, running: 6, waiting: 0, ready: 3, kvCacheUsage: 0.4, demand: 0, gatewayRequests: 0, gatewaySeen: true),
            state: ModelState(desired: 2, peak: 2, peakAt: at(-5)), now: at(0), desired: 2, reason: .active, phase: .active),
        Row(name: "saturation size is clamped to max_replicas", config: model(max: 2),
            signals: ModelSignals(requests: 50, running: 16, waiting: 40, ready: 2, kvCacheUsage: 1, demand: 0, gatewayRequests: 0, gatewaySeen: true),
            state: ModelState(desired: 2), now: at(0), desired: 2, reason: .active, phase: .active),
        Row(name: "no replica reporting keeps the previous size (a scrape outage does not shrink a model)", config: model(max: 5),
            signals: signals(requests: 3, ready: 0), state: ModelState(desired: 3, peak: 3, peakAt: at(-1000)), now: at(0),
            desired: 3, reason: .active, phase: .idle),
        Row(name: "an unknown KV-cache usage holds the size", config: model(enable: false),
            signals: ModelSignals(requests: 5, running: 0, waiting: 0, ready: 2, kvCacheUsage: nil, demand: 0, gatewayRequests: 0),
            state: ModelState(desired: 2), now: at(0), desired: 2, reason: .hold, phase: .held),
        Row(name: "a recovered size is not dropped at once: its window starts now", config: model(max: 5),
            signals: signals(requests: 50, ready: 4), state: ModelState(desired: 4), now: at(0), desired: 4, reason: .active, phase: .idle),
        Row(name: "busy model with unknown ready count is held", config: model(),
            signals: ModelSignals(requests: 5, running: 0, waiting: 0, ready: nil, demand: 0, gatewayRequests: 0),
            state: ModelState(desired: 3), now: at(0), desired: 3, reason: .hold, phase: .held),
    ]

    @Test(arguments: rows)
    func decisionTable(_ row: Row) {
        let input = DecisionInput(config: row.config, signals: row.signals, state: row.state, wakeRequested: row.wake)
        let decision = Recommender.decide(input, policy: Policy(killSwitch: row.killSwitch, scaleDownStabilization: 60), now: row.now)
        #expect(decision.desired == row.desired)
        #expect(decision.reason == row.reason)
        #expect(decision.phase == row.phase)
    }
}

struct DecisionSequenceTests {
    /// Runs a model through ticks, feeding each decision's state to the next.
    func run(_ config: ResolvedModelConfig, from state: ModelState = observed(),
             ticks: [(Double, ModelSignals, Bool)]) -> [Decision] {
        var state = state
        return ticks.map { offset, signals, wake in
            let decision = Recommender.decide(
                DecisionInput(config: config, signals: signals, state: state, wakeRequested: wake), policy: Policy(), now: at(offset))
            state = decision.state
            return decision
        }
    }

    @Test func retentionIsMeasuredFromTheLastRequestNotDoubled() {
        // Observed for long; the last request completed at t=100. increase(...[60s]) counts it until
        // t=160 (one scrape later at most), then reads 0: zero at the first such tick, not at t=220.
        var ticks: [(Double, ModelSignals, Bool)] = []
        for t in stride(from: 100.0, through: 230, by: 5) {
            ticks.append((t, t < 161 ? signals(requests: 1) : .idleReplica, false))
        }
        let decisions = run(model(retention: 60), from: observed(since: at(-1000)), ticks: ticks)
        let firstZero = zip(ticks, decisions).first { $0.1.desired == 0 }.map(\.0.0)
        #expect(firstZero == 165)
        #expect(decisions.filter { $0.desired == 0 }.count == decisions.count - decisions.firstIndex { $0.desired == 0 }!)
    }

    @Test func wakeThenColdStartWithNoCompletedRequestNeverReturnsToZeroWithinRetention() {
        let cold = signals(ready: 0)
        let decisions = run(model(retention: 60), from: observed(0), ticks: [
            (0, cold, true),  // wake call
            (15, cold, false), (30, cold, false), (45, cold, false),  // pods loading, nothing completes
            (59, .idleReplica, false), (75, .idleReplica, false), (118, .idleReplica, false), (119, .idleReplica, false),
        ])
        // Pods loading break the observation (no replica reports); it starts at 59, so zero only at
        // 119 (59 + 60), not at 60 after the wake.
        #expect(decisions.map(\.desired) == [1, 1, 1, 1, 1, 1, 1, 0])
        #expect(decisions.map(\.phase) == [.waking, .waking, .waking, .waking, .idle, .idle, .idle, .zero])
        #expect(decisions[4].coldStartSeconds == 59)
        #expect(decisions[0].woke)
    }

    @Test func anUnknownTickStartsTheObservationAfresh() {
        let unknown = ModelSignals(requests: nil, running: 0, waiting: 0, ready: 1, demand: 0, gatewayRequests: 0, gatewaySeen: true)
        let decisions = run(model(retention: 30), from: observed(since: at(-1000)), ticks: [
            (0, unknown, false), (15, .idleReplica, false), (44, .idleReplica, false), (45, .idleReplica, false),
        ])
        #expect(decisions.map(\.reason) == [.hold, .active, .active, .idle])
        #expect(decisions.map(\.desired) == [1, 1, 1, 0])
        #expect(decisions[2].zeroAt == at(45))
        #expect(decisions[2].detail == "idle: evidence 29s of 30s")
    }

    @Test func aModelThatServedThroughAnOutageLongerThanTheRetentionIsNotZeroedWhenDataReturns() {
        // Prometheus down from 0 to 100 (the model served meanwhile, nobody saw it); when it comes
        // back, increase(...[30s]) holds only post-outage samples and reads 0.
        var ticks: [(Double, ModelSignals, Bool)] = stride(from: 0.0, to: 100, by: 5).map { ($0, ModelSignals(), false) }
        ticks += stride(from: 100.0, through: 135, by: 5).map { ($0, .idleReplica, false) }
        let decisions = run(model(retention: 30), from: observed(since: at(-1000)), ticks: ticks)
        let zeros = zip(ticks, decisions).filter { $0.1.desired == 0 }.map(\.0.0)
        #expect(zeros == [130, 135])
    }

    @Test func gatewayRequestsAtZeroWakeWithinOneTickAndKeepTheModelUpForTheRetention() {
        let decisions = run(model(retention: 60), from: observed(0), ticks: [
            (0, signals(ready: 0), false),
            (15, signals(ready: 0, gatewayRequests: 1), false),  // a rejected request (no flow control)
            (30, signals(ready: 0, gatewayRequests: 1), false),
            (45, signals(ready: 1), false),
        ])
        #expect(decisions.map(\.desired) == [0, 1, 1, 1])
        #expect(decisions[1].reason == .wake)
        #expect(decisions[1].detail == "gateway requests 1")
    }
}

struct StabilizationTests {
    @Test func loadBasedSizeScalesUpAtOnceAndDownOnlyAfterTheWindow() {
        let config = model(max: 10, target: 4)
        func load(_ inFlight: Double) -> ModelSignals {
            signals(requests: 10, running: inFlight)
        }
        var state = ModelState(desired: 1)
        var sizes: [Int] = []
        for (offset, inFlight) in [(0.0, 16.0), (10, 4), (30, 8), (59, 4), (60, 4), (61, 20), (62, 4)] {
            let decision = Recommender.decide(
                DecisionInput(config: config, signals: load(inFlight), state: state), policy: Policy(scaleDownStabilization: 60),
                now: at(offset))
            state = decision.state
            sizes.append(decision.desired)
        }
        // 4 held for 60 s after it was last wanted (t=0); then the highest size wanted within the
        // window (2, at t=30), as HPA's scale-down stabilization takes it; 5 at once on the spike.
        #expect(sizes == [4, 4, 4, 4, 2, 5, 5])
    }

    @Test func stabilizationNeverDelaysScaleToZero() {
        let decision = Recommender.decide(
            DecisionInput(config: model(retention: 10, target: 4), signals: .idleReplica,
                          state: ModelState(desired: 3, observedSince: t0, peak: 3, peakAt: at(5), gatewaySeenAt: t0)),
            policy: Policy(scaleDownStabilization: 60), now: at(10))
        #expect(decision.desired == 0)
        #expect(decision.state.peak == nil)
    }
}

struct BrokenEntryTests {
    /// A model whose entry is broken and never had a good version (after a restart, say): its
    /// bounds are unknown, so its recommendation moves up but never down until the entry is fixed.
    @Test func aModelWhoseEntryIsBrokenWithoutGoodVersionIsHeldNotSizedDown() {
        let set = ModelConfigSet.build(entries: [RawEntry(key: "m", text: "model_id: m\nretention_period: soon", location: EntryLocation(file: "t"))], previous: nil)
        let config = ConfigResolver(config: set, environmentScaleToZero: true).resolve(ModelKey(namespace: "ns", modelID: "m"))
        #expect(config.sources[.enableScaleToZero] == .invalidEntry(key: "m"))
        let state = ModelState(desired: 4, observedSince: t0, gatewaySeenAt: t0)
        let held = Recommender.decide(DecisionInput(config: config, signals: .idleReplica, state: state), policy: Policy(), now: at(600))
        #expect(held.desired == 4)
        #expect(held.detail.contains("entry `m` is invalid"))
        let busy = signals(running: 40, waiting: 30, ready: 4)
        #expect(Recommender.decide(DecisionInput(config: config, signals: busy, state: state), policy: Policy(), now: at(600)).desired > 4)
        // The same model with a good entry comes down.
        #expect(Recommender.decide(DecisionInput(config: model(enable: false), signals: .idleReplica, state: state), policy: Policy(), now: at(600)).desired < 4)
    }
}

struct GroupTests {
    func input(_ id: String, _ signals: ModelSignals, _ state: ModelState, namespace: String = "ns") -> DecisionInput {
        DecisionInput(config: model(id, namespace: namespace, retention: 60, group: "org"), signals: signals, state: state)
    }

    @Test func demandOnOneMemberWakesEveryMember() {
        let decisions = Recommender.recommend([
            input("a", signals(ready: 0, demand: 2), observed(0)),
            input("b", .quiet, observed(0)),
            DecisionInput(config: model("c", retention: 60), signals: .quiet, state: observed(0)),
        ], policy: Policy(), now: at(0))
        #expect(decisions.map(\.desired) == [1, 1, 0])
        #expect(decisions[1].reason == .wake)
        #expect(decisions[1].detail == "group org woke")
    }

    @Test func groupsAreScopedToTheirNamespace() {
        let decisions = Recommender.recommend([
            input("a", signals(ready: 0, demand: 2), observed(0), namespace: "team-a"),
            input("b", .quiet, observed(0), namespace: "team-b"),
        ], policy: Policy(), now: at(0))
        #expect(decisions.map(\.desired) == [1, 0])
    }

    @Test func groupSleepsOnlyWhenEveryMemberIsIdleLongEnough() {
        let idleLong = observed(since: at(0))
        let idleShort = observed(since: at(50))
        let notYet = Recommender.recommend([input("a", .idleReplica, idleLong), input("b", .idleReplica, idleShort)], policy: Policy(), now: at(100))
        #expect(notYet.map(\.desired) == [1, 1])
        #expect(notYet[0].detail == "idle, but group org is not")
        let both = Recommender.recommend([input("a", .idleReplica, idleLong), input("b", .idleReplica, idleShort)], policy: Policy(), now: at(110))
        #expect(both.map(\.desired) == [0, 0])
    }
}

/// Review of the hold of a model whose entry is broken (commit 3262278).
struct BrokenEntryHoldReviewTests {
    /// `max_replicas` applies at once (the ordinary hold clamps to it); the broken-entry hold keeps a
    /// previous size above the `max_replicas` in force (here from `default`).
    @Test func theBrokenEntryHoldStillRespectsMaxReplicas() {
        let set = ModelConfigSet.build(entries: [
            RawEntry(key: "default", text: "max_replicas: 4", location: EntryLocation(file: "t")),
            RawEntry(key: "m", text: "model_id: m\nretention_period: soon", location: EntryLocation(file: "t")),
        ], previous: nil)
        let config = ConfigResolver(config: set, environmentScaleToZero: true).resolve(ModelKey(namespace: "ns", modelID: "m"))
        #expect(config.maxReplicas == 4)
        let state = ModelState(desired: 8, observedSince: t0, gatewaySeenAt: t0)
        let d = Recommender.decide(DecisionInput(config: config, signals: .idleReplica, state: state), policy: Policy(), now: at(600))
        #expect(d.desired <= 4, "desired \(d.desired) above max_replicas 4: \(d.detail)")
    }
}
