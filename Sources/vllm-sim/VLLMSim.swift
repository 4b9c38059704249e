import ArgumentParser
import Foundation
import Hummingbird
import Logging
import PrometheusClient
import ServiceLifecycle
import VLLMSimulator
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `vllm-sim`: simulated vLLM models on loopback for the demo, the tests and decision-quality runs.
@main
struct VLLMSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vllm-sim",
        abstract: "Simulate vLLM models and a gateway on loopback; follow replica-recommender like KEDA would.")

    @Option(help: "The scenario YAML (models and traffic).") var scenario: String
    @Option(help: "Listen address host:port for /metrics.") var listen = "127.0.0.1:9400"
    @Option(help: "Prometheus to read inferno_desired_replicas from (omit: replicas stay as started).") var prometheusURL: String?
    @Option(help: "Real seconds between reads of the recommendation (KEDA's pollingInterval).") var followInterval = 1.0
    @Option(help: "Real seconds per simulation step.") var step = 0.1
    @Option(help: "Stop after this many real seconds and print the summary (default: until Ctrl-C).") var duration: Double?
    @Option(help: "Write the per-model report as JSON to this file at the end.") var report: String?
    @Option(help: "A recommender base URL: print a live table of its decisions and the simulated replicas.") var tableFrom: String?
    @Option(help: "Real seconds between table refreshes.") var tableInterval = 2.0
    @Option(help: "Stop once this many scenario seconds have been simulated, and print the summary.") var until: Double?
    @Flag(help: "Act like KEDA and the HPA it creates (tolerance, stabilization, rate limits, activation, cooldown) instead of replicas = recommendation.")
    var hpa = false
    @Option(help: ArgumentHelp(
        "With --hpa, a metric as TARGET=PROMQL (repeatable): an AverageValue target and a query answering per (namespace, model_name); the HPA takes the largest proposal. Default: 1=max by (namespace, model_name) (inferno_desired_replicas).",
        valueName: "target=promql"))
    var metric: [String] = []
    @Option(help: "With --hpa: the HPA's sync period, in scenario seconds (HPA default 15).") var hpaSyncPeriod = 15.0
    @Option(help: "With --hpa: the HPA's tolerance (HPA default 0.1).") var hpaTolerance = 0.1
    @Option(help: "With --hpa: the scale-down stabilization window, scenario seconds (HPA default 300).") var hpaScaleDownWindow = 300.0
    @Option(help: "With --hpa: KEDA's cooldownPeriod, scenario seconds (KEDA default 300).") var kedaCooldown = 300.0
    @Option(help: "With --hpa: KEDA's minReplicaCount (default 0).") var kedaMinReplicas = 0
    @Option(help: "With --hpa: KEDA's maxReplicaCount.") var maxReplicas = 100

    func run() async throws {
        let scenario: Scenario
        do {
            scenario = try Scenario.load(path: self.scenario)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
            FileHandle.standardError.write(Data("error: --listen: expected host:port\n".utf8))
            throw ExitCode(2)
        }
        var logger = Logger(label: "vllm-sim")
        logger.logLevel = .critical
        let host = SimulatorHost(scenario: scenario)

        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: await host.metrics())))
        }
        router.get("/report") { _, _ -> Response in
            let data = (try? JSONEncoder().encode(await host.report())) ?? Data("[]".utf8)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname(String(listen[..<colon]), port: port)), logger: logger)

        let until = self.until ?? .infinity
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: app),
            // Fixed steps on a real-time schedule: late steps catch up, so scenario time keeps pace
            // with real time (the recommender's windows are real time) and arrivals stay reproducible.
            .init(service: Loop(every: step, catchUp: true) { await host.advance(by: step * scenario.timeScale, until: until) }),
        ]
        if self.until != nil {
            services.append(.init(service: StopAtScenarioTime(host: host, until: until), successTerminationBehavior: .gracefullyShutdownGroup))
        }
        if hpa, let prometheusURL {
            var parsed: [(target: Double, query: String)] = []
            for text in metric.isEmpty ? ["1=max by (namespace, model_name) (inferno_desired_replicas)"] : metric {
                guard let equals = text.firstIndex(of: "="), let target = Double(text[..<equals]), target > 0 else {
                    FileHandle.standardError.write(Data("error: --metric \(text): expected TARGET=PROMQL with a positive number as TARGET\n".utf8))
                    throw ExitCode(2)
                }
                parsed.append((target, String(text[text.index(after: equals)...])))
            }
            let metrics = parsed
            let client = PrometheusClient(
                transport: CurlTransport(connection: PrometheusConnection(url: prometheusURL, timeoutSeconds: 2)),
                retry: RetryPolicy(attempts: 1))
            let settings = AutoscalerEmulation.Settings(
                tolerance: hpaTolerance, scaleDownWindow: hpaScaleDownWindow, minReplicaCount: kedaMinReplicas, maxReplicas: maxReplicas,
                cooldown: kedaCooldown)
            let targets = metrics.map(\.target)
            services.append(.init(service: Loop(every: hpaSyncPeriod / scenario.timeScale) {
                var results: [[ModelKey: Double]?] = []
                for metric in metrics {
                    guard let samples = try? await client.query(metric.query) else {
                        results.append(nil)
                        continue
                    }
                    var byModel: [ModelKey: Double] = [:]
                    for sample in samples where sample.value.isFinite {
                        guard let namespace = sample.labels["namespace"], let model = sample.labels["model_name"] else { continue }
                        byModel[ModelKey(namespace: namespace, model: model), default: 0] += sample.value
                    }
                    results.append(byModel)
                }
                await host.autoscale(results, settings: settings, targets: targets)
            }))
        } else if let prometheusURL {
            let client = PrometheusClient(
                transport: CurlTransport(connection: PrometheusConnection(url: prometheusURL, timeoutSeconds: 2)),
                retry: RetryPolicy(attempts: 1))
            services.append(.init(service: Loop(every: followInterval) {
                // Like KEDA with ignoreNullValues false: on an error or no series, keep the replicas.
                if let samples = try? await client.query("max by (namespace, model_name) (inferno_desired_replicas)") {
                    await host.follow(samples)
                }
            }))
        }
        if let tableFrom {
            services.append(.init(service: Loop(every: tableInterval) { await printTable(host: host, recommender: tableFrom) }))
        }
        if let duration {
            services.append(.init(service: Stop(after: duration), successTerminationBehavior: .gracefullyShutdownGroup))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()

        let reports = await host.report()
        print(summary(reports, scenarioSeconds: await host.now, timeScale: scenario.timeScale))
        if let report {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(reports).write(to: URL(fileURLWithPath: report))
        }
    }
}

/// Runs `body` every `every` real seconds until shutdown, on a fixed schedule: with `catchUp`,
/// runs that fell behind (a busy machine) are made up at once; without, they are skipped.
struct Loop: Service {
    let every: Double
    var catchUp = false
    let body: @Sendable () async -> Void

    func run() async throws {
        let clock = ContinuousClock()
        let period = Duration.milliseconds(Int(every * 1000))
        // Shutdown cancels the sleep; that is the normal way out, not an error.
        try? await cancelWhenGracefulShutdown {
            var next = clock.now
            while !Task.isCancelled {
                await body()
                next = next.advanced(by: period)
                if !catchUp, next < clock.now { next = clock.now }
                try await Task.sleep(until: next, clock: clock)
            }
        }
    }
}

/// Returns once the simulation has reached `until` scenario seconds, which shuts the group down.
struct StopAtScenarioTime: Service {
    let host: SimulatorHost
    let until: Double

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while await host.now < until { try await Task.sleep(for: .milliseconds(50)) }
        }
    }
}

/// Returns after `after` real seconds, which shuts the group down.
struct Stop: Service {
    let after: Double
    func run() async throws {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(after * 1000))) }
    }
}

/// The live table: the recommender's decisions next to the simulated replicas.
func printTable(host: SimulatorHost, recommender: String) async {
    var decisions: [String: [String: Any]] = [:]
    if let url = URL(string: recommender + "/api/v1/recommendations"),
        let (data, _) = try? await URLSession.shared.data(from: url),
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let models = object["models"] as? [[String: Any]] {
        for model in models {
            decisions["\(model["namespace"] ?? "")/\(model["model_id"] ?? "")"] = model
        }
    }
    let now = Date().timeIntervalSince1970
    var lines = ["\u{1B}[H\u{1B}[2J" + "replica-recommender demo  —  scenario minute \(String(format: "%.1f", await host.now / 60))  (Ctrl-C stops)", ""]
    lines.append("MODEL".padding(toLength: 34, withPad: " ", startingAt: 0) + " DESIRED  READY  START  QUEUED  STATE    REASON  LAST ACTIVITY  DETAIL")
    for entry in await host.fleet() {
        let key = entry.namespace + "/" + entry.model
        let decision = decisions[key]
        let desired = (decision?["desired"] as? Int).map(String.init) ?? "-"
        let activity = (decision?["last_activity"] as? Double).map { "\(Int(now - $0))s ago" } ?? "never"
        lines.append(
            key.padding(toLength: 34, withPad: " ", startingAt: 0) + " " + desired.leftPad(7) + "  " + String(entry.ready).leftPad(5) + "  "
                + String(entry.starting).leftPad(5) + "  " + String(entry.queued).leftPad(6) + "  "
                + ((decision?["state"] as? String) ?? "-").padding(toLength: 7, withPad: " ", startingAt: 0) + "  "
                + ((decision?["reason"] as? String) ?? "-").padding(toLength: 6, withPad: " ", startingAt: 0) + "  "
                + activity.leftPad(13) + "  " + ((decision?["detail"] as? String) ?? ""))
    }
    print(lines.joined(separator: "\n"))
}
