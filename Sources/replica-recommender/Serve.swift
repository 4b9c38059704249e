import ArgumentParser
import ExternalScaler
import Foundation
import Logging
import ModelConfig
import PrometheusClient
import RecommenderService
import ServiceLifecycle

/// `serve`: the recommender service. Every option can also be set by an environment variable,
/// `REPLICA_RECOMMENDER_` + the option name in upper case with `_` for `-` (flags win).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the recommender: query Prometheus every interval, export inferno_desired_replicas.",
        discussion: """
            Every option can also be set by an environment variable: REPLICA_RECOMMENDER_ and the option \
            name in upper case with _ for - (e.g. REPLICA_RECOMMENDER_PROMETHEUS_URL). Flags win. \
            WVA_SCALE_TO_ZERO=true enables scale-to-zero for models whose ConfigMap entries do not say.
            """
    )

    @Option(help: "The model ConfigMap: volume directory, data file or manifest.") var config: String?
    @Option(help: "Prometheus (or Thanos/Mimir/Cortex/VictoriaMetrics) base URL.") var prometheusURL: String?
    @Option(help: "Tick interval (default 15s).") var interval: String?
    @Option(help: "Listen address host:port (default 0.0.0.0:8080).") var listen: String?
    @Option(help: "Log format: logfmt or json (default logfmt).") var logFormat: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default info).") var logLevel: String?

    @Option(help: "File with a bearer token for Prometheus (re-read when it changes).") var prometheusBearerTokenFile: String?
    @Option(help: "CA bundle to verify Prometheus' certificate.") var prometheusCAFile: String?
    @Option(help: "Client certificate (PEM) for Prometheus.") var prometheusCertFile: String?
    @Option(help: "Client key (PEM) for Prometheus.") var prometheusKeyFile: String?
    @Option(help: "Skip TLS verification of Prometheus: true or false.") var prometheusInsecureSkipVerify: String?
    @Option(help: "Extra header for Prometheus requests, 'Name: value' (repeatable; env: one per line), e.g. 'X-Scope-OrgID: tenant'.")
    var prometheusHeader: [String] = []
    @Option(help: "Extra form parameter for every query, 'name=value' (repeatable; env: one per line); replaces the default of that name. Default: nocache=1 (VictoriaMetrics answers at now, not 30s ago).")
    var prometheusQueryParam: [String] = []
    @Option(help: "Prometheus request timeout (default 10s).") var prometheusTimeout: String?
    @Option(help: "Attempts per Prometheus query, with exponential backoff (default 3).") var prometheusAttempts: String?

    @Option(help: "Extra label matchers on vLLM series, e.g. 'job=\"vllm\"'.") var selector: String?
    @Option(help: "Extra label matchers on the gateway queue and request-counter series.") var gatewaySelector: String?
    @Option(help: "Scrape interval of the vLLM pods (default 30s): the requests window is the retention plus one scrape, so a model goes to zero R after its last request, never earlier.")
    var scrapeInterval: String?
    @Option(help: "Label matchers on this service's own inferno_desired_replicas for restart recovery.") var recommenderSelector: String?
    @Option(help: "Template of the completed-requests query ($SELECTOR, $RANGE).") var queryRequests: String?
    @Option(help: "Template of the running-requests query.") var queryRunning: String?
    @Option(help: "Template of the waiting-requests query.") var queryWaiting: String?
    @Option(help: "Template of the ready-replicas query.") var queryReady: String?
    @Option(help: "Template of the KV-cache query.") var queryKvCache: String?
    @Option(help: "Template of the gateway-demand query ($GATEWAY_SELECTOR).") var queryDemand: String?
    @Option(help: "Template of the gateway-demand query over a stretch the recommender could not see ($GATEWAY_SELECTOR, $RANGE).") var queryDemandCatchUp: String?
    @Option(help: "Template of the gateway error counters as they were $OFFSET ago, read by a restarted process's first answer ($GATEWAY_SELECTOR, $RANGE, $OFFSET).") var queryGatewayErrorsBefore: String?
    @Option(help: "Template of the gateway request-counter query ($GATEWAY_SELECTOR).") var queryGatewayRequests: String?
    @Option(help: "Template of the recovery query ($RECOMMENDER_SELECTOR, $RANGE).") var queryRecovery: String?

    @Option(help: "Forget a model absent from every source this long (default 7d).") var forgetAfter: String?
    @Option(help: "No zero without a wake path: an idle model goes to 0 only when the gateway was seen routing it or its entry sets wake_path: api (default true).")
    var zeroRequiresWakePath: String?
    @Option(help: "How long a gateway wake path stays proven after its series were last seen (default 24h).") var wakePathMemory: String?
    @Option(help: "How far back restart recovery looks for the last recommendations (default 24h).") var recoveryWindow: String?
    @Option(help: "On SIGTERM, how long /metrics stays up for a scrape to read the last change of the recommendations (default 25s; keep it under the pod's terminationGracePeriodSeconds).")
    var shutdownDrain: String?
    @Option(help: "Kill switch: false keeps every model at >= 1 (default true).") var scaleToZeroAllowed: String?
    @Option(help: "How often the ConfigMap is checked for changes (default 2s).") var configPollInterval: String?
    @Option(help: "A target_concurrency size goes down only after the lower size was wanted this long (default 60s).")
    var scaleDownStabilization: String?
    @Option(help: "File with the bearer token wake calls must present.") var wakeTokenFile: String?
    @Option(help: "Answer 404 to wake calls for unknown models instead of adopting them: true or false.") var wakeKnownModelsOnly: String?
    @Option(help: "Wake calls per second, all callers together (default 50).") var wakeRate: String?
    @Option(help: "Most unknown models wake calls may adopt, counted while known (default 100); beyond it 429.")
    var wakeMaxAdopted: String?

    @Option(help: "Read an endpoint picker's /metrics directly every --gateway-poll-interval and wake a model at zero the moment requests queue for it (repeatable; env: one per line). Off by default.")
    var gatewayMetricsURL: [String] = []
    @Option(help: "A DNS name whose addresses are the endpoint pickers (a headless Service), NAME:PORT, resolved at every poll; each address's /metrics is read (repeatable; env: one per line).")
    var gatewayMetricsDNS: [String] = []
    @Option(help: "Pause between two direct reads of the endpoint pickers' metrics (default 500ms).") var gatewayPollInterval: String?
    @Option(help: "The longest one direct read of an endpoint picker's metrics may take (default 2s).") var gatewayPollTimeout: String?
    @Option(help: "File with a bearer token the endpoint pickers' /metrics require (re-read when it changes).") var gatewayMetricsBearerTokenFile: String?

    @Option(help: "Serve KEDA's external scaler (gRPC, trigger types external and external-push) on this port, on the --listen host. Off by default.")
    var externalScalerPort: String?

    func run() async throws {
        limitMallocArenas()
        var settings = Settings()
        do {
            let configuration = try makeConfiguration(&settings)
            let format = LogFormat(rawValue: settings.string("log-format", logFormat, "logfmt")) ?? .logfmt
            let level = Logger.Level(rawValue: settings.string("log-level", logLevel, "info")) ?? .info
            let logger = Logger(label: "replica-recommender") { LineLogHandler(label: $0, format: format, level: level) }
            if let warning = ConfigResolver.environmentFlagWarning(environment["WVA_SCALE_TO_ZERO"]) { logger.warning("\(warning)") }
            let server = RecommenderServer(configuration: configuration, logger: logger)
            var services: [any Service] = []
            if let port = try externalScalerListenPort(&settings) {
                services.append(ExternalScalerServer(engine: server.engine, host: configuration.host, port: port, logger: logger))
            }
            try await server.run(additionalServices: services)
        } catch let error as SettingsError {
            printError("error: \(error.message)")
            throw ExitCode(2)
        }
    }

    /// `--external-scaler-port`, nil when not set.
    private func externalScalerListenPort(_ s: inout Settings) throws(SettingsError) -> Int? {
        guard let text = s.optional("external-scaler-port", externalScalerPort) else { return nil }
        guard let port = Int(text), (1...65_535).contains(port) else {
            throw SettingsError("--external-scaler-port (or \(Settings.variable("external-scaler-port"))): expected a port 1-65535, found \(text)")
        }
        return port
    }

    private func makeConfiguration(_ s: inout Settings) throws(SettingsError) -> ServerConfiguration {
        guard let configPath = s.optional("config", config) else { throw SettingsError("--config PATH is required (the model ConfigMap)") }
        guard let url = s.optional("prometheus-url", prometheusURL) else { throw SettingsError("--prometheus-url URL is required") }
        var c = ServerConfiguration(configPath: configPath, prometheusURL: url)
        c.interval = .milliseconds(try s.duration("interval", interval, "15s").milliseconds)
        c.configPollInterval = .milliseconds(try s.duration("config-poll-interval", configPollInterval, "2s").milliseconds)
        let address = s.string("listen", listen, "0.0.0.0:8080")
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw SettingsError("--listen: expected host:port, found \(address)")
        }
        c.host = String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if c.host.isEmpty { c.host = "0.0.0.0" }
        c.port = port
        c.prometheus.bearerTokenFile = s.optional("prometheus-bearer-token-file", prometheusBearerTokenFile)
        c.prometheus.caFile = s.optional("prometheus-ca-file", prometheusCAFile)
        c.prometheus.clientCertFile = s.optional("prometheus-cert-file", prometheusCertFile)
        c.prometheus.clientKeyFile = s.optional("prometheus-key-file", prometheusKeyFile)
        c.prometheus.insecureSkipVerify = try s.bool("prometheus-insecure-skip-verify", prometheusInsecureSkipVerify, false)
        let headers = prometheusHeader.isEmpty
            ? (s.optional("prometheus-header", nil)?.split(whereSeparator: { $0.isNewline }).map(String.init) ?? []) : prometheusHeader  // \r\n too
        c.prometheus.headers = try headers.map { line throws(SettingsError) in
            guard let colon = line.firstIndex(of: ":") else { throw SettingsError("--prometheus-header: expected 'Name: value', found \(line)") }
            return (String(line[..<colon]).trimmingCharacters(in: .whitespaces), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
        }
        let parameters = prometheusQueryParam.isEmpty
            ? (s.optional("prometheus-query-param", nil)?.split(separator: "\n").map(String.init) ?? []) : prometheusQueryParam
        c.prometheus.parameters = try Self.queryParameters(parameters)
        c.prometheus.timeoutSeconds = try s.duration("prometheus-timeout", prometheusTimeout, "10s").seconds
        c.retry = RetryPolicy(attempts: try s.int("prometheus-attempts", prometheusAttempts, 3))
        var templates = QueryTemplates()
        if let v = s.optional("query-requests", queryRequests) { templates.requests = v }
        if let v = s.optional("query-running", queryRunning) { templates.running = v }
        if let v = s.optional("query-waiting", queryWaiting) { templates.waiting = v }
        if let v = s.optional("query-ready", queryReady) { templates.ready = v }
        if let v = s.optional("query-kv-cache", queryKvCache) { templates.kvCache = v }
        if let v = s.optional("query-demand", queryDemand) { templates.demand = v }
        if let v = s.optional("query-demand-catch-up", queryDemandCatchUp) { templates.demandCatchUp = v }
        if let v = s.optional("query-gateway-requests", queryGatewayRequests) { templates.gatewayRequests = v }
        if let v = s.optional("query-gateway-errors-before", queryGatewayErrorsBefore) { templates.gatewayErrorsBefore = v }
        if let v = s.optional("query-recovery", queryRecovery) { templates.recovery = v }
        c.queries = QueryBuilder(
            templates: templates, selector: s.string("selector", selector, ""),
            gatewaySelector: s.string("gateway-selector", gatewaySelector, ""),
            recommenderSelector: s.string("recommender-selector", recommenderSelector, ""),
            scrapeInterval: try s.duration("scrape-interval", scrapeInterval, "30s"),
            tickInterval: try s.duration("interval", interval, "15s"))
        c.recoveryWindow = try s.duration("recovery-window", recoveryWindow, "24h")
        c.shutdownDrain = .milliseconds(try s.duration("shutdown-drain", shutdownDrain, "25s").milliseconds)
        c.engine = EngineOptions(
            environmentScaleToZero: ConfigResolver.environmentFlag(environment["WVA_SCALE_TO_ZERO"]),
            killSwitchFlag: !(try s.bool("scale-to-zero-allowed", scaleToZeroAllowed, true)),
            forgetAfterSeconds: try s.duration("forget-after", forgetAfter, "7d").seconds,
            wakeKnownModelsOnly: try s.bool("wake-known-models-only", wakeKnownModelsOnly, false),
            scaleDownStabilizationSeconds: try s.duration("scale-down-stabilization", scaleDownStabilization, "60s").seconds,
            zeroRequiresWakePath: try s.bool("zero-requires-wake-path", zeroRequiresWakePath, true),
            wakePathMemorySeconds: try s.duration("wake-path-memory", wakePathMemory, "24h").seconds,
            wakeMaxAdopted: try s.int("wake-max-adopted", wakeMaxAdopted, 100))
        let rate = try s.int("wake-rate", wakeRate, 50)
        let pollURLs = gatewayMetricsURL.isEmpty
            ? (s.optional("gateway-metrics-url", nil)?.split(whereSeparator: { $0.isNewline }).map(String.init) ?? []) : gatewayMetricsURL
        let pollNames = gatewayMetricsDNS.isEmpty
            ? (s.optional("gateway-metrics-dns", nil)?.split(whereSeparator: { $0.isNewline }).map(String.init) ?? []) : gatewayMetricsDNS
        c.gatewayPolling = GatewayPollingOptions(
            urls: try pollURLs.map { url throws(SettingsError) in
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    throw SettingsError("--gateway-metrics-url: expected an http:// or https:// URL, found \(url)")
                }
                return url
            },
            dnsTargets: try pollNames.map { text throws(SettingsError) in
                guard let target = GatewayPollingOptions.DNSTarget(parsing: text) else {
                    throw SettingsError("--gateway-metrics-dns: expected NAME:PORT (a headless Service and its metrics port), found \(text)")
                }
                return target
            },
            interval: .milliseconds(try s.duration("gateway-poll-interval", gatewayPollInterval, "500ms").milliseconds),
            timeout: .milliseconds(try s.duration("gateway-poll-timeout", gatewayPollTimeout, "2s").milliseconds),
            bearerTokenFile: s.optional("gateway-metrics-bearer-token-file", gatewayMetricsBearerTokenFile))
        c.api = APIOptions(wakeTokenFile: s.optional("wake-token-file", wakeTokenFile), wakeRatePerSecond: Double(rate), wakeBurst: Double(rate * 2))
        return c
    }
}

extension Serve {
    /// The default query parameters with `lines` (`name=value`) added, a given name replacing the default's.
    static func queryParameters(_ lines: [String]) throws(SettingsError) -> [(String, String)] {
        let given = try lines.map { line throws(SettingsError) -> (String, String) in
            guard let equals = line.firstIndex(of: "="), equals != line.startIndex else {
                throw SettingsError("--prometheus-query-param: expected 'name=value', found \(line)")
            }
            return (String(line[..<equals]).trimmingCharacters(in: .whitespaces), String(line[line.index(after: equals)...]).trimmingCharacters(in: .whitespaces))
        }
        let names = Set(given.map(\.0))
        return PrometheusConnection.defaultParameters.filter { !names.contains($0.0) } + given
    }
}

/// A bad option value.
struct SettingsError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Option values: the flag, else `REPLICA_RECOMMENDER_<NAME>`, else the default.
struct Settings {
    static func variable(_ option: String) -> String {
        "REPLICA_RECOMMENDER_" + option.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    func optional(_ option: String, _ flag: String?) -> String? {
        if let flag { return flag }
        let value = environment[Self.variable(option)]
        return value?.isEmpty == false ? value : nil
    }

    func string(_ option: String, _ flag: String?, _ fallback: String) -> String { optional(option, flag) ?? fallback }

    func duration(_ option: String, _ flag: String?, _ fallback: String) throws(SettingsError) -> ConfigDuration {
        let text = string(option, flag, fallback)
        guard let value = ConfigDuration.parse(text), value.isPositive else {
            throw SettingsError("--\(option) (or \(Self.variable(option))): expected a duration such as 15s or 5m, found \(text)")
        }
        return value
    }

    func bool(_ option: String, _ flag: String?, _ fallback: Bool) throws(SettingsError) -> Bool {
        guard let text = optional(option, flag) else { return fallback }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw SettingsError("--\(option) (or \(Self.variable(option))): expected true or false, found \(text)")
        }
    }

    func int(_ option: String, _ flag: String?, _ fallback: Int) throws(SettingsError) -> Int {
        guard let text = optional(option, flag) else { return fallback }
        guard let value = Int(text), value > 0 else {
            throw SettingsError("--\(option) (or \(Self.variable(option))): expected a whole number > 0, found \(text)")
        }
        return value
    }
}

#if os(Linux)
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32

/// glibc gives every thread that allocates its own arena (up to 8 per core); memory freed in one
/// is kept for it. The service's allocations are bursty (one tick's query results), so two arenas
/// keep resident memory close to what is live. MALLOC_ARENA_MAX in the environment still wins.
private func limitMallocArenas() {
    let mArenaMax: Int32 = -8  // M_ARENA_MAX in malloc.h
    if environment["MALLOC_ARENA_MAX"] == nil { _ = mallopt(mArenaMax, 2) }
}
#else
private func limitMallocArenas() {}
#endif
