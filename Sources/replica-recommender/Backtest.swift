import ArgumentParser
import Backtest
import Foundation
import ModelConfig
import PrometheusClient
import Recommendation
import Synchronization

/// `backtest`: request history replayed through the decision core in virtual time.
struct BacktestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Replay request history through the decision core and report GPU-hours, cold starts and waits.",
        discussion: """
            Input: --trace FILE (CSV with a header: model,timestamp_s[,namespace][,class]; .csv or .csv.gz; \
            seconds from the trace start, any order) or --prometheus-url URL --since 14d (arrivals \
            reconstructed from vllm:request_success_total every --step). At t = 0 every model is up with \
            one replica. Honours WVA_SCALE_TO_ZERO like the service.
            """
    )

    @Option(help: "A CSV trace: model,timestamp_s[,namespace][,class] (.csv or .csv.gz).") var trace: String?
    @Option(help: "Read the history from this Prometheus instead of a trace.") var prometheusURL: String?
    @Option(help: "How much Prometheus history to replay (default 14d).") var since: String = "14d"
    @Option(help: "Resolution of the history read from Prometheus (default 1m): requests are counted per step.") var step: String = "1m"
    @Option(help: "Extra label matchers on vLLM series, e.g. 'job=\"vllm\"'.") var selector: String = ""
    @Option(help: "Label matchers on the recommender's own series (measured cold starts).") var recommenderSelector: String = ""
    @Option(help: "The model ConfigMap (volume directory, data file or manifest), resolved as the service resolves it.") var config: String?
    @Option(help: "Cold start, wake to ready (default 90s; per model from measured cold starts in Prometheus history).") var coldStart: String = "90s"
    @Option(help: "Tick interval of the recommender (default 15s).") var interval: String = "15s"
    @Option(help: "Scrape interval of the vLLM pods and the gateway (default 30s, as serve's --scrape-interval).") var scrapeInterval: String = "30s"
    @Option(help: "Seconds one request takes on a replica (default 2s).") var serviceTime: String = "2s"
    @Option(help: "Requests one replica serves at once (default 8).") var replicaConcurrency: Int = 8
    @Option(help: "Scale-down stabilization of load-based sizes (default 60s, as serve).") var scaleDownStabilization: String = "60s"
    @Option(help: "Simulate a restart of the recommender this often (its state read back from its exported metrics).") var restartEvery: String?
    @Option(help: "Alternatives side by side: fixed:DURATION, adaptive or prewarm (with :cost=D, :min=D, :max=D), comma-separated.")
    var compare: String?
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Only the fleet table, no per-model lines.") var fleetOnly = false
    @Option(help: "Write every change of the recommendation (configured policy) as CSV: model,timestamp_s,desired_replicas.") var decisionsOut: String?
    @Option(help: "Also write the report as one self-contained HTML page (inline SVG charts: GPU-hours against cold starts per policy, per traffic class).")
    var html: String?

    func run() async throws {
        do {
            try await backtest()
        } catch let error as BacktestFailure {
            printError("error: \(error.message)")
            throw ExitCode(2)
        }
    }

    private func backtest() async throws {
        let interval = try duration("--interval", self.interval)
        let scrape = try duration("--scrape-interval", scrapeInterval)
        var options = ReplayOptions(interval: interval, scrapeInterval: scrape)
        options.world = WorldParameters(
            coldStart: try duration("--cold-start", coldStart), serviceTime: try duration("--service-time", serviceTime),
            concurrency: replicaConcurrency)
        options.restartEvery = try restartEvery.map { try duration("--restart-every", $0) }
        let alternatives: [Alternative]
        do {
            alternatives = try compare.map(Alternative.parseList) ?? []
        } catch {
            throw BacktestFailure(message: error.description)
        }

        let loaded = try await load(&options)
        let trace = loaded.trace
        guard !trace.models.isEmpty else { throw BacktestFailure(message: "\(loaded.source): no requests to replay") }
        let resolver = try resolver()
        options.policy = Policy(
            killSwitch: resolver.killSwitchEngaged, scaleDownStabilization: try duration("--scale-down-stabilization", scaleDownStabilization))
        let configs = trace.models.map { resolver.resolve($0) }
        if !configs.contains(where: \.enableScaleToZero) {
            printError("warning: scale-to-zero is enabled for none of the \(configs.count) models (give --config, or set WVA_SCALE_TO_ZERO=true)")
        }

        let policies: [(String, [ResolvedModelConfig])] = [("config", configs)] + alternatives.map { ($0.name, configs.map($0.apply)) }
        let progress = Progress(total: policies.count, days: options.end.map { $0 / 86_400 } ?? trace.lastArrival / 86_400)
        let started = Date()
        let replayOptions = options
        let record = decisionsOut != nil
        // One policy per task: alternatives replay in parallel on the available cores.
        let runs = await withTaskGroup(of: (Int, RunResult, [DecisionChange]).self) { group in
            for (index, (name, configs)) in policies.enumerated() {
                group.addTask {
                    let (result, changes) = Backtest.run(
                        trace: trace, configs: configs, options: replayOptions, name: name, recordChanges: index == 0 && record,
                        threads: policies.count == 1 ? ProcessInfo.processInfo.activeProcessorCount : 1,
                        progress: { progress.update(index, $0) })
                    return (index, result, changes)
                }
            }
            var results: [(Int, RunResult, [DecisionChange])] = []
            for await item in group { results.append(item) }
            return results.sorted { $0.0 < $1.0 }
        }
        progress.finish(seconds: Date().timeIntervalSince(started), requests: trace.requestCount)

        if let path = decisionsOut {
            let csv = decisionsCSV(runs[0].2, models: trace.models, namespaces: trace.hasNamespaces)
            do {
                try csv.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw BacktestFailure(message: "\(path): cannot write the decisions: \(error.localizedDescription)")
            }
        }
        var settings = [
            "input": loaded.source, "interval": self.interval, "scrape interval": scrapeInterval, "cold start": loaded.coldStartNote,
            "service time": serviceTime, "replica concurrency": "\(replicaConcurrency)", "config": config ?? "none (system defaults)",
        ]
        if let restartEvery { settings["restart every"] = restartEvery }
        let report = BacktestReport(runs: runs.map(\.1), seconds: runs[0].1.seconds, settings: settings)
        if let path = html {
            do {
                try report.html(classes: trace.classes).write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw BacktestFailure(message: "\(path): cannot write the HTML report: \(error.localizedDescription)")
            }
        }
        print(json ? try report.json() : report.text(perModel: !fleetOnly))
    }

    /// The trace, from a file or from Prometheus.
    private func load(_ options: inout ReplayOptions) async throws -> (trace: Trace, source: String, coldStartNote: String) {
        switch (trace, prometheusURL) {
        case (let path?, nil):
            do {
                return (try Trace.read(path: path), path, coldStart)
            } catch {
                throw BacktestFailure(message: error.description)
            }
        case (nil, let url?):
            let since = try duration("--since", self.since)
            let step = try duration("--step", self.step)
            let client = PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: url, timeoutSeconds: 60)))
            let history = PrometheusHistory(client: client, selector: selector, recommenderSelector: recommenderSelector)
            printError("backtest: reading \(self.since) of history from \(url) every \(self.step)")
            do {
                let loaded = try await history.load(since: since, step: step, end: Date()) { fraction in
                    printError(String(format: "backtest: history %.0f%%", fraction * 100))
                }
                options.coldStarts = loaded.coldStarts
                options.end = loaded.duration
                let start = Date(timeIntervalSince1970: loaded.start).formatted(.iso8601)
                let note = loaded.coldStarts.isEmpty ? coldStart : "\(coldStart), measured for \(loaded.coldStarts.count) model(s)"
                return (loaded.trace, "\(url) from \(start), \(self.since) every \(self.step)", note)
            } catch {
                throw BacktestFailure(message: "\(url): \(error.description)")
            }
        case (nil, nil):
            throw BacktestFailure(message: "give --trace FILE or --prometheus-url URL")
        case (_?, _?):
            throw BacktestFailure(message: "give either --trace or --prometheus-url, not both")
        }
    }

    private func resolver() throws -> ConfigResolver {
        let environment = ConfigResolver.environmentFlag(ProcessInfo.processInfo.environment["WVA_SCALE_TO_ZERO"])
        guard let path = config else { return ConfigResolver(config: .empty, environmentScaleToZero: environment) }
        let entries: [RawEntry]
        do {
            entries = try ConfigSource.read(path: path)
        } catch {
            throw BacktestFailure(message: "\(error)")
        }
        let set = ModelConfigSet.build(entries: entries, previous: nil)
        for problem in set.problems { printError(problem.description) }
        return ConfigResolver(config: set, environmentScaleToZero: environment)
    }

    private func duration(_ name: String, _ text: String) throws -> Double {
        guard let parsed = ConfigDuration.parse(text), parsed.milliseconds > 0 else {
            throw BacktestFailure(message: "\(name): expected a duration such as 15s, 90s or 14d, found \(text)")
        }
        return parsed.seconds
    }
}

/// A backtest that cannot run: the message says why.
struct BacktestFailure: Error {
    let message: String
}

/// A progress line on standard error, at most every two seconds, for long runs.
final class Progress: Sendable {
    private let state: Mutex<(fractions: [Double], last: Date)>
    private let days: Double

    init(total: Int, days: Double) {
        state = Mutex((Array(repeating: 0, count: total), Date()))
        self.days = days
    }

    func update(_ index: Int, _ fraction: Double) {
        state.withLock { state in
            state.fractions[index] = fraction
            guard Date().timeIntervalSince(state.last) >= 2 else { return }
            state.last = Date()
            let done = state.fractions.reduce(0, +) / Double(state.fractions.count)
            printError(String(format: "backtest: %.0f%% (%d polic%@ over %.1f days)", done * 100, state.fractions.count, state.fractions.count == 1 ? "y" : "ies", days))
        }
    }

    func finish(seconds: Double, requests: Int) {
        printError(String(format: "backtest: replayed %d requests in %.1f s", requests, seconds))
    }
}
