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
        let s = PromiseTests.schedule([Self.crowded], entries: [.good(entry)], events: [.setEntry(at: 40, .good(capped))], duration: 70)
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
            #expect(Array(new.events.prefix(old.events.count)) == old.events)
            #expect(!old.models.contains { $0.kind == .twin })
            twins += new.models.filter { $0.kind == .twin }.count / 2
            capped += new.events.dropFirst(old.events.count).filter { event in
                if case .setEntry(_, .good(let spec)) = event { return spec.maxReplicas != nil }
                return false
            }.count
        }
        #expect(twins > 20 && capped > 50, "twins in \(twins) schedules, \(capped) max_replicas edits")
    }
}
