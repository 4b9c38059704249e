import Testing
@testable import FaultSimulation

/// Hand-written schedules for each promise of spec §3–§6 and each defect of issue 10, through the
/// whole loop (real config handling, client, collector, engine, core) in virtual time.
///
/// Those wrapped in `withKnownIssue` fail on the recommender as it is today; remove the wrapper
/// when the fix lands (the test then fails if the known issue stops reproducing).
@Suite struct PromiseTests {
    static func model(
        _ name: String, namespace: String = "team-a", kind: SimModel.Kind = .bursty, arrivals: [Double] = [],
        service: Double = 1, coldStart: Double = 5
    ) -> SimModel {
        SimModel(
            id: "org/\(name)", namespace: namespace, kind: kind, servedName: "org/\(name)", requestedName: "org/\(name)",
            arrivals: arrivals, serviceTime: service, coldStart: coldStart, viaAPI: kind == .api)
    }

    /// A `twin` model of team-a (its id's organisation part differs from `org/`), cold start 3 s.
    static func twin(_ id: String, arrivals: [Double], service: Double) -> SimModel {
        SimModel(
            id: id, namespace: "team-a", kind: .twin, servedName: id, requestedName: id,
            arrivals: arrivals, serviceTime: service, coldStart: 3, viaAPI: false)
    }

    static func schedule(
        _ models: [SimModel], retention: Double = 20, entries: [EntryText] = [], events: [ScheduleEvent] = [],
        duration: Double = 120, forgetAfter: Double = 600, flowControl: Bool = true, gateway: GatewayNamespaces = .none,
        scrape: Double = 1, tick: Double = 1
    ) -> Schedule {
        Schedule(
            seed: 0, scrapeInterval: scrape, tickInterval: tick, duration: duration, forgetAfter: forgetAfter, flavour: .v3,
            flowControl: flowControl, gatewayNamespaces: gateway, models: models,
            config: [.good(EntrySpec(key: "default", enable: true, retention: retention))] + entries, events: events)
    }

    /// Runs and returns the violations of `invariants` (all when empty), printing the schedule when any.
    static func violations(_ schedule: Schedule, profile: Profile = .core, _ invariants: Set<Invariant> = []) async -> [Violation] {
        let result = await Simulation(schedule: schedule, profile: profile).run()
        #expect(result.harnessError == nil)
        let found = result.violations.filter { invariants.isEmpty || invariants.contains($0.invariant) }
        if !found.isEmpty { print(schedule.description + "\n" + found.map { "violation: \($0)" }.joined(separator: "\n")) }
        return found
    }

    // MARK: - Retention measured from the last request (issue 10 (1))

    @Test func anIdleModelReachesZeroRetentionAfterItsLastRequestNotTwice() async {
        let s = Self.schedule([Self.model("chat", arrivals: [10])], duration: 90)
        let result = await Simulation(schedule: s, profile: .core).run()
        let zero = result.zeros(of: "team-a/org/chat").first
        // The request completes at 11; R = 20 s, 1 s ticks and scrapes: 0 within [31 − 1 scrape, 31 + 2 ticks + 1 scrape].
        #expect(zero.map { $0 >= 30 && $0 <= 34 } == true, "time to zero after the last request: \(zero.map { Simulation.format($0 - 11) } ?? "never")s for R = 20s")
        #expect(result.violations.filter { $0.invariant == .zeroWithoutEvidence }.isEmpty)
    }

    // MARK: - Never forgotten at zero (issue 10 (2))

    @Test func aModelAtZeroIsKeptAndComesBackInItsNamespaceOnDemand() async {
        // Known from its vLLM series only; its pods go with the zero; demand comes after --forget-after.
        let s = Self.schedule([Self.model("rare", namespace: "team-b", arrivals: [150])], retention: 10, duration: 180, forgetAfter: 30)
        #expect(await Self.violations(s, [.zeroLeftOutput, .neverStranded]).isEmpty)
    }

    @Test func anOutageLongerThanForgetAfterForgetsNoModel() async {
        let s = Self.schedule(
            [Self.model("chat", arrivals: [5])], retention: 60, events: [.fault(.refused, start: 15, end: 100)], duration: 110, forgetAfter: 30)
        #expect(await Self.violations(s, [.forgottenWhileBlind]).isEmpty)
    }

    // MARK: - Partial answers are unknown (issue 10 (3))

    @Test(arguments: [true, false])
    func aPartialAnswerNeverZeroesABusyModel(thanos: Bool) async {
        // Short requests every 3 s between the pod's scrapes: running is 0 at every scrape, only the
        // request counter shows the model is busy; a store holding the counter does not answer.
        let phase = Simulation.scrapeOffset("pod/team-a/busy-0", interval: 1) + 0.3
        let busy = Self.model("busy", arrivals: stride(from: phase, to: 120, by: 3).map { $0 }, service: 0.2)
        let partial = FaultKind.partial(thanos: thanos, models: [busy.ref], metrics: [Fleet.requestsMetric])
        let s = Self.schedule([busy], events: [.fault(partial, start: 20, end: 80)])
        #expect(await Self.violations(s, [.zeroWithoutEvidence]).isEmpty)
    }

    // MARK: - Unknown stretches restart the evidence (issue 10 (4))

    @Test func anOutageRestartsTheObservationWindow() async {
        // The evidence began before the outage (the request completed at 6, R = 20 s); after the
        // outage, the observation starts afresh: 0 no earlier than 60 + R.
        let s = Self.schedule([Self.model("chat", arrivals: [5])], events: [.fault(.unavailable, start: 30, end: 60)], duration: 100)
        #expect(await Self.violations(s, [.zeroWithoutEvidence]).isEmpty)
    }

    @Test func aModelThatServedDuringAnOutageIsNotZeroedWhenPrometheusReturns() async {
        // Requests at 20 and 25 are served while every query fails; the window after the outage
        // holds only later samples. A recommender that measures R from the last request without
        // restarting the observation would zero the model at 60.
        let s = Self.schedule([Self.model("chat", arrivals: [5, 20, 25])], events: [.fault(.refused, start: 10, end: 60)], duration: 100)
        #expect(await Self.violations(s, [.zeroWithoutEvidence]).isEmpty)
    }

    @Test func aReplicaWithoutARequestCounterIsUnknownNotIdle() async {
        let s = Self.schedule(
            [Self.model("chat", arrivals: [5, 30, 60])],
            events: [.fault(.missingSeries(model: "team-a/org/chat", metric: Fleet.requestsMetric), start: 0, end: 120)])
        #expect(await Self.violations(s, [.zeroWithoutEvidence]).isEmpty)
    }

    @Test func aHoldRaisesTheFloorToANewMinReplicas() async {
        var raised = EntrySpec(key: "chat", modelID: "org/chat", namespace: "team-a")
        raised.minReplicas = 2
        let s = Self.schedule(
            [Self.model("chat", arrivals: [5])], entries: [.good(EntrySpec(key: "chat", modelID: "org/chat", namespace: "team-a"))],
            events: [.fault(.refused, start: 10, end: 60), .setEntry(at: 20, .good(raised))], duration: 60)
        #expect(await Self.violations(s, [.floor]).isEmpty)
    }

    @Test func groupsAreScopedToTheirNamespace() async {
        let busy = Self.model("a1", arrivals: stride(from: 1.0, to: 120, by: 2).map { $0 })
        let idle = Self.model("b1", namespace: "team-b", arrivals: [5])
        let entries: [EntryText] = [
            .good(EntrySpec(key: "a1", modelID: busy.id, namespace: "team-a", group: "org")),
            .good(EntrySpec(key: "b1", modelID: idle.id, namespace: "team-b", group: "org")),
        ]
        let s = Self.schedule([busy, idle], entries: entries)
        #expect(await Self.violations(s, [.liveness]).isEmpty)
    }

    @Test func demandUnderAnAliasWakesTheModelItNames() async {
        var aliased = Self.model("base", kind: .aliased, arrivals: [5, 60])
        aliased.requestedName = "base-lora"
        var entry = EntrySpec(key: "base", modelID: aliased.id, namespace: "team-a")
        entry.aliases = ["base-lora"]
        let s = Self.schedule([aliased], entries: [.good(entry)], duration: 90)
        #expect(await Self.violations(s, profile: .spec, [.liveness, .neverStranded]).isEmpty)
    }

    @Test func aModelRequestedUnderANameNoEntryMapsIsHeldNotZeroed() async {
        // Campaign schedule 2891639600023089667, shrunk: the gateway counts the model's requests
        // under `base-lora`, which no entry ties to it. The recommender cannot prove a wake path:
        // it holds the model at 1 (no_wake_path) rather than zero it, and liveness does not ask.
        var aliased = Self.model("base", namespace: "team-b", kind: .aliased, arrivals: [15.6], service: 3, coldStart: 3)
        aliased.requestedName = "base-lora"
        let s = Self.schedule([aliased], retention: 10, duration: 60, flowControl: false)
        let result = await Simulation(schedule: s, profile: .spec).run()
        #expect(result.harnessError == nil)
        #expect(result.violations.isEmpty, "\(result.violations.prefix(3))")
        #expect(result.zeros(of: "team-b/org/base").isEmpty)
    }

    @Test func aRunningGaugeThatVanishedWhileTheTSDBWasDownHoldsTheModelUntilItsPodsReportAgain() async {
        // Campaign schedule 2891639600023089667: the request runs 15.6–18.6 (scraped at 16–18),
        // the TSDB is down 18.5–39, and the pods stop exporting vllm:num_requests_running at 29. The
        // restarted TSDB wrote no staleness marker: it answers running = 1 (t = 18) for its 300 s
        // lookback, then nothing (no replica reports). The pods export it again at 330: the model is
        // held through both (never a zero on a ghost or on missing data), then reaches zero R after
        // its pods report again — a ghost latched for good would keep it up.
        let chat = Self.model("chat", arrivals: [15.6], service: 3, coldStart: 3)
        let s = Self.schedule(
            [chat], retention: 10,
            events: [
                .fault(.tsdbRestart, start: 18.5, end: 39),
                .fault(.missingSeries(model: chat.ref, metric: Fleet.runningMetric), start: 29, end: 330),
            ],
            duration: 400, flowControl: false)
        let result = await Simulation(schedule: s, profile: .spec).run()
        #expect(result.harnessError == nil)
        #expect(result.violations.isEmpty, "\(result.violations.prefix(3))")
        let zero = result.zeros(of: chat.ref).first
        #expect(zero.map { $0 >= 330 + 10 - 1 && $0 <= 330 + 10 + 2 + 1 } == true, "zero at \(zero.map(Simulation.format) ?? "never")")
    }

    @Test func demandWithoutFlowControlShowsInTheGatewayRequestCounter() async {
        let s = Self.schedule([Self.model("chat", arrivals: [5, 60])], duration: 90, flowControl: false)
        #expect(await Self.violations(s, profile: .spec, [.neverStranded]).isEmpty)
    }

    @Test func aRequestRejectedWhileTheGatewayIsBlindWakesTheModelWhenItsScrapesResume() async {
        // At zero from about 26 s; the gateway's own scrapes fail from 50 to 67 while it rejects a
        // request at 64: the first samples after the gap no longer span the increment, so only the
        // catch-up read over the gap sees it (schedule 18017865769623066294 of the campaign).
        let s = Self.schedule(
            [Self.model("chat", arrivals: [5, 64])], events: [.fault(.gatewayGap, start: 50, end: 67)], duration: 100, flowControl: false)
        #expect(await Self.violations(s, profile: .spec, [.neverStranded]).isEmpty)
    }

    @Test func aBrokenEntryWithNoGoodVersionKeepsTheMinReplicasItStates() async {
        // The recommender restarts (the last good version is gone), then the entry is broken: the model
        // is protected at the floor the entry itself states, not at 1 (schedule 4138686975306770580).
        var floor = EntrySpec(key: "chat", modelID: "org/chat", namespace: "team-a")
        floor.minReplicas = 2
        var broken = floor
        broken.retention = 1
        let s = Self.schedule(
            [Self.model("chat", arrivals: [2])], retention: 10, entries: [.good(floor)],
            events: [.restart(at: 35, down: 3), .setEntry(at: 38, .bad(.wrongType, intended: broken))], duration: 60)
        #expect(await Self.violations(s, [.floor, .badEditAggressive]).isEmpty)
    }

    @Test func noZeroWithoutAWakePath() async {
        let s = Self.schedule([Self.model("never-routed")], duration: 60)
        #expect(await Self.violations(s, profile: .spec, [.zeroWithoutWakePath]).isEmpty)
    }

    // MARK: - An id served in two namespaces: a wake path is proven per model (spec §4, §5)

    @Test func aSeriesLabelledWithOneNamespaceProvesNoWakePathInAnotherDiscoveredLater() async {
        // `org/shared-1` in team-a (never requested) and team-b (requested at once, before its pods
        // are first scraped); the gateway labels each series with the model's namespace. Its team-b
        // series first appears while only team-a's model is known (schedule 568359295929140912):
        // the sighting must not stay a wake path for team-a once team-b's model is known.
        let a = Self.model("shared-1", kind: .shared, service: 3, coldStart: 30)
        let b = Self.model("shared-1", namespace: "team-b", kind: .shared, arrivals: [2.2, 3.6], service: 3, coldStart: 30)
        let s = Self.schedule([a, b], duration: 60, gateway: .perNamespace, scrape: 5)
        #expect(await Self.violations(s, profile: .spec, [.zeroWithoutWakePath, .liveness]).isEmpty)
    }

    @Test func anUnlabelledSeriesSeenBeforeTheIdWasKnownInASecondNamespaceStopsProvingAWakePath() async {
        // No namespace label: the series of `org/shared-2` appears while only team-b's model is
        // known, then team-a's pods are scraped and the name is ambiguous (schedule
        // 4318844612912017171): team-b's sighting is no proof any more.
        let a = Self.model("shared-2", kind: .shared, service: 2, coldStart: 3)
        let b = Self.model("shared-2", namespace: "team-b", kind: .shared, arrivals: [1.6, 2.5, 2.7, 3.6, 4.7], service: 2, coldStart: 15)
        let s = Self.schedule([a, b], duration: 60, gateway: .none, scrape: 5)
        #expect(await Self.violations(s, profile: .spec, [.zeroWithoutWakePath]).isEmpty)
    }

    @Test func aModelWhosePodsCannotBeScrapedIsKeptByItsOwnGatewaySeriesAndProvesNothingForItsTwin() async {
        // team-a's pods of `org/shared-3` stop being scraped; after a restart team-a's model is known
        // only from the recovered output, team-b's from its vLLM series. The gateway's series
        // labelled team-a neither proves a wake path for team-b nor lets team-a's model be
        // forgotten (schedule 17558391952410386557).
        let a = Self.model("shared-3", kind: .shared, arrivals: [40.6, 41.7, 42.6, 60.5, 61.8, 62.7], service: 1, coldStart: 3)
        let b = Self.model("shared-3", namespace: "team-b", kind: .shared, arrivals: [122.9, 124.6, 124.8], service: 3, coldStart: 15)
        let s = Self.schedule(
            [a, b], retention: 30,
            events: [.fault(.scrapeGap(model: a.ref), start: 21, end: 150), .restart(at: 68, down: 10)],
            duration: 150, forgetAfter: 37, gateway: .perNamespace, scrape: 1, tick: 5)
        #expect(await Self.violations(s, profile: .spec, [.zeroWithoutWakePath, .forgottenWhileBlind]).isEmpty)
    }

    @Test func anotherNamespacesGatewaySeriesDoesNotKeepAModelKnown() async {
        // team-b's `org/shared-1` is never requested and its pods' scrapes fail from t = 28; the
        // gateway per namespace has a series for the id labelled team-a only (schedule
        // 7372008420612316840). That series is team-a's demand (spec §4), so team-b's model has
        // left every source and is forgotten after --forget-after of ticks that could see.
        let a = Self.model("shared-1", kind: .shared, arrivals: [0.1, 1.1, 2.7, 3.4, 52.4], service: 3, coldStart: 15)
        let b = Self.model("shared-1", namespace: "team-b", kind: .shared, service: 1, coldStart: 3)
        let s = Self.schedule(
            [a, b], retention: 30, events: [.fault(.scrapeGap(model: b.ref), start: 28, end: 140)],
            duration: 140, forgetAfter: 57, flowControl: false, gateway: .perNamespace, scrape: 2)
        #expect(await Self.violations(s, profile: .spec, [.forgottenWhileBlind, .zeroLeftOutput]).isEmpty)
        let result = await Simulation(schedule: s, profile: .spec).run()
        let forgotten = result.changes.first { $0.model == b.ref && $0.to == nil && $0.from != nil }
        #expect(forgotten.map { $0.time >= 28 + 57 } == true, "team-b's model forgotten at \(forgotten.map { Simulation.format($0.time) } ?? "never")")
    }

    @Test func aSharedGatewaysSeriesKeepsAModelKnownOnlyFromItsRecoveredRecommendation() async {
        // One id in team-a and team-b, a shared gateway (its series carry the gateway's own
        // namespace). team-a's pods fail their scrapes from t = 65; the recommender restarts at 69:
        // team-a's model is known only from its recovered 1, team-b's is evidenced by its pods, so
        // the gateway's series is attributed to team-b. It still names team-a's model (spec §4: the
        // known namespaces of the id): team-a's must not be forgotten after --forget-after
        // (schedule 3069833932387018832).
        let a = Self.model("shared-1", kind: .shared, arrivals: [113.9], service: 2, coldStart: 15)
        let b = Self.model("shared-1", namespace: "team-b", kind: .shared, service: 1, coldStart: 3)
        let s = Self.schedule(
            [a, b], retention: 20,
            events: [
                .fault(.partial(thanos: false, models: [b.ref], metrics: ["vllm:request_success_total", "vllm:num_requests_running"]), start: 48, end: 81),
                .fault(.scrapeGap(model: a.ref), start: 65, end: 140), .restart(at: 69, down: 4),
            ],
            duration: 140, forgetAfter: 49, gateway: .shared, scrape: 5, tick: 2)
        #expect(await Self.violations(s, profile: .spec, [.forgottenWhileBlind, .neverStranded]).isEmpty)
    }

    @Test func aQueueThatFormedWhileTheRecommenderWasBlindWakesTheModelAfterTheGatewaysSeriesWentStale() async {
        // A model at zero; Prometheus refuses connections from 84 to 204 while a request queues at
        // the gateway (116.9); the gateway's scrapes fail from 162, so its queue series is stale
        // when the recommender sees again, and the answers come from an HA replica holding data
        // since 124 (the counter's rise at 116.9 is not in it). Only the queue the replica holds
        // (124–162) shows the request (schedule 6391530215829149715).
        let m = Self.model("shared-1", namespace: "team-b", kind: .shared, arrivals: [4.8, 116.9], service: 2, coldStart: 8)
        var s = Self.schedule(
            [m], retention: 60,
            events: [
                .fault(.refused, start: 84, end: 204), .fault(.gatewayGap, start: 162, end: 213),
                .fault(.failover(dataSince: 124), start: 169, end: 218),
            ],
            duration: 218, forgetAfter: 83, gateway: .perNamespace, scrape: 2, tick: 5)
        s.scaleDownStabilization = 15
        #expect(await Self.violations(s, profile: .spec, [.neverStranded]).isEmpty)
    }

    @Test func aRequestRejectedWhileTheTSDBWasDownIsCountedOnceItScrapesTheGatewayAgain() async {
        // The TSDB is down from 75 to 87 (no scrapes, queries refused) and restarts with a gap; a
        // request for a model at zero is rejected at 82.4 (no flow control). The recommender's
        // first answer (87) comes before the TSDB's first scrape of the gateway: the catch-up read
        // then finds no rise, and the next sample is too far from the one before the gap for any
        // three-scrape window. Answers keep reading back over the stretch for a window after it
        // (schedule 6182799827801447363).
        let m = Self.twin("org-x/twin-3", arrivals: [5, 82.4], service: 3)
        var s = Self.schedule(
            [m], retention: 20, events: [.fault(.tsdbRestart, start: 75, end: 87)],
            duration: 93, forgetAfter: 45, flowControl: false, gateway: .perNamespace, scrape: 5, tick: 2)
        s.scaleDownStabilization = 60
        #expect(await Self.violations(s, profile: .spec, [.neverStranded]).isEmpty)
    }

    @Test func aQueueSeenBeforeAOneSecondBlindStretchDoesNotWakeTheModelAgain() async {
        // Requests queue at 51.4 and 54 (seen then, served); every query fails for a second at 69.
        // The queue is read back over the stretch alone and once: read again for a gateway window
        // after it from three scrapes before, the queue of 54 woke the model at every answer until
        // 85 and held it up for R from there (schedule 10617530657996199071).
        let m = Self.twin("org-x/twin-7", arrivals: [51.4, 54], service: 2)
        let s = Self.schedule(
            [m], retention: 20, events: [.fault(.unauthorized, start: 69, end: 70)], duration: 100, forgetAfter: 49, scrape: 5)
        #expect(await Self.violations(s, profile: .spec, [.liveness, .neverStranded]).isEmpty)
    }

    @Test func aModelWokenFromZeroIsNotForgottenWhileItsReplicaIsStillLoading() async {
        // A model at zero is woken at 27.5 (queued requests); its replica takes 30 s to load, and
        // the gateway's scrapes fail from 34: no source names the model, and after --forget-after
        // (11 s here) it was forgotten with its requests still waiting (schedule
        // 15726873919716026995). A wake in progress is the zero's promise being kept.
        let m = Self.model("bursty-1", namespace: "team-b", arrivals: [2, 27.5], service: 5, coldStart: 30)
        var s = Self.schedule(
            [m], retention: 10, events: [.fault(.gatewayGap, start: 34, end: 47)], duration: 48, forgetAfter: 11, gateway: .shared)
        s.scaleDownStabilization = 3
        #expect(await Self.violations(s, profile: .spec, [.neverStranded]).isEmpty)
    }

    // MARK: - Promises kept today

    @Test func theKillSwitchBringsEveryModelBackWithinOneTick() async {
        let s = Self.schedule(
            [Self.model("chat", arrivals: [2]), Self.model("other", namespace: "team-b", arrivals: [3])], retention: 10,
            events: [
                .setEntry(at: 40, .good(EntrySpec(key: "global", scaleToZeroAllowed: false))),
                .setEntry(at: 70, .good(EntrySpec(key: "global", scaleToZeroAllowed: true))),
            ], duration: 100)
        #expect(await Self.violations(s, [.killSwitch]).isEmpty)
        let result = await Simulation(schedule: s, profile: .core).run()
        let back = result.changes.first { $0.time >= 40 && $0.from == 0 && ($0.to ?? 0) >= 1 }
        #expect(back.map { $0.time <= 41.001 } == true, "models at zero were brought back at \(back.map { Simulation.format($0.time) } ?? "never")")
    }

    @Test(arguments: BreakKind.allCases)
    func aBadEditIsNeverMoreAggressiveThanTheLastGoodOne(_ kind: BreakKind) async {
        let protected = EntrySpec(key: "chat", modelID: "org/chat", namespace: "team-a", enable: false)
        var aggressive = protected
        aggressive.enable = true
        aggressive.retention = 1
        let s = Self.schedule(
            [Self.model("chat", arrivals: [5])], entries: [.good(protected)],
            events: [.setEntry(at: 20, .bad(kind, intended: aggressive)), .restart(at: 50, down: 2)], duration: 100)
        #expect(await Self.violations(s, [.badEditAggressive, .zeroWithoutEvidence]).isEmpty)
    }
}

/// A crash is a broken promise too: the child process must end normally.
@Suite struct CrashTests {
    @Test func aCorruptRecoveredValueDoesNotCrashTheRecommender() async {
        await #expect(processExitsWith: .success) {
            let schedule = PromiseTests.schedule(
                [PromiseTests.model("chat", arrivals: [5])],
                events: [.restart(at: 20, down: 2), .fault(.corruptRecovery, start: 20, end: 40)], duration: 40)
            _ = await Simulation(schedule: schedule, profile: .core).run()
        }
    }
}
