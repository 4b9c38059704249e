/// Shrinks a failing schedule to a small one that still breaks the same promise: fewer events,
/// fewer models, fewer requests, shorter faults, a shorter run. Greedy, to a fixed point, within
/// a budget of runs; every candidate is replayed exactly (a run is a pure function of its schedule).
public struct Shrinker: Sendable {
    /// The promises checked.
    public let profile: Profile
    /// Most runs spent shrinking one schedule.
    public var budget: Int

    /// Creates a shrinker.
    public init(profile: Profile, budget: Int = 400) {
        self.profile = profile
        self.budget = budget
    }

    /// The smallest schedule found that still breaks `invariant`, with its result.
    public func shrink(_ schedule: Schedule, invariant: Invariant) async -> (schedule: Schedule, result: RunResult, runs: Int) {
        var best = schedule
        var bestResult = await Simulation(schedule: schedule, profile: profile).run()
        var runs = 1
        var improved = true
        while improved && runs < budget {
            improved = false
            // One pass over every kind of reduction; a reduction that keeps the failure is kept and
            // the pass goes on from the reduced schedule (no restart from the first candidate).
            for kind in ReductionKind.allCases {
                var index = 0
                while runs < budget {
                    guard let candidate = reduction(kind, index, of: best, result: bestResult, invariant: invariant) else { break }
                    runs += 1
                    let result = await Simulation(schedule: candidate, profile: profile).run()
                    if result.invariants.contains(invariant) && result.harnessError == nil {
                        best = candidate
                        bestResult = result
                        improved = true
                    } else {
                        index += 1
                    }
                }
            }
        }
        return (best, bestResult, runs)
    }

    enum ReductionKind: CaseIterable { case duration, event, model, entry, allArrivals, arrival, faultLength }

    /// The `index`-th reduction of `kind`, nil when there is none left.
    func reduction(_ kind: ReductionKind, _ index: Int, of s: Schedule, result: RunResult, invariant: Invariant) -> Schedule? {
        var c = s
        switch kind {
        case .duration:
            guard index == 0, let first = result.violations.first(where: { $0.invariant == invariant }),
                (first.time + s.tickInterval).rounded(.up) < s.duration else { return nil }
            c.duration = (first.time + s.tickInterval).rounded(.up)
            c.events = c.events.filter { $0.time <= c.duration }
            c.models = c.models.map { var m = $0; m.arrivals = m.arrivals.filter { $0 <= c.duration }; return m }
        case .event:
            guard index < s.events.count else { return nil }
            c.events.remove(at: index)
        case .model:
            guard s.models.count > 1, index < s.models.count else { return nil }
            let ref = s.models[index].ref
            c.models.remove(at: index)
            let remainingIDs = Set(c.models.map(\.id))
            c.config.removeAll { $0.spec.modelID != nil && !remainingIDs.contains($0.spec.modelID!) }
            c.events.removeAll { event in
                switch event {
                case .fault(let kind, _, _): return kind.model == ref
                case .containerRestart(_, let model): return model == ref
                case .setEntry(_, let text): return text.spec.modelID != nil && !remainingIDs.contains(text.spec.modelID!)
                default: return false
                }
            }
        case .entry:
            let removable = s.config.indices.filter { s.config[$0].spec.key != "default" }
            guard index < removable.count else { return nil }
            c.config.remove(at: removable[index])
        case .allArrivals:
            let busy = s.models.indices.filter { !s.models[$0].arrivals.isEmpty }
            guard index < busy.count else { return nil }
            c.models[busy[index]].arrivals = []
        case .arrival:
            var flat: [(Int, Int)] = []
            for (m, model) in s.models.enumerated() { for a in model.arrivals.indices { flat.append((m, a)) } }
            guard index < flat.count else { return nil }
            c.models[flat[index].0].arrivals.remove(at: flat[index].1)
        case .faultLength:
            let faults = s.events.indices.filter {
                if case .fault(_, let start, let end) = s.events[$0] { return end - start > s.tickInterval }
                return false
            }
            guard index < faults.count, case .fault(let kind, let start, let end) = s.events[faults[index]] else { return nil }
            c.events[faults[index]] = .fault(kind, start: start, end: (start + (end - start) / 2).rounded(.up))
        }
        return c
    }
}
