import Testing
import ModelConfig
@testable import Recommendation

/// Attacks on the gateway counter baseline, scale-down stabilization and the phase shown while a
/// model counts down its retention.
struct GatewayCounterBaselineTests {
    func run(_ config: ResolvedModelConfig, from state: ModelState, ticks: [(Double, ModelSignals)]) -> [Decision] {
        var state = state
        return ticks.map { offset, signals in
            let decision = Recommender.decide(DecisionInput(config: config, signals: signals, state: state), policy: Policy(), now: at(offset))
            state = decision.state
            return decision
        }
    }

    /// One failed scrape of the endpoint picker: its series are absent for a scrape, then back
    /// unchanged. The signal is the counter's increase over three scrapes (Prometheus' `increase`
    /// rides out the gap): no request reached the gateway, nothing may wake.
    @Test func aGatewaySeriesThatVanishesForOneScrapeAndReturnsUnchangedIsNotDemand() {
        let decisions = run(model(retention: 300), from: observed(0), ticks: [
            (0, signals(ready: 0, gatewayRequests: 0, seen: false)),  // the scrape failed: series absent
            (15, signals(ready: 0, gatewayRequests: 0)),  // back, unchanged
            (30, signals(ready: 0, gatewayRequests: 0)),
        ])
        #expect(decisions.map(\.desired) == [0, 0, 0], "details: \(decisions.map(\.detail))")
    }

    /// Requests the gateway counted while replicas served them are timed by the replicas' request
    /// counters (which show them): they delay zero only while they are in the gateway's window,
    /// and do not restart the retention from the tick that saw them.
    @Test func gatewayRequestsTheReplicasCountersShowDoNotRestartTheRetention() {
        let decisions = run(model(retention: 30), from: observed(1, since: at(-1000)), ticks: [
            (0, signals(requests: 1, gatewayRequests: 2)),
            (10, signals(requests: 1, gatewayRequests: 0)),
            (31, signals(requests: 0, gatewayRequests: 0)),  // the completion has left the window
        ])
        #expect(decisions.map(\.desired) == [1, 1, 0], "details: \(decisions.map(\.detail))")
    }

    /// Requests the gateway counted for the model that no replica's counter shows (nothing
    /// completed in the window, nothing in flight) were served and lost — a restarted container's
    /// counter back at its old value across a failed scrape hides them (fault simulation, schedule
    /// 15521098117460259587: the model went to zero 13 s after its last request). The retention
    /// counts from the last tick that saw them, and the detail says so. A count that may reach
    /// further back than R (a read back over a long blind stretch; a gateway window longer than
    /// R), one of unknown reach, or one the gateway's series cannot attribute to this model alone
    /// restarts nothing.
    @Test(arguments: [(true, 15.0, [1, 1, 1, 0]), (false, 15, [1, 0, 0, 0]), (true, 45, [1, 0, 0, 0]), (true, nil, [1, 0, 0, 0])] as [(Bool, Double?, [Int])])
    func requestsTheGatewayCountedThatNoReplicaCounterShowsRestartTheRetention(attributedAlone: Bool, span: Double?, expected: [Int]) {
        var first = signals(requests: 0, gatewayRequests: 2, seen: attributedAlone)
        first.gatewayRequestsSpan = span
        let decisions = quietAfter(first, then: [10, 29, 31])
        #expect(decisions.map(\.desired) == expected, "details: \(decisions.map(\.detail))")
        if expected[1] == 1 {
            #expect(decisions[1].detail.contains("the gateway counted a request 10s ago that no replica's request counter shows"), "\(decisions[1].detail)")
            #expect(decisions[1].zeroAt == at(30))
        }
    }

    /// The hidden request counted while the window has an ended series (or a reset) in it: a
    /// container restarted, its pod not ready for a scrape, then back with its counter at the old
    /// value — the ended-series hold lifts as soon as the series is back, and the gateway's count
    /// was the only trace (fault simulation, schedule 2908720266718910427: a zero 7 s after the
    /// last request, R 60 s). The retention counts from it all the same.
    @Test(arguments: [(true, false), (false, true)])
    func requestsTheGatewayCountedRestartTheRetentionThoughTheWindowHasAnEndedSeriesOrAReset(ended: Bool, reset: Bool) {
        var first = signals(requests: 0, gatewayRequests: 1, seen: true)
        first.gatewayRequestsSpan = 15
        first.requestsWindowEnded = ended
        first.requestsWindowReset = reset
        let decisions = quietAfter(first, then: [5, 29, 31])
        #expect(decisions.map(\.desired) == [1, 1, 1, 0], "details: \(decisions.map(\.detail))")
    }

    /// A model woken from zero by rejected requests (flow control off: the gateway counts them,
    /// no replica serves them, their clients retry later). Its new replica's request window is
    /// younger than R when the gateway counts the last rejection, a tick after the wake: the
    /// retention counts from that tick, not from the wake — the clients of that request retry
    /// into a model R after it (fault simulation, schedule 4768474916190934135: zeroed 19 s after
    /// the last rejection, R 20 s, while its client waited to retry).
    @Test func aRejectionCountedWhileTheNewReplicasWindowIsYoungRestartsTheRetention() {
        let decisions = run(model(retention: 30), from: observed(0, since: at(-1000)), ticks: [
            (0, signals(ready: 0, gatewayRequests: 2)),  // rejected: wake
            (5, young(5, gatewayRequests: 1, span: 5)),  // the replica is up; one more rejection before it was
            (10, young(10, gatewayRequests: 0, span: 5)),
            (31, young(31, gatewayRequests: 0, span: 5)),  // R after the wake, not after the last rejection
            (36, young(36, gatewayRequests: 0, span: 5)),
        ])
        #expect(decisions.map(\.desired) == [1, 1, 1, 1, 0], "details: \(decisions.map(\.detail))")
        #expect(decisions[3].zeroAt == at(35), "\(decisions[3].detail)")
    }

    /// The young-window exception holds at the tick that first sees the replica only: the
    /// gateway's window (90 s here) shows a request for several ticks, and counting it again at
    /// each would put the zero up to that much later than R after it (review: a first request the
    /// new replica's first sample already counted kept the model up 45 s past R + a tick + a
    /// scrape; campaign schedule 3186923050646824414, liveness).
    @Test func aRequestTheGatewayWindowShowsForSeveralTicksIsCountedOnceAfterTheWake() {
        var ticks: [(Double, ModelSignals)] = [(0, signals(ready: 0, gatewayRequests: 0, seen: true))]
        ticks[0].1.demand = 1  // woken by the queue
        ticks.append((15, young(15, gatewayRequests: 1, span: 90)))  // the replica is up; the gateway counted its first request
        for t in stride(from: 30.0, through: 90, by: 15) { ticks.append((t, young(t, gatewayRequests: 1, span: 90))) }
        for t in stride(from: 105.0, through: 330, by: 15) { ticks.append((t, young(t, gatewayRequests: 0, span: 90))) }
        let decisions = run(model(retention: 300), from: observed(0, since: at(-1000)), ticks: ticks)
        let zero = zip(ticks.map(\.0), decisions).first { $0.1.desired == 0 }?.0
        #expect(zero == 315, "R after the tick that first saw the replica (15 s), not after the last tick the window showed the request (90 s): \(zip(ticks.map(\.0), decisions.map(\.detail)).map { "\($0): \($1)" })")
    }

    /// A rejection while a replica reports (a pod scraped before it is ready): the answer that
    /// shows the new rejection restarts the retention, whatever the window holds — once, at that
    /// tick, though the gateway's window goes on showing it.
    @Test(arguments: [true, false])
    func aNewRejectionWhileAReplicaReportsRestartsTheRetentionOnce(rejected: Bool) {
        let decisions = run(model(retention: 20), from: observed(1, since: at(-1000)), ticks: [
            (0, young(6, gatewayRequests: 1, span: 6, rejections: rejected ? 1 : 0)),
            (2, young(8, gatewayRequests: 1, span: 6, rejections: 0)),
            (4, young(10, gatewayRequests: 1, span: 6, rejections: 0)),
            (6, young(12, gatewayRequests: 0, span: 6)),
            (19, young(25, gatewayRequests: 0, span: 6)),
            (21, young(27, gatewayRequests: 0, span: 6)),
        ])
        #expect(decisions.map(\.desired) == (rejected ? [1, 1, 1, 1, 1, 0] : [1, 1, 1, 1, 0, 0]), "\(decisions.map(\.detail))")
    }

    /// Signals of a replica whose requests window holds `held` s (nothing counted in it), the
    /// gateway counting `gatewayRequests` over `span` s.
    func young(_ held: Double, gatewayRequests: Double, span: Double, rejections: Double? = nil) -> ModelSignals {
        var s = signals(requests: 0, gatewayRequests: gatewayRequests)
        s.requestsWindowSeconds = held
        s.gatewayRequestsSpan = span
        s.gatewayRejections = rejections
        return s
    }

    /// A model at 1, observed long, R 30 s: `first` at t = 0, then quiet ticks (nothing counted
    /// anywhere) at `then`.
    func quietAfter(_ first: ModelSignals, then: [Double]) -> [Decision] {
        run(model(retention: 30), from: observed(1, since: at(-1000)), ticks: [(0, first)] + then.map { ($0, signals(requests: 0, gatewayRequests: 0)) })
    }
}

/// A model recommended 0 can still have a replica reporting: its consumer's cooldown has not
/// removed it yet, or Prometheus kept a removed pod's series for its lookback (it could not write
/// the staleness markers: a restart). Requests counted at the gateway then are demand all the same
/// — that replica is on its way out — even when its request counter is unknown (found by the fault
/// simulation, seed 16124715807188723254: the model held 0 while requests waited).
struct GatewayRequestsForAModelAtZeroTests {
    /// (requests known or not, gateway requests) → woken.
    @Test(arguments: [(nil, 3.0, true), (0, 3, true), (2, 3, true), (nil, 0, false), (0, 0, false)] as [(Double?, Double, Bool)])
    func gatewayRequestsWakeAModelAtZeroWhoseReplicaStillReports(requests: Double?, gatewayRequests: Double, woken: Bool) {
        var input = signals(ready: 1, gatewayRequests: gatewayRequests)
        input.requests = requests
        let decision = Recommender.decide(
            DecisionInput(config: model(retention: 30), signals: input, state: observed(0, since: at(-100))),
            policy: Policy(), now: at(0))
        #expect(decision.desired == (woken ? 1 : 0), "\(decision.detail)")
        if woken {
            #expect(decision.reason == .wake)
            #expect(decision.detail.contains("gateway requests 3"), "\(decision.detail)")
        }
    }
}

/// A request-counter series that ended inside the window (a replica removed, or no longer
/// scraped) may have served requests after its last scrape: no zero until it has left the window.
struct EndedSeriesTests {
    @Test func aSeriesThatEndedInsideTheWindowHoldsTheZeroAndSaysWhy() {
        var input = signals(requests: 0)
        input.requestsWindowEnded = true
        let held = Recommender.decide(
            DecisionInput(config: model(retention: 30), signals: input, state: observed(1, since: at(-1000))), policy: Policy(), now: at(0))
        #expect(held.desired == 1)
        #expect(held.detail.contains("ended within the 30s window"), "\(held.detail)")
        input.requestsWindowEnded = false
        let zero = Recommender.decide(
            DecisionInput(config: model(retention: 30), signals: input, state: observed(1, since: at(-1000))), policy: Policy(), now: at(0))
        #expect(zero.desired == 0, "\(zero.detail)")
    }
}

struct StabilizationWindowTests {
    /// `ModelState.peak` is documented as "the highest load-based size within the scale-down
    /// stabilization window" (and HPA's scaleDown stabilization takes the max of the window's
    /// recommendations, kubernetes pkg/controller/podautoscaler/horizontal.go stabilizeRecommendation).
    /// 4 wanted at t=0, 2 at t=30, 1 at t=61: the window (1, 61] still holds the 2.
    @Test func scaleDownStabilizationHoldsTheHighestSizeWantedWithinTheWindow() {
        let config = model(max: 10, target: 4)
        var state = ModelState(desired: 1)
        var sizes: [Int] = []
        for (offset, inFlight) in [(0.0, 16.0), (30, 8), (61, 4)] {
            let decision = Recommender.decide(
                DecisionInput(config: config, signals: signals(requests: 10, running: inFlight), state: state),
                policy: Policy(scaleDownStabilization: 60), now: at(offset))
            state = decision.state
            sizes.append(decision.desired)
        }
        #expect(sizes == [4, 4, 2])
    }

    /// An operator lowers `max_replicas` (a GPU quota) from 10 to 4 while the model runs at 8: the
    /// recommendation is "clamped to [max(1, min_replicas), max_replicas]" (spec §5 step 4), but
    /// the stabilization window re-imposes the old peak of 8 above the new ceiling.
    @Test(arguments: [4.0, nil] as [Double?])
    func aLoweredMaxReplicasIsHonouredAtOnceNotAfterTheStabilizationWindow(target: Double?) {
        let decision = Recommender.decide(
            DecisionInput(config: model(max: 4, target: target),
                          signals: ModelSignals(requests: 50, running: 32, waiting: 0, ready: 8, kvCacheUsage: 1, demand: 0,
                                                gatewayRequests: 0, gatewaySeen: true),
                          state: ModelState(desired: 8, observedSince: t0, peak: 8, peakAt: at(-10), gatewaySeenAt: t0)),
            policy: Policy(scaleDownStabilization: 60), now: at(0))
        #expect(decision.desired <= 4, "\(decision.detail)")
    }
}

struct CountdownPhaseTests {
    /// R is measured from the last request: with nothing in flight and the last request inside the
    /// window, the model is counting down its retention. `Phase.idle` says "idle, counting down its
    /// retention"; `Phase.active` says "serving". The API and `recommender_model_state` show
    /// `active`/"serving" for the whole tail of R.
    @Test func aModelWithNothingInFlightCountingDownFromItsLastRequestIsIdleNotServing() {
        let decision = Recommender.decide(
            DecisionInput(config: model(retention: 600), signals: signals(requests: 3), state: observed(since: at(-10_000))),
            policy: Policy(), now: at(0))
        #expect(decision.desired == 1)
        #expect(decision.phase == .idle)
        #expect(!decision.detail.hasPrefix("serving"))
    }
}
