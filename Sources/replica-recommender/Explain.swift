import ArgumentParser
import Foundation
import ModelConfig

/// `explain`: the resolved configuration of one model with the source of each field.
struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one model's resolved configuration and where each field came from.",
        discussion: "Honours WVA_SCALE_TO_ZERO. With --json, standard output holds the JSON object alone."
    )

    @Option(help: "The model ConfigMap: volume directory, data file or manifest.")
    var config: String

    @Option(help: "The model id, e.g. meta/llama-3.1-8b.")
    var model: String

    @Option(help: "The model's namespace (omit to apply only namespace-free overrides).")
    var namespace: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        let entries: [RawEntry]
        do {
            entries = try ConfigSource.read(path: config)
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        let set = ModelConfigSet.build(entries: entries, previous: nil)
        for problem in set.problems { printError(problem.description) }
        let resolver = ConfigResolver(
            config: set, environmentScaleToZero: ConfigResolver.environmentFlag(environment["WVA_SCALE_TO_ZERO"]))
        let resolved = resolver.resolve(ModelKey(namespace: namespace ?? "", modelID: model))
        let explanation = ConfigExplanation(resolved: resolved, resolver: resolver, namespaceGiven: namespace != nil)
        print(json ? explanation.json() : explanation.text())
    }
}
