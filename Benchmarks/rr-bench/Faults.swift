import FaultSimulation
import Foundation

/// `rr-bench faults [--schedules N] [--seed S] [--profile spec|core] [--jobs J] [--no-shrink]`
/// `rr-bench faults --replay SCHEDULE_SEED [--profile spec|core]`: the fault simulation campaign,
/// or one schedule replayed with every violation printed. Exit status 1 when a promise broke.
func runFaultsCommand(_ arguments: [String]) async -> Int32 {
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
    let campaign = Campaign(seed: seed, schedules: schedules, profile: profile, parallelism: jobs, shrink: !arguments.contains("--no-shrink"))
    let report = await campaign.run()
    print(report.text(seed: seed, profile: profileName))
    return report.failing.isEmpty && report.harnessErrors.isEmpty ? 0 : 1
}
