import FaultSimulation
import Foundation

/// `rr-bench faults [--schedules N] [--seed S] [--profile spec|core] [--jobs J] [--no-shrink] [--first-failure] [--trace-schedules] [--skip-seeds FILE] [--failing-seeds-out FILE]`
/// `rr-bench faults --replay SCHEDULE_SEED [--profile spec|core]`: the fault simulation campaign,
/// or one schedule replayed with every violation printed. Exit status 1 when a promise broke.
/// `--first-failure` starts no schedule after the first that fails; `--trace-schedules` names each
/// schedule on standard error before it runs (with `--jobs 1`, the last named before a crash crashed);
/// `--failing-seeds-out FILE` writes the seed of every failing schedule, one a line, and
/// `--skip-seeds FILE` leaves such schedules out (a mutation is caught by schedules that pass without it).
func runFaultsCommand(_ arguments: [String]) async -> Int32 {
    if arguments.contains("--help") || arguments.contains("-h") {
        print("""
            usage: rr-bench faults [--schedules N] [--seed S] [--profile spec|core] [--jobs J] [--no-shrink]
                                   [--first-failure] [--trace-schedules] [--crashers]
                                   [--skip-seeds FILE] [--failing-seeds-out FILE]
                   rr-bench faults --replay SCHEDULE_SEED [--profile spec|core]   (FAULTSIM_TRACE=1: every decision)
            The fault simulation (docs/fault-simulation.md): random schedules against the whole loop,
            every invariant checked at every tick; exit status 1 when a promise broke.
            """)
        return 0
    }
    let known: Set<String> = [
        "--schedules", "--seed", "--profile", "--jobs", "--no-shrink", "--first-failure", "--trace-schedules",
        "--crashers", "--skip-seeds", "--failing-seeds-out", "--replay",
    ]
    if let unknown = arguments.first(where: { $0.hasPrefix("-") && !known.contains($0) }) {
        print("rr-bench faults: unknown option \(unknown) (rr-bench faults --help lists them)")
        return 2
    }
    func value(_ name: String) -> String? {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }
    let profileName = value("--profile") ?? "spec"
    guard var profile = Profile.named(profileName) else {
        print("rr-bench faults: --profile must be spec or core, found \(profileName)")
        return 2
    }
    if arguments.contains("--crashers") { profile.crashers = true }
    if let replay = value("--replay").flatMap(UInt64.init) {
        let schedule = ScheduleGenerator(profile: profile).generate(seed: replay)
        let result = await Simulation(schedule: schedule, profile: profile).run()
        print(schedule.description)
        print("ticks: \(result.ticks), queries: \(result.queries), samples: \(result.samples)")
        if let error = result.harnessError { print("HARNESS ERROR: \(error)") }
        for violation in result.violations { print("violation: \(violation)") }
        return result.failed ? 1 : 0
    }
    let schedules = value("--schedules").flatMap(Int.init) ?? 1000
    let seed = value("--seed").flatMap(UInt64.init) ?? 1
    let jobs = value("--jobs").flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount
    var campaign = Campaign(seed: seed, schedules: schedules, profile: profile, parallelism: jobs, shrink: !arguments.contains("--no-shrink"))
    campaign.stopAtFirstFailure = arguments.contains("--first-failure")
    if let path = value("--skip-seeds") {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            print("rr-bench faults: --skip-seeds \(path): cannot read the file (expected one schedule seed per line)")
            return 2
        }
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let field = line.trimmingCharacters(in: .whitespaces)
            if field.isEmpty || field.hasPrefix("#") { continue }
            guard let seed = UInt64(field) else {
                print("rr-bench faults: --skip-seeds \(path), line \(number + 1): expected a schedule seed (an unsigned integer), found \"\(field)\"")
                return 2
            }
            campaign.skip.insert(seed)
        }
    }
    var starting: (@Sendable (Int, UInt64) -> Void)?
    if arguments.contains("--trace-schedules") {
        starting = { index, seed in FileHandle.standardError.write(Data("schedule #\(index) seed \(seed)\n".utf8)) }
    }
    let report = await campaign.run(starting: starting)
    print(report.text(seed: seed, profile: profileName))
    if let path = value("--failing-seeds-out") {
        let text = report.failingSeeds.map { "\($0)\n" }.joined()
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            print("rr-bench faults: --failing-seeds-out \(path): cannot write the file")
            return 2
        }
    }
    return report.failing.isEmpty && report.harnessErrors.isEmpty ? 0 : 1
}
