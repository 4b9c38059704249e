import Hummingbird
import Logging
import ModelConfig
import PrometheusClient
import ServiceLifecycle

/// Everything `serve` needs.
public struct ServerConfiguration: Sendable {
    /// The model ConfigMap path.
    public var configPath: String
    /// Prometheus connection.
    public var prometheus: PrometheusConnection
    /// Query retries.
    public var retry: RetryPolicy
    /// Queries.
    public var queries: QueryBuilder
    /// Tick interval.
    public var interval: Duration
    /// How often the ConfigMap is checked for changes.
    public var configPollInterval: Duration
    /// Listen host.
    public var host: String
    /// Listen port (0 picks a free one).
    public var port: Int
    /// Restart recovery window.
    public var recoveryWindow: ConfigDuration
    /// Engine options.
    public var engine: EngineOptions
    /// API options.
    public var api: APIOptions
    /// Direct reads of the endpoint pickers' queue (off unless targets are given).
    public var gatewayPolling: GatewayPollingOptions
    /// On graceful shutdown, how long `/metrics` stays up for a scrape to read the last change.
    public var shutdownDrain: Duration

    /// Creates a configuration with defaults for everything but the config path and Prometheus URL.
    public init(configPath: String, prometheusURL: String) {
        self.configPath = configPath
        prometheus = PrometheusConnection(url: prometheusURL)
        retry = RetryPolicy()
        queries = QueryBuilder()
        interval = .seconds(15)
        configPollInterval = .seconds(2)
        host = "0.0.0.0"
        port = 8080
        recoveryWindow = ConfigDuration(seconds: 86_400)
        engine = EngineOptions()
        api = APIOptions()
        gatewayPolling = GatewayPollingOptions()
        shutdownDrain = .seconds(25)
    }
}

/// The assembled service: engine, tick loop, config watcher and HTTP server in one ServiceGroup
/// that shuts down gracefully on SIGTERM and SIGINT.
public struct RecommenderServer: Sendable {
    /// The shared engine.
    public let engine: Engine
    let configuration: ServerConfiguration
    let logger: Logger
    let clock: any TimeSource

    /// Creates the server.
    public init(configuration: ServerConfiguration, logger: Logger, clock: any TimeSource = SystemTime()) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        engine = Engine(options: configuration.engine, logger: logger)
    }

    /// Runs until SIGTERM/SIGINT (or cancellation). `onListening` receives the bound port.
    /// `additionalServices` run in the same group (the KEDA external scaler's gRPC server).
    public func run(
        signals: Bool = true, additionalServices: [any Service] = [], onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let watcher = ConfigWatcher(path: configuration.configPath, engine: engine, clock: clock, pollInterval: configuration.configPollInterval)
        await watcher.load()
        let client = PrometheusClient(transport: CurlTransport(connection: configuration.prometheus), retry: configuration.retry)
        let loop = TickLoop(
            engine: engine, collector: SignalCollector(client: client, queries: configuration.queries), clock: clock,
            interval: configuration.interval, recoveryWindow: configuration.recoveryWindow)
        let api = RecommenderAPI(engine: engine, clock: clock, options: configuration.api)
        let app = Application(
            router: api.router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "replica-recommender"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        // Shut down in reverse order: the added services, the poller, the watcher, the loop (no
        // more ticks), the drain (until a scrape has read the last change), then the server.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: app), .init(service: ExportDrain(engine: engine, limit: configuration.shutdownDrain, logger: logger)),
            .init(service: loop), .init(service: watcher),
        ]
        if configuration.gatewayPolling.enabled {
            services.append(.init(service: GatewayPoller(options: configuration.gatewayPolling, engine: engine, clock: clock, logger: logger)))
            logger.info("polling endpoint pickers' metrics directly", metadata: [
                "urls": "\(configuration.gatewayPolling.urls)", "dns": "\(configuration.gatewayPolling.dnsTargets.map(\.description))",
                "interval": "\(configuration.gatewayPolling.interval)",
            ])
        }
        services += additionalServices.map { .init(service: $0) }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: signals ? [.sigterm, .sigint] : [],
            logger: logger))
        logger.info("replica-recommender starting", metadata: [
            "listen": "\(configuration.host):\(configuration.port)", "prometheus": "\(configuration.prometheus.url)",
            "config": "\(configuration.configPath)", "interval": "\(configuration.interval)",
        ])
        try await group.run()
    }
}

/// On graceful shutdown (SIGTERM: a rolling update, a node drain, an eviction), keeps `/metrics`
/// served until a scrape has read the last change of the recommendations, for at most `limit`.
/// Without it a wake accepted (or a model taken up) within one scrape interval of the stop never
/// reaches Prometheus: the consumer never sees it, and the next pod recovers the value before it.
/// A crash (SIGKILL, OOM) cannot be drained: a caller whose wake was lost calls again.
struct ExportDrain: Service {
    let engine: Engine
    let limit: Duration
    let logger: Logger

    func run() async throws {
        do { try await gracefulShutdown() } catch { return }  // cancelled: nothing to drain
        let start = ContinuousClock.now
        while await !engine.lastChangeScraped {
            guard ContinuousClock.now - start < limit else {
                logger.warning("shutting down before a scrape read the last change of the recommendations", metadata: ["waited": "\(limit)"])
                return
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        logger.info("the last change of the recommendations was scraped; shutting down", metadata: ["waited": "\(ContinuousClock.now - start)"])
    }
}
