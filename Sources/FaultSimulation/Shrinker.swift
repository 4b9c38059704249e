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
        func fails(_ candidate: Schedule) async -> RunResult? {
            guard runs < budget else { return nil }
            runs += 1
            let result = await Simulation(schedule: candidate, profile: profile).run()
            return result.invariants.contains(invariant) && result.harnessError == nil ? result : nil
        }
        var improved = true
        while improved && runs < budget {
            improved = false
            for candidate in candidates(best, result: bestResult, invariant: invariant) {
                if let result = await fails(candidate) {
                    best = candidate
                    bestResult = result
                    improved = true
                    break
                }
            }
        }
        return (best, bestResult, runs)
    }

    /// Smaller variants of `s`, most aggressive first.
    func candidates(_ s: Schedule, result: RunResult, invariant: Invariant) -> [Schedule] {
        var out: [Schedule] = []
        // A shorter run: just past the first violation of the invariant.
        if let first = result.violations.first(where: { $0.invariant == invariant }), first.time + s.tickInterval < s.duration {
            var c = s
            c.duration = (first.time + s.tickInterval).rounded(.up)
            c.events = c.events.filter { $0.time <= c.duration }
            out.append(c)
        }
        // Without an event.
        for index in s.events.indices {
            var c = s
            c.events.remove(at: index)
            out.append(c)
        }
        // Without a model (and its entries and events).
        if s.models.count > 1 {
            for model in s.models {
                var c = s
                c.models.removeAll { $0.ref == model.ref }
                let remainingIDs = Set(c.models.map(\.id))
                c.config.removeAll { $0.spec.modelID != nil && !remainingIDs.contains($0.spec.modelID!) }
                c.events.removeAll { event in
                    switch event {
                    case .fault(let kind, _, _): return kind.model == model.ref
                    case .containerRestart(_, let ref): return ref == model.ref
                    case .setEntry(_, let text): return text.spec.modelID != nil && !remainingIDs.contains(text.spec.modelID!)
                    default: return false
                    }
                }
                out.append(c)
            }
        }
        // Fewer requests: none, the first half, the second half, one fewer.
        for (m, model) in s.models.enumerated() where !model.arrivals.isEmpty {
            let n = model.arrivals.count
            var variants: [[Double]] = [[], Array(model.arrivals.prefix(n / 2)), Array(model.arrivals.suffix(n - n / 2))]
            if n <= 8 { for i in 0..<n { var a = model.arrivals; a.remove(at: i); variants.append(a) } }
            for arrivals in variants where arrivals.count < n {
                var c = s
                c.models[m].arrivals = arrivals
                out.append(c)
            }
        }
        // Shorter faults.
        for (index, event) in s.events.enumerated() {
            if case .fault(let kind, let start, let end) = event, end - start > s.tickInterval {
                var c = s
                c.events[index] = .fault(kind, start: start, end: (start + (end - start) / 2).rounded(.up))
                out.append(c)
            }
        }
        // Config entries that are not needed.
        for (index, entry) in s.config.enumerated() where entry.spec.key != "default" {
            var c = s
            c.config.remove(at: index)
            out.append(c)
        }
        return out
    }
}
