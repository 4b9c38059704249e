import ArgumentParser
import Foundation
import ModelConfig
import PrometheusClient
import RecommenderService

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

    @Option(help: "Also query this Prometheus for the model's live signals and decision.")
    var prometheusURL: String?

    @Option(help: "Extra label matchers on vLLM series, e.g. 'job=\"vllm\"'.")
    var selector: String = ""

    @Option(help: "The vLLM pods' scrape interval, as the service is given it (the requests window is the retention plus one scrape).")
    var scrapeInterval: String = "30s"

    @OptionGroup var consumerOptions: ConsumerOptions

    /// `--scrape-interval` parsed, with a clear error.
    func scrapeWindow() throws -> ConfigDuration {
        guard let duration = ConfigDuration.parse(scrapeInterval) else {
            throw ValidationError("--scrape-interval: expected a duration such as 15s or 30s, found \(scrapeInterval)")
        }
        return duration
    }

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
        if let warning = ConfigResolver.environmentFlagWarning(environment["WVA_SCALE_TO_ZERO"]) { printError("warning: \(warning)") }
        let resolver = ConfigResolver(
            config: set, environmentScaleToZero: ConfigResolver.environmentFlag(environment["WVA_SCALE_TO_ZERO"]))
        let resolved = resolver.resolve(ModelKey(namespace: namespace ?? "", modelID: model))
        if let consumer = consumerOptions.consumer {
            guard namespace != nil else {
                printError("error: --consumer needs --namespace (consumers select on the model's namespace)")
                throw ExitCode(2)
            }
            let client = prometheusURL.map { PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: $0))) }
            let report = await consumerReport(consumer: consumer, resolved: resolved, options: consumerOptions, client: client)
            print(json ? try jsonText(report) : report.text())
            return
        }
        guard let prometheusURL else {
            let explanation = ConfigExplanation(resolved: resolved, resolver: resolver, namespaceGiven: namespace != nil)
            print(json ? explanation.json() : explanation.text())
            return
        }
        guard namespace != nil else {
            printError("error: --prometheus-url needs --namespace (signals are per namespace)")
            throw ExitCode(2)
        }
        let collector = SignalCollector(
            client: PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: prometheusURL))),
            queries: QueryBuilder(selector: selector, gatewaySelector: consumerOptions.gatewaySelector, scrapeInterval: try scrapeWindow()))
        let live = await LiveExplanation.probe(
            resolved: resolved, resolver: resolver, killSwitchFlag: false, collector: collector,
            recoveryWindow: ConfigDuration(seconds: 86_400), now: SystemTime().now())
        for (signal, error) in live.errors.sorted(by: { $0.key < $1.key }) { printError("warning: \(signal) query failed: \(error)") }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(live), as: UTF8.self))
        } else {
            print(live.text())
        }
    }
}

