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

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: app),
            .init(service: Loop(every: step) { await host.advance(by: step * scenario.timeScale) }),
        ]
        if let prometheusURL {
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

/// Runs `body` every `every` real seconds until shutdown.
struct Loop: Service {
    let every: Double
    let body: @Sendable () async -> Void

    func run() async throws {
        // Shutdown cancels the sleep; that is the normal way out, not an error.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await body()
                try await Task.sleep(for: .milliseconds(Int(every * 1000)))
            }
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
