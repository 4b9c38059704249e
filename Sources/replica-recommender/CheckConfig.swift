import ArgumentParser
import ModelConfig

/// `check-config PATH`: validate a model ConfigMap.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a model ConfigMap (volume directory, data file or manifest).",
        discussion: "Exit status: 0 clean (warnings allowed), 1 with errors listed, 2 when the input cannot be read."
    )

    @Argument(help: "A ConfigMap volume directory, a YAML file with the data map, or a ConfigMap manifest.")
    var path: String

    func run() throws {
        let entries: [RawEntry]
        do {
            entries = try ConfigSource.read(path: path)
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        let config = ModelConfigSet.build(entries: entries, previous: nil)
        for problem in config.problems { print(problem) }
        let environmentWarning = ConfigResolver.environmentFlagWarning(environment["WVA_SCALE_TO_ZERO"])
        if let environmentWarning { print("warning: \(environmentWarning)") }
        let warnings = config.problems.count - config.errorCount + (environmentWarning == nil ? 0 : 1)
        let overrides = config.overrides.count
        if config.errorCount > 0 {
            print("\(path): \(config.errorCount) error(s), \(warnings) warning(s) in \(entries.count) entries")
            throw ExitCode(1)
        }
        print("\(path): OK: \(entries.count) entries (default: \(config.defaults == nil ? "no" : "yes"), \(overrides) override(s)), \(warnings) warning(s)")
    }
}
