import ArgumentParser

/// The `replica-recommender` command: subcommands wire the libraries together.
@main
struct ReplicaRecommender: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replica-recommender",
        abstract: "Recommends replica counts (zero included) for vLLM models from Prometheus signals.",
        subcommands: [Serve.self, CheckConfig.self, Explain.self, BacktestCommand.self],
        defaultSubcommand: nil
    )
}
