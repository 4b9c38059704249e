import Foundation

/// Runs many schedules (in parallel, one per core), counts what broke, and shrinks one failing
/// schedule per broken invariant.
public struct Campaign: Sendable {
    /// The first schedule's run seed.
    public var seed: UInt64
    /// How many schedules.
    public var schedules: Int
    /// The promises exercised.
    public var profile: Profile
    /// Concurrent runs.
    public var parallelism: Int
    /// Shrink one failing schedule per invariant.
    public var shrink: Bool
    /// Start no new schedule once one has failed (schedules already running finish): how soon a
    /// campaign finds a defect, at the least cost (`rr-bench faults --first-failure`).
    public var stopAtFirstFailure = false
    /// Schedule seeds not run (those that fail without the change under test, when a campaign
    /// measures whether a change is caught); counted in `Report.skipped`.
    public var skip: Set<UInt64> = []

    /// Creates a campaign.
    public init(seed: UInt64, schedules: Int, profile: Profile = .spec, parallelism: Int = ProcessInfo.processInfo.activeProcessorCount, shrink: Bool = true) {
        self.seed = seed
        self.schedules = schedules
        self.profile = profile
        self.parallelism = max(1, parallelism)
        self.shrink = shrink
    }

    /// A failing schedule, shrunk.
    public struct Failure: Sendable {
        /// The invariant.
        public let invariant: Invariant
        /// Index of the schedule in the campaign and its seed.
        public let index: Int
        /// The schedule's own seed (replay with `--replay`).
        public let scheduleSeed: UInt64
        /// The first violation in the original schedule.
        public let original: Violation
        /// The shrunk schedule.
        public let shrunk: Schedule
        /// Its violations.
        public let shrunkViolations: [Violation]
        /// Events and models before and after.
        public let sizes: (before: Int, after: Int)
    }

    /// What a campaign found.
    public struct Report: Sendable {
        /// Schedules run.
        public var schedules = 0
        /// Ticks run in all.
        public var ticks = 0
        /// Queries answered in all.
        public var queries = 0
        /// Schedules left out (their seeds were in `Campaign.skip`).
        public var skipped = 0
        /// The seed of every failing schedule, in the order they finished.
        public var failingSeeds: [UInt64] = []
        /// Wall-clock seconds of the runs (shrinking excluded).
        public var seconds = 0.0
        /// Failing schedules per invariant.
        public var failing: [Invariant: Int] = [:]
        /// Harness errors (queries the simulated TSDB cannot answer), with the schedule seed.
        public var harnessErrors: [(seed: UInt64, message: String)] = []
        /// One shrunk failure per invariant.
        public var failures: [Failure] = []
        /// Up to five (schedule seed, first violation) per invariant, for replaying.
        public var examples: [Invariant: [(seed: UInt64, violation: Violation)]] = [:]

        /// Schedules per second.
        public var rate: Double { seconds > 0 ? Double(schedules) / seconds : 0 }
    }

    /// Runs the campaign.
    /// `starting` is called with each schedule's index and seed before it runs (with one job, the
    /// last one named before a crash is the schedule that crashed).
    public func run(progress: (@Sendable (Int) -> Void)? = nil, starting: (@Sendable (Int, UInt64) -> Void)? = nil) async -> Report {
        var report = Report()
        var firstFailure: [Invariant: (index: Int, seed: UInt64, violation: Violation)] = [:]
        let generator = ScheduleGenerator(profile: profile)
        let profile = self.profile
        let started = ContinuousClock.now
        await withTaskGroup(of: (Int, UInt64, RunResult).self) { group in
            var next = 0
            func launch() {
                var index = next
                var scheduleSeed = SeededRandom.scheduleSeed(run: seed, index: index)
                while index < schedules, skip.contains(scheduleSeed) {
                    report.skipped += 1
                    index += 1
                    scheduleSeed = SeededRandom.scheduleSeed(run: seed, index: index)
                }
                next = index + 1
                guard index < schedules else { return }
                starting?(index, scheduleSeed)
                group.addTask {
                    let schedule = generator.generate(seed: scheduleSeed)
                    return (index, scheduleSeed, await Simulation(schedule: schedule, profile: profile).run())
                }
            }
            for _ in 0..<min(parallelism, schedules) { launch() }
            for await (index, scheduleSeed, result) in group {
                report.schedules += 1
                report.ticks += result.ticks
                report.queries += result.queries
                if let error = result.harnessError { report.harnessErrors.append((scheduleSeed, error)) }
                if !result.invariants.isEmpty { report.failingSeeds.append(scheduleSeed) }
                for invariant in result.invariants {
                    report.failing[invariant, default: 0] += 1
                    let violation = result.violations.first { $0.invariant == invariant }!
                    if report.examples[invariant, default: []].count < 5 { report.examples[invariant, default: []].append((scheduleSeed, violation)) }
                    if firstFailure[invariant].map({ index < $0.index }) ?? true { firstFailure[invariant] = (index, scheduleSeed, violation) }
                }
                progress?(report.schedules)
                if next < schedules && !(stopAtFirstFailure && !report.failing.isEmpty) { launch() }
            }
        }
        let elapsed = ContinuousClock.now - started
        report.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        guard shrink else { return report }
        let shrinker = Shrinker(profile: profile)
        for invariant in firstFailure.keys.sorted() {
            let (index, scheduleSeed, violation) = firstFailure[invariant]!
            let schedule = generator.generate(seed: scheduleSeed)
            let (shrunk, result, _) = await shrinker.shrink(schedule, invariant: invariant)
            report.failures.append(Failure(
                invariant: invariant, index: index, scheduleSeed: scheduleSeed, original: violation, shrunk: shrunk,
                shrunkViolations: result.violations.filter { $0.invariant == invariant },
                sizes: (schedule.events.count + schedule.models.count, shrunk.events.count + shrunk.models.count)))
        }
        return report
    }
}

extension Campaign.Report {
    /// The report as text: figures, then each broken invariant with its seed and shrunk schedule.
    public func text(seed: UInt64, profile: String) -> String {
        var lines: [String] = []
        let steps = schedules > 0 ? Double(ticks) / Double(schedules) : 0
        lines.append("fault simulation: \(schedules) schedules (seed \(seed), profile \(profile)) in \(String(format: "%.1f", seconds)) s: \(String(format: "%.0f", rate)) schedules/s, \(String(format: "%.1f", steps)) ticks per schedule, \(ticks) ticks, \(queries) queries")
        if skipped > 0 { lines.append("\(skipped) schedules skipped (seeds given to skip)") }
        for error in harnessErrors.prefix(3) { lines.append("HARNESS ERROR (schedule seed \(error.seed)): \(error.message)") }
        if failing.isEmpty && harnessErrors.isEmpty { lines.append("0 violations") }
        for invariant in Invariant.allCases {
            lines.append("  \(invariant.rawValue): \(failing[invariant].map { "FAILS in \($0) schedules" } ?? "holds")")
        }
        for invariant in Invariant.allCases {
            for example in examples[invariant] ?? [] { lines.append("  e.g. schedule seed \(example.seed): \(example.violation)") }
        }
        for failure in failures {
            lines.append("")
            lines.append("== \(failure.invariant.rawValue): schedule #\(failure.index), schedule seed \(failure.scheduleSeed) (replay: rr-bench faults --replay \(failure.scheduleSeed) --profile \(profile))")
            lines.append("first violation: \(failure.original)")
            lines.append("shrunk from \(failure.sizes.before) to \(failure.sizes.after) models+events:")
            lines.append(failure.shrunk.description)
            for violation in failure.shrunkViolations.prefix(3) { lines.append("violation: \(violation)") }
        }
        return lines.joined(separator: "\n")
    }
}
