import ModelConfig
import Testing
@testable import FaultSimulation

/// The promises the simulation learned to check once a re-introduced defect went unnoticed
/// (docs/fault-simulation.md, "Defects re-introduced, one at a time"): a lowered `max_replicas`
/// applies at once, and a `variant_name` two models of one namespace share is reported.
@Suite struct ExtensionTests {
    /// A model whose requests pile up (8 arrive at once every 4 s, each runs 6 s on 4 slots).
    static let crowded = PromiseTests.model("crowded", arrivals: stride(from: 2.0, to: 100, by: 4).flatMap { t in Array(repeating: t, count: 8) }, service: 6, coldStart: 3)

    @Test func aLoweredMaxReplicasAppliesAtTheNextTick() async {
        let entry = EntrySpec(key: "crowded", modelID: Self.crowded.id, namespace: "team-a")
        var capped = entry
        capped.maxReplicas = 1
        var s = PromiseTests.schedule([Self.crowded], entries: [.good(entry)], events: [.setEntry(at: 40, .good(capped))], duration: 70)
        s.scaleDownStabilization = 60  // the size held for a minute must not outlive the edit
        let result = await Simulation(schedule: s, profile: .core).run()
        #expect(result.harnessError == nil)
        // The edit has something to cut: the model was above 1 when it came.
        let before = result.changes.last { $0.time < 40 }?.to ?? 0
        #expect(before >= 2, "the crowded model was at \(before) before the edit")
        #expect(result.violations.filter { $0.invariant == .ceiling }.isEmpty, "\(result.violations)")
        let after = result.changes.filter { $0.time > 41.001 }.compactMap(\.to)
        #expect(after.allSatisfy { $0 <= 1 }, "after the edit: \(after)")
    }

    @Test func theCeilingInvariantSeesADesiredAboveMaxReplicas() {
        var entry = EntrySpec(key: "crowded", modelID: Self.crowded.id, namespace: "team-a")
        entry.maxReplicas = 1
        let s = PromiseTests.schedule([Self.crowded], entries: [.good(entry)])
        var checker = Checker(schedule: s, profile: .core)
        let key = ModelKey(namespace: "team-a", modelID: Self.crowded.id)
        checker.tick(now: 1, start: 0.5, decided: true, blind: false, output: [key: 2], facts: [ModelFacts()], fleet: Fleet(schedule: s))
        #expect(checker.violations.map(\.invariant) == [.ceiling])
    }

    @Test func twoModelsSharingAVariantNameAreReported() async {
        let twins = ["org-x/twin-1", "org-y/twin-1"].map { id in
            SimModel(id: id, namespace: "team-a", kind: .twin, servedName: id, requestedName: id, arrivals: [5], serviceTime: 1, coldStart: 3, viaAPI: false)
        }
        let s = PromiseTests.schedule(twins, duration: 40)
        let result = await Simulation(schedule: s, profile: .core).run()
        #expect(result.harnessError == nil)
        #expect(result.violations.isEmpty, "\(result.violations)")
        // Both were exported, under the same variant_name.
        #expect(Set(result.changes.map(\.model)) == ["team-a/org-x/twin-1", "team-a/org-y/twin-1"])
    }

    @Test func theVariantInvariantSeesAnUnreportedConflict() {
        let s = PromiseTests.schedule([])
        var checker = Checker(schedule: s, profile: .core)
        let lines = ["org-x/twin-1", "org-y/twin-1"].map { ["namespace": "team-a", "model_name": $0, "variant_name": "twin-1"] }
        checker.exposition(lines, reportedConflicts: 1, at: 1)
        #expect(checker.violations.isEmpty)
        checker.exposition(lines, reportedConflicts: 0, at: 2)
        #expect(checker.violations.map(\.invariant) == [.variantConflict])
    }

    @Test func laterAdditionsLeaveEveryEarlierDrawOfASeedAlone() {
        // Twins and max_replicas edits come from a stream of their own: without them a seed gives
        // the schedule it gave before they existed, and with them that schedule plus the additions.
        var before = ScheduleGenerator()
        before.addsLater = false
        let now = ScheduleGenerator()
        var twins = 0, capped = 0
        for seed in 0..<300 {
            let (old, new) = (before.generate(seed: UInt64(seed)), now.generate(seed: UInt64(seed)))
            #expect(Array(new.models.prefix(old.models.count)) == old.models && new.config == old.config)
            // Compared as text: a NaN fault value is never == itself.
            #expect(new.events.prefix(old.events.count).map(\.description) == old.events.map(\.description))
            #expect(!old.models.contains { $0.kind == .twin })
            twins += new.models.filter { $0.kind == .twin }.count / 2
            capped += new.events.dropFirst(old.events.count).filter { event in
                if case .setEntry(_, .good(let spec)) = event { return spec.maxReplicas != nil }
                return false
            }.count
        }
        #expect(twins > 20 && capped > 50, "twins in \(twins) schedules, \(capped) max_replicas edits")
    }

    @Test func aFailoverToAReplicaWithShortHistoryIsNoEvidenceOfIdleness() async {
        // Short requests between the pod's scrapes until 30 s (only the request counter shows
        // them); at 40 s the queries go to an HA replica that holds data since 35 s. Every query
        // succeeds and the observation goes on, but the replica's window holds 5 s of the 20 s: no
        // zero before it holds R.
        let phase = Simulation.scrapeOffset("pod/team-a/quick-0", interval: 1) + 0.3
        let quick = PromiseTests.model("quick", arrivals: stride(from: phase, to: 30, by: 3).map { $0 }, service: 0.2)
        let s = PromiseTests.schedule([quick], events: [.fault(.failover(dataSince: 35), start: 40, end: 90)], duration: 90)
        let result = await Simulation(schedule: s, profile: .core).run()
        #expect(result.harnessError == nil)
        #expect(result.violations.isEmpty, "\(result.violations)")
        // And it does reach zero once the replica's window holds R (liveness, not "never zero").
        let zero = result.zeros(of: quick.ref).first
        #expect(zero.map { $0 >= 35 + 20 - 1 && $0 <= 40 + 20 + 2 + 1 } == true, "zero at \(zero.map(Simulation.format) ?? "never")")
    }

    @Test func aReplicaWithShortHistoryAnswersOnlyWhatItHolds() {
        var tsdb = SimulatedTSDB()
        for t in stride(from: 0.0, through: 20, by: 1) {
            tsdb.scrape(target: "pod", at: t, [.init(Fleet.requestsMetric, ["model_name": "m"], t < 5 ? t : 5)])
        }
        let query = QueryExpr.rangeFunction(.increase, VectorSelector(metric: Fleet.requestsMetric, matchers: []), rangeSeconds: 20)
        #expect((tsdb.evaluate(query, at: 20).first?.value ?? 0) > 4)
        tsdb.horizon = (10, [])
        #expect(tsdb.evaluate(query, at: 20).map(\.value) == [0])
        tsdb.horizon = (10, [Fleet.requestsMetric])
        #expect((tsdb.evaluate(query, at: 20).first?.value ?? 0) > 4)
    }
}
