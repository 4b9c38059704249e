import Testing
import ModelConfig
@testable import Recommendation

/// A resolved configuration for one model, as the resolver would produce it.
func model(
    _ id: String = "m", enable: Bool = true, retention: Int64 = 300, min: Int = 1, max: Int? = nil,
    target: Double? = nil, group: String? = nil
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
            """, location: EntryLocation(file: "t"))], previous: nil),
        environmentScaleToZero: nil
    ).resolve(ModelKey(namespace: "ns", modelID: id))
}

let t0 = Instant(seconds: 1_000_000)
func at(_ offset: Double) -> Instant { Instant(seconds: t0.seconds + offset) }

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
        Row(name: "idle for the whole retention goes to zero", config: model(), signals: .idleReplica,
            state: ModelState(desired: 1, idleSince: t0), now: at(300), desired: 0, reason: .idle, phase: .zero),
        Row(name: "idle for less than the retention stays up, idle", config: model(), signals: .idleReplica,
            state: ModelState(desired: 1, idleSince: t0), now: at(299), desired: 1, reason: .active, phase: .idle),
        Row(name: "first quiet tick starts the idle clock, not zero", config: model(retention: 1), signals: .idleReplica,
            state: ModelState(desired: 1), now: at(1000), desired: 1, reason: .active, phase: .idle),
        Row(name: "a fresh recommender with no history does not go to zero", config: model(retention: 1), signals: .idleReplica,
            state: ModelState(), now: at(0), desired: 1, reason: .active, phase: .idle),
        Row(name: "idle model with a failed request query is held", config: model(),
            signals: ModelSignals(requests: nil, running: 0, waiting: 0, ready: 1, demand: 0),
            state: ModelState(desired: 1, idleSince: t0), now: at(10_000), desired: 1, reason: .hold, phase: .held),
        Row(name: "idle model with unknown demand is held", config: model(),
            signals: ModelSignals(requests: 0, running: 0, waiting: 0, ready: 1, demand: nil),
            state: ModelState(desired: 1, idleSince: t0), now: at(10_000), desired: 1, reason: .hold, phase: .held),
        Row(name: "NaN-free unknown with no history holds at the floor", config: model(min: 2),
            signals: ModelSignals(), state: ModelState(), now: at(0), desired: 2, reason: .hold, phase: .held),
        Row(name: "model at zero with unknown signals stays at zero", config: model(),
            signals: ModelSignals(), state: ModelState(desired: 0), now: at(0), desired: 0, reason: .hold, phase: .zero),
        Row(name: "gateway demand wakes a model at zero", config: model(),
            signals: ModelSignals(requests: 0, running: 0, waiting: 0, ready: 0, demand: 3),
            state: ModelState(desired: 0), now: at(0), desired: 1, reason: .wake, phase: .waking),
        Row(name: "demand wakes to min_replicas", config: model(min: 3),
            signals: ModelSignals(requests: 0, running: 0, waiting: 0, ready: 0, demand: 1),
            state: ModelState(desired: 0), now: at(0), desired: 3, reason: .wake, phase: .waking),
        Row(name: "a wake call wakes even when every query failed", config: model(),
            signals: ModelSignals(), state: ModelState(desired: 0), wake: true, now: at(0),
            desired: 1, reason: .wake, phase: .waking),
        Row(name: "demand wakes even when the request query failed", config: model(),
            signals: ModelSignals(requests: nil, running: nil, waiting: nil, ready: nil, demand: 2),
            state: ModelState(desired: 0), now: at(0), desired: 1, reason: .wake, phase: .waking),
        Row(name: "in-flight requests keep a model up", config: model(),
            signals: ModelSignals(requests: 0, running: 2, waiting: 0, ready: 1, demand: 0),
            state: ModelState(desired: 1, idleSince: t0), now: at(10_000), desired: 1, reason: .active, phase: .active),
        Row(name: "recent completed requests keep a model up", config: model(),
            signals: ModelSignals(requests: 5, running: 0, waiting: 0, ready: 2, demand: 0),
            state: ModelState(desired: 2, idleSince: t0), now: at(10_000), desired: 2, reason: .active, phase: .active),
        Row(name: "disabled model never goes below 1", config: model(enable: false), signals: .idleReplica,
            state: ModelState(desired: 1, idleSince: t0), now: at(100_000), desired: 1, reason: .active, phase: .idle),
        Row(name: "disabled model at zero comes back", config: model(enable: false), signals: .quiet,
            state: ModelState(desired: 0), now: at(0), desired: 1, reason: .active, phase: .waking),
        Row(name: "kill switch keeps an idle model up", config: model(), signals: .idleReplica,
            state: ModelState(desired: 1, idleSince: t0), killSwitch: true, now: at(100_000), desired: 1, reason: .active, phase: .idle),
        Row(name: "kill switch brings back a model at zero", config: model(), signals: .quiet,
            state: ModelState(desired: 0), killSwitch: true, now: at(0), desired: 1, reason: .active, phase: .waking),
        Row(name: "kill switch with unknown signals brings back to the floor", config: model(min: 2),
            signals: ModelSignals(), state: ModelState(desired: 0), killSwitch: true, now: at(0),
            desired: 2, reason: .hold, phase: .held),
        Row(name: "a model at zero stays at zero while quiet", config: model(), signals: .quiet,
            state: ModelState(desired: 0, idleSince: t0), now: at(1), desired: 0, reason: .idle, phase: .zero),
        Row(name: "a recovered zero stays zero after a restart", config: model(), signals: .quiet,
            state: ModelState(desired: 0), now: at(0), desired: 0, reason: .idle, phase: .zero),
        Row(name: "no zero within the retention after a wake", config: model(retention: 300), signals: .idleReplica,
            state: ModelState(desired: 1, idleSince: at(0), lastWake: at(100)), now: at(350),
            desired: 1, reason: .active, phase: .idle),
        Row(name: "zero once the retention after a wake has passed", config: model(retention: 300), signals: .idleReplica,
            state: ModelState(desired: 1, idleSince: at(0), lastWake: at(100)), now: at(400),
            desired: 0, reason: .idle, phase: .zero),
        Row(name: "a model whose replicas report no metrics is not idle (not scraped, or gone)", config: model(),
            signals: .quiet, state: ModelState(desired: 1, idleSince: t0), now: at(100_000), desired: 1, reason: .active, phase: .active),
        Row(name: "a configured model never seen by Prometheus never reaches zero", config: model(retention: 1),
            signals: .quiet, state: ModelState(desired: 1), now: at(100_000), desired: 1, reason: .active, phase: .active),
        Row(name: "target concurrency sizes to load", config: model(max: 10, target: 4),
            signals: ModelSignals(requests: 50, running: 9, waiting: 4, ready: 2, demand: 0),
            state: ModelState(desired: 2), now: at(0), desired: 4, reason: .active, phase: .active),
        Row(name: "target concurrency is clamped to max_replicas", config: model(max: 3, target: 1),
            signals: ModelSignals(requests: 50, running: 9, waiting: 4, ready: 2, demand: 0),
            state: ModelState(desired: 2), now: at(0), desired: 3, reason: .active, phase: .active),
        Row(name: "target concurrency with low load keeps min_replicas", config: model(min: 2, target: 8),
            signals: ModelSignals(requests: 5, running: 1, waiting: 0, ready: 2, demand: 0),
            state: ModelState(desired: 2), now: at(0), desired: 2, reason: .active, phase: .active),
        Row(name: "without target concurrency the ready count is kept", config: model(max: 5),
            signals: ModelSignals(requests: 50, running: 0, waiting: 0, ready: 4, demand: 0),
            state: ModelState(desired: 4), now: at(0), desired: 4, reason: .active, phase: .active),
        Row(name: "ready count is clamped to max_replicas", config: model(max: 2),
            signals: ModelSignals(requests: 50, running: 0, waiting: 0, ready: 4, demand: 0),
            state: ModelState(desired: 4), now: at(0), desired: 2, reason: .active, phase: .active),
        Row(name: "busy model with unknown ready count is held", config: model(),
            signals: ModelSignals(requests: 5, running: 0, waiting: 0, ready: nil, demand: 0),
            state: ModelState(desired: 3), now: at(0), desired: 3, reason: .hold, phase: .held),
    ]

    @Test(arguments: rows)
    func decisionTable(_ row: Row) {
        let input = DecisionInput(config: row.config, signals: row.signals, state: row.state, wakeRequested: row.wake)
        let decision = Recommender.decide(input, killSwitch: row.killSwitch, now: row.now)
        #expect(decision.desired == row.desired)
        #expect(decision.reason == row.reason)
        #expect(decision.phase == row.phase)
    }
}

struct DecisionSequenceTests {
    /// Runs a model through ticks, feeding each decision's state to the next.
    func run(_ config: ResolvedModelConfig, from state: ModelState = ModelState(desired: 1),
             ticks: [(Double, ModelSignals, Bool)]) -> [Decision] {
        var state = state
        return ticks.map { offset, signals, wake in
            let decision = Recommender.decide(
                DecisionInput(config: config, signals: signals, state: state, wakeRequested: wake), killSwitch: false,
                now: at(offset))
            state = decision.state
            return decision
        }
    }

    @Test func wakeThenColdStartWithNoCompletedRequestNeverReturnsToZeroWithinRetention() {
        let cold = ModelSignals(requests: 0, running: 0, waiting: 0, ready: 0, demand: 0)
        let decisions = run(model(retention: 60), from: ModelState(desired: 0), ticks: [
            (0, cold, true),  // wake call
            (15, cold, false), (30, cold, false), (45, cold, false),  // pods loading, nothing completes
            (59, .idleReplica, false), (75, .idleReplica, false), (118, .idleReplica, false), (119, .idleReplica, false),
        ])
        // Up through the retention after the wake, and then until the replica has reported idle for
        // a whole retention (59 + 60): zero only at 119.
        #expect(decisions.map(\.desired) == [1, 1, 1, 1, 1, 1, 1, 0])
        #expect(decisions.map(\.phase) == [.waking, .waking, .waking, .waking, .idle, .idle, .idle, .zero])
        #expect(decisions[4].coldStartSeconds == 59)
        #expect(decisions[0].woke)
    }

    @Test func idleClockRestartsOnActivity() {
        let busy = ModelSignals(requests: 1, running: 0, waiting: 0, ready: 1, demand: 0)
        let decisions = run(model(retention: 30), ticks: [
            (0, .idleReplica, false), (20, busy, false), (40, .idleReplica, false), (69, .idleReplica, false), (70, .idleReplica, false),
        ])
        #expect(decisions.map(\.desired) == [1, 1, 1, 1, 0])
        #expect(decisions[4].scaledToZero)
        #expect(decisions[4].state.idleSince == at(40))
    }

    @Test func heldTickKeepsTheIdleClock() {
        let unknown = ModelSignals(requests: nil, running: 0, waiting: 0, ready: 1, demand: 0)
        let decisions = run(model(retention: 30), ticks: [(0, .idleReplica, false), (15, unknown, false), (30, .idleReplica, false)])
        #expect(decisions.map(\.reason) == [.active, .hold, .idle])
        #expect(decisions.map(\.desired) == [1, 1, 0])
    }
}

struct StabilizationTests {
    @Test func loadBasedSizeScalesUpAtOnceAndDownOnlyAfterTheWindow() {
        let config = model(max: 10, target: 4)
        func load(_ inFlight: Double) -> ModelSignals {
            ModelSignals(requests: 10, running: inFlight, waiting: 0, ready: 1, demand: 0)
        }
        var state = ModelState(desired: 1)
        var sizes: [Int] = []
        for (offset, inFlight) in [(0.0, 16.0), (10, 4), (30, 8), (59, 4), (60, 4), (61, 20), (62, 4)] {
            let decision = Recommender.decide(
                DecisionInput(config: config, signals: load(inFlight), state: state), killSwitch: false, now: at(offset),
                scaleDownStabilization: 60)
            state = decision.state
            sizes.append(decision.desired)
        }
        // 4 held for 60 s after it was last wanted (t=0), then 1; 5 at once on the spike.
        #expect(sizes == [4, 4, 4, 4, 1, 5, 5])
    }

    @Test func stabilizationNeverDelaysScaleToZero() {
        let decision = Recommender.decide(
            DecisionInput(config: model(retention: 10, target: 4), signals: .idleReplica,
                          state: ModelState(desired: 3, idleSince: t0, peak: 3, peakAt: at(5))),
            killSwitch: false, now: at(10), scaleDownStabilization: 60)
        #expect(decision.desired == 0)
        #expect(decision.state.peak == nil)
    }
}

struct GroupTests {
    func input(_ id: String, _ signals: ModelSignals, _ state: ModelState) -> DecisionInput {
        DecisionInput(config: model(id, retention: 60, group: "org"), signals: signals, state: state)
    }

    @Test func demandOnOneMemberWakesEveryMember() {
        let decisions = Recommender.recommend([
            input("a", ModelSignals(requests: 0, running: 0, waiting: 0, ready: 0, demand: 2), ModelState(desired: 0)),
            input("b", .quiet, ModelState(desired: 0)),
            DecisionInput(config: model("c", retention: 60), signals: .quiet, state: ModelState(desired: 0)),
        ], killSwitch: false, now: at(0))
        #expect(decisions.map(\.desired) == [1, 1, 0])
        #expect(decisions[1].reason == .wake)
        #expect(decisions[1].detail == "group org woke")
    }

    @Test func groupSleepsOnlyWhenEveryMemberIsIdleLongEnough() {
        let idleLong = ModelState(desired: 1, idleSince: at(0))
        let idleShort = ModelState(desired: 1, idleSince: at(50))
        let notYet = Recommender.recommend([input("a", .idleReplica, idleLong), input("b", .idleReplica, idleShort)], killSwitch: false, now: at(100))
        #expect(notYet.map(\.desired) == [1, 1])
        #expect(notYet[0].detail == "idle, but group org is not")
        let both = Recommender.recommend([input("a", .idleReplica, idleLong), input("b", .idleReplica, idleShort)], killSwitch: false, now: at(110))
        #expect(both.map(\.desired) == [0, 0])
    }
}
