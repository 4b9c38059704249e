import CCurl
import Foundation
import Logging
import PrometheusClient
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where and how often to read the endpoint pickers' `/metrics` directly (off unless a URL or a
/// DNS name is given).
public struct GatewayPollingOptions: Sendable {
    /// Fixed URLs of endpoint picker metrics (`http://epp.gateway:9090/metrics`).
    public var urls: [String]
    /// DNS names whose A records are the endpoint pickers (a headless Service), resolved at every
    /// poll; each address is read at `http://ADDRESS:PORT/metrics`.
    public var dnsTargets: [DNSTarget]
    /// The pause between two polls.
    public var interval: Duration
    /// The longest one read may take (connect and body).
    public var timeout: Duration
    /// A file with a bearer token the endpoint pickers require (re-read when it changes).
    public var bearerTokenFile: String?

    /// A DNS name and the port of its addresses' metrics.
    public struct DNSTarget: Sendable, Hashable, CustomStringConvertible {
        /// The name, e.g. `epp-metrics.gateway.svc.cluster.local`.
        public let host: String
        /// The metrics port.
        public let port: Int

        /// Creates a target.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Parses `NAME:PORT`; nil when malformed.
        public init?(parsing text: String) {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else { return nil }
            let host = String(text[..<colon])
            guard !host.isEmpty, !host.contains("/") else { return nil }
            self.init(host: host, port: port)
        }

        /// `NAME:PORT`.
        public var description: String { "\(host):\(port)" }
    }

    /// Creates options.
    public init(
        urls: [String] = [], dnsTargets: [DNSTarget] = [], interval: Duration = .milliseconds(500), timeout: Duration = .seconds(2),
        bearerTokenFile: String? = nil
    ) {
        self.urls = urls
        self.dnsTargets = dnsTargets
        self.interval = interval
        self.timeout = timeout
        self.bearerTokenFile = bearerTokenFile
    }

    /// Whether anything is to be polled.
    public var enabled: Bool { !urls.isEmpty || !dnsTargets.isEmpty }
}

/// One poll's outcome, for the service's metrics and logs.
public struct GatewayPollOutcome: Sendable {
    /// The queue per series identity, summed over every endpoint picker that answered.
    public var queued: [GatewayKey: Double]
    /// Targets read (every resolved address counts once).
    public var targets: Int
    /// Failures: unreachable, not 200, a DNS name that resolves to nothing, an unreadable token.
    public var failures: [GatewayPollFailure]

    /// Creates an outcome.
    public init(queued: [GatewayKey: Double], targets: Int, failures: [GatewayPollFailure]) {
        self.queued = queued
        self.targets = targets
        self.failures = failures
    }
}

/// A target that could not be read, and why.
public struct GatewayPollFailure: Sendable, Hashable, CustomStringConvertible {
    /// The URL or DNS name.
    public let target: String
    /// What went wrong.
    public let message: String

    /// `TARGET: MESSAGE`.
    public var description: String { "\(target): \(message)" }
}

/// Reads the endpoint pickers' queue every interval and hands it to the engine, which wakes a model
/// at zero with requests queued for it at once (reason `wake`, through the decision core) instead of
/// one scrape and one tick later. Only wakes: polled data never moves a model toward zero, and
/// Prometheus stays the source of every other signal. A failed poll is counted and logged; the
/// Prometheus path works on unchanged.
public struct GatewayPoller: Service {
    let options: GatewayPollingOptions
    let engine: Engine
    let clock: any TimeSource
    let logger: Logger
    private let token: TokenFile?
    private let failing = Failing()

    /// Targets whose last read failed: a failure is logged when it starts and when it ends, not
    /// at every poll.
    final class Failing: Sendable {
        let targets = Mutex<Set<String>>([])
    }

    /// Creates a poller.
    public init(options: GatewayPollingOptions, engine: Engine, clock: any TimeSource, logger: Logger) {
        self.options = options
        self.engine = engine
        self.clock = clock
        self.logger = logger
        token = options.bearerTokenFile.map { TokenFile(path: $0) }
    }

    /// Polls every interval until graceful shutdown.
    public func run() async throws {
        await repeatUntilShutdown(every: options.interval) { await self.pollOnce() }
    }

    /// One poll: resolve, read every target, hand the queue to the engine.
    @discardableResult
    public func pollOnce() async -> GatewayPollOutcome {
        let outcome = await read()
        await engine.gatewayPolled(outcome, now: clock.now())
        let failed = Set(outcome.failures.map(\.target))
        let (started, ended) = failing.targets.withLock { current -> (Set<String>, Set<String>) in
            defer { current = failed }
            return (failed.subtracting(current), current.subtracting(failed))
        }
        for failure in outcome.failures where started.contains(failure.target) {
            logger.warning("gateway poll failing; the Prometheus path still wakes models", metadata: [
                "target": "\(failure.target)", "error": "\(failure.message)"])
        }
        for target in ended.sorted() { logger.info("gateway poll recovered", metadata: ["target": "\(target)"]) }
        return outcome
    }

    /// Reads every target concurrently.
    func read() async -> GatewayPollOutcome {
        var failures: [GatewayPollFailure] = []
        var urls = options.urls
        for target in options.dnsTargets {
            switch await Self.resolve(target.host) {
            case .success(let addresses):
                urls += addresses.map { "http://\($0.contains(":") ? "[\($0)]" : $0):\(target.port)/metrics" }
            case .failure(let failure):
                failures.append(GatewayPollFailure(target: target.description, message: "DNS: \(failure)"))
            }
        }
        var headers: [String] = ["Accept: text/plain;version=0.0.4"]
        if let token {
            do {
                headers.append("Authorization: Bearer \(try token.current())")
            } catch {
                return GatewayPollOutcome(queued: [:], targets: urls.count, failures: failures + [GatewayPollFailure(target: "bearer token", message: "\(error)")])
            }
        }
        let timeoutMilliseconds = Int(options.timeout.components.seconds * 1000 + options.timeout.components.attoseconds / 1_000_000_000_000_000)
        let fetched = await withTaskGroup(of: MetricsRead.Result.self) { group in
            for url in urls {
                let read = MetricsRead(url: url, headers: headers, timeoutMilliseconds: max(timeoutMilliseconds, 1))
                group.addTask {
                    await withCheckedContinuation { continuation in
                        DispatchQueue.global().async { continuation.resume(returning: read.perform()) }
                    }
                }
            }
            var results: [MetricsRead.Result] = []
            for await result in group { results.append(result) }
            return results
        }
        // Summed over endpoint pickers, as `sum by (namespace, target_model_name)` does.
        var queued: [GatewayKey: Double] = [:]
        for result in fetched {
            switch result {
            case .success(let values):
                for (key, value) in values { queued[key] = min((queued[key] ?? 0) + value, .greatestFiniteMagnitude) }
            case .failure(let failure):
                failures.append(GatewayPollFailure(target: failure.url, message: failure.message))
            }
        }
        return GatewayPollOutcome(queued: queued, targets: urls.count, failures: failures)
    }

    /// The IPv4 and IPv6 addresses of `host` (`getaddrinfo`, on a dispatch queue: it blocks).
    static func resolve(_ host: String) async -> Result<[String], ResolveFailure> {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: resolveNow(host)) }
        }
    }

    /// Why a name did not resolve.
    struct ResolveFailure: Error, CustomStringConvertible {
        let description: String
    }

    private static func resolveNow(_ host: String) -> Result<[String], ResolveFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else { return .failure(ResolveFailure(description: String(cString: gai_strerror(status)))) }
        defer { freeaddrinfo(list) }
        var addresses: [String] = []
        var node = list
        while let info = node {
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            if info.pointee.ai_family == AF_INET, let address = info.pointee.ai_addr {
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet in
                    var raw = inet.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &raw, &buffer, socklen_t(buffer.count))
                }
            } else if info.pointee.ai_family == AF_INET6, let address = info.pointee.ai_addr {
                address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { inet in
                    var raw = inet.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count))
                }
            }
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !text.isEmpty && !addresses.contains(text) { addresses.append(text) }
            node = info.pointee.ai_next
        }
        return addresses.isEmpty ? .failure(ResolveFailure(description: "no addresses")) : .success(addresses)
    }
}

/// One synchronous GET of a metrics page with libcurl, the body scanned as it arrives (never kept).
struct MetricsRead: Sendable {
    let url: String
    let headers: [String]
    let timeoutMilliseconds: Int
    /// A body larger than this is abandoned (an endpoint picker's page is kilobytes).
    static let maxBodyBytes = 64 * 1024 * 1024

    typealias Result = Swift.Result<[GatewayKey: Double], Failure>

    /// A failed read.
    struct Failure: Error {
        let url: String
        let message: String
    }

    /// Receives the body; libcurl calls back with the address of this box as context.
    final class Sink {
        var scanner = GatewayQueueScanner()
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    func perform() -> Result {
        _ = Self.globalInit
        guard let handle = curl_easy_init() else { return .failure(Failure(url: url, message: "curl_easy_init failed")) }
        defer { curl_easy_cleanup(handle) }
        var headerList: UnsafeMutablePointer<curl_slist>?
        for header in headers { headerList = curl_slist_append(headerList, header) }
        defer { curl_slist_free_all(headerList) }
        let sink = Sink()
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }
        let code: CURLcode = withExtendedLifetime(sink) {
            rr_curl_setopt_string(handle, CURLOPT_URL, url)
            rr_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, headerList)
            rr_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            rr_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMilliseconds)
            rr_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, timeoutMilliseconds)
            rr_curl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, "")
            rr_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
            rr_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
            rr_curl_setopt_write_function(handle) { data, size, count, context in
                guard let data, let context else { return 0 }
                let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
                let length = size * count
                guard sink.scanner.bytes + length <= MetricsRead.maxBodyBytes else { return 0 }  // aborts the transfer
                data.withMemoryRebound(to: UInt8.self, capacity: length) {
                    sink.scanner.feed(UnsafeBufferPointer(start: $0, count: length))
                }
                return length
            }
            return curl_easy_perform(handle)
        }
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            return .failure(Failure(url: url, message: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail))
        }
        var status = 0
        rr_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        guard status == 200 else { return .failure(Failure(url: url, message: "HTTP \(status)")) }
        return .success(sink.scanner.finish())
    }
}
