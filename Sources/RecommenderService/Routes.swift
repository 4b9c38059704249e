import Foundation
import Hummingbird
import Logging
import ModelConfig
import NIOCore
import PrometheusClient
import Synchronization

/// Settings of the HTTP API.
public struct APIOptions: Sendable {
    /// A file holding the bearer token wake calls must present; nil accepts any caller.
    public var wakeTokenFile: String?
    /// Wake calls allowed per second, all callers together (429 beyond, with Retry-After).
    public var wakeRatePerSecond: Double
    /// Burst of wake calls allowed above the rate.
    public var wakeBurst: Double

    /// Creates options.
    public init(wakeTokenFile: String? = nil, wakeRatePerSecond: Double = 50, wakeBurst: Double = 100) {
        self.wakeTokenFile = wakeTokenFile
        self.wakeRatePerSecond = wakeRatePerSecond
        self.wakeBurst = wakeBurst
    }
}

/// A token bucket: `take()` is false when the caller must slow down.
final class TokenBucket: Sendable {
    private let state: Mutex<(tokens: Double, last: Double)>
    private let rate: Double
    private let burst: Double

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = max(1, burst)
        state = Mutex((max(1, burst), Date().timeIntervalSince1970))
    }

    func take(now: Double = Date().timeIntervalSince1970) -> Bool {
        state.withLock { s in
            s.tokens = min(burst, s.tokens + (now - s.last) * rate)
            s.last = now
            guard s.tokens >= 1 else { return false }
            s.tokens -= 1
            return true
        }
    }
}

/// The HTTP handlers as plain functions of the engine: testable without a server.
public struct RecommenderAPI: Sendable {
    let engine: Engine
    let clock: any TimeSource
    let token: TokenFile?
    let bucket: TokenBucket
    let refusalLog = RefusalLog(every: 10)

    /// Creates the API.
    public init(engine: Engine, clock: any TimeSource, options: APIOptions) {
        self.engine = engine
        self.clock = clock
        token = options.wakeTokenFile.map { TokenFile(path: $0) }
        bucket = TokenBucket(rate: options.wakeRatePerSecond, burst: options.wakeBurst)
    }

    /// A response as status, content type and body.
    public struct Reply: Sendable, Equatable {
        /// HTTP status.
        public let status: Int
        /// Content type.
        public let contentType: String
        /// Body bytes, as sent.
        public let bytes: [UInt8]
        /// Extra headers.
        public var headers: [String: String] = [:]

        /// A reply with a text body.
        public init(status: Int, contentType: String, body: String) {
            self.init(status: status, contentType: contentType, bytes: Array(body.utf8))
        }

        /// A reply with a byte body (the metrics page is written as bytes).
        public init(status: Int, contentType: String, bytes: [UInt8]) {
            self.status = status
            self.contentType = contentType
            self.bytes = bytes
        }

        /// The body as text.
        public var body: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// `GET /metrics`.
    public func metrics() async -> Reply {
        Reply(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", bytes: await engine.renderMetricsForScrape().bytes)
    }

    /// `GET /healthz`: the process is alive.
    public func healthz() -> Reply { Reply(status: 200, contentType: "text/plain", body: "ok\n") }

    /// `GET /readyz`: 200 once config is loaded, recovery done and a tick decided; detail lines follow.
    public func readyz() async -> Reply {
        let (ready, detail) = await engine.readiness()
        let body = ([ready ? "ok" : "not ready"] + detail).joined(separator: "\n") + "\n"
        return Reply(status: ready ? 200 : 503, contentType: "text/plain", body: body)
    }

    /// `GET /api/v1/recommendations`.
    public func recommendations() async -> Reply {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(["models": await engine.recommendations()])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return Reply(status: 200, contentType: "application/json", body: body)
    }

    /// `POST /api/v1/models/{namespace}/{model}/wake`, `path` as received (the model id may be
    /// percent-encoded, `%2F` for `/`, or not). `caller` is the peer address, for the log line.
    ///
    /// 202 with `{"model", "namespace", "outcome": "woken"|"adopted", "desired"}` (an adopted
    /// model also lists `known_namespaces`, where the same id is known: a typo shows there);
    /// 401 without the token, 404 for a bad path or an unknown model under
    /// `--wake-known-models-only`, 429 over the rate or the adoption bound, with a `reason`.
    public func wake(path: String, authorization: String?, caller: String? = nil) async -> Reply {
        guard let key = Self.wakeTarget(path) else {
            return await refuse(.badRequest, 404, "expected POST /api/v1/models/{namespace}/{model}/wake with a percent-encoded model id", key: nil, caller: caller)
        }
        if let token {
            guard let expected = try? token.current(), !expected.isEmpty else {
                return await refuse(.tokenUnavailable, 500, "wake token file \(token.path) cannot be read", key: key, caller: caller)
            }
            guard Self.constantTimeEqual(Array((authorization ?? "").utf8), Array("Bearer \(expected)".utf8)) else {
                return await refuse(.unauthorized, 401, "a valid bearer token is required", key: key, caller: caller)
            }
        }
        guard bucket.take() else {
            var reply = await refuse(.rateLimited, 429, "too many wake calls; retry later", key: key, caller: caller)
            reply.headers["Retry-After"] = "1"
            return reply
        }
        let outcome = await engine.wake(key, now: clock.now())
        let model = LineLogHandler.jsonString(key.modelID), namespace = LineLogHandler.jsonString(key.namespace)
        switch outcome {
        case .woken(let desired):
            log(key, caller: caller, outcome: "woken", level: .info, ["desired": "\(desired)"])
            return Reply(
                status: 202, contentType: "application/json",
                body: "{\"model\":\(model),\"namespace\":\(namespace),\"outcome\":\"woken\",\"desired\":\(desired)}")
        case .adopted(let desired, let elsewhere):
            log(key, caller: caller, outcome: "adopted", level: elsewhere.isEmpty ? .info : .warning, [
                "desired": "\(desired)", "known_namespaces": "\(elsewhere.joined(separator: ","))",
            ])
            let known = elsewhere.map(LineLogHandler.jsonString).joined(separator: ",")
            return Reply(
                status: 202, contentType: "application/json",
                body: "{\"model\":\(model),\"namespace\":\(namespace),\"outcome\":\"adopted\",\"desired\":\(desired),\"known_namespaces\":[\(known)]}")
        case .unknownModel:
            logRefusal(.unknownModel, 404, key: key, caller: caller)
            return Self.error(404, "unknown model \(key.modelID) in namespace \(key.namespace)", reason: .unknownModel)
        case .adoptionLimit(let limit):
            logRefusal(.adoptionLimit, 429, key: key, caller: caller)
            var reply = Self.error(
                429,
                "adoption limit reached: \(limit) models adopted from wake calls are known; configure \(key.modelID) in namespace \(key.namespace) in the model ConfigMap, or raise --wake-max-adopted",
                reason: .adoptionLimit, extra: ",\"limit\":\(limit)")
            reply.headers["Retry-After"] = "60"
            return reply
        }
    }

    /// Counts and logs a refusal, and builds the reply.
    private func refuse(_ reason: WakeRejection, _ status: Int, _ message: String, key: ModelKey?, caller: String?) async -> Reply {
        await engine.rejectWake(reason)
        logRefusal(reason, status, key: key, caller: caller)
        return Self.error(status, message, reason: reason)
    }

    /// Logs a refusal: at most one line per reason every 10 s, with the number held back.
    private func logRefusal(_ reason: WakeRejection, _ status: Int, key: ModelKey?, caller: String?) {
        if let suppressed = refusalLog.admit(reason) {
            var metadata: Logger.Metadata = ["outcome": "refused", "reason": "\(reason.rawValue)", "status": "\(status)", "caller": "\(caller ?? "unknown")"]
            if let key { metadata["model"] = "\(key.modelID)"; metadata["namespace"] = "\(key.namespace)" }
            if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
            engine.logger.warning("wake refused", metadata: metadata)
        }
    }

    private func log(_ key: ModelKey, caller: String?, outcome: String, level: Logger.Level, _ extra: Logger.Metadata) {
        var metadata: Logger.Metadata = [
            "model": "\(key.modelID)", "namespace": "\(key.namespace)", "outcome": "\(outcome)", "caller": "\(caller ?? "unknown")",
        ]
        metadata.merge(extra) { $1 }
        engine.logger.log(level: level, "wake", metadata: metadata)
    }

    /// Compares two byte strings in time that depends only on their lengths, not on where they
    /// first differ (a token cannot be guessed byte by byte from response times).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        difference |= UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }

    /// Parses `/api/v1/models/{namespace}/{model…}/wake` (see ``WakeTarget``).
    static func wakeTarget(_ rawPath: String) -> ModelKey? { WakeTarget.parse(rawPath) }

    static func error(_ status: Int, _ message: String, reason: WakeRejection? = nil, extra: String = "") -> Reply {
        let reasonField = reason.map { ",\"reason\":\"\($0.rawValue)\"" } ?? ""
        return Reply(status: status, contentType: "application/json", body: "{\"error\":\(LineLogHandler.jsonString(message))\(reasonField)\(extra)}")
    }

    /// The Hummingbird router serving these handlers.
    public func router() -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.get("/metrics") { _, _ in await self.metrics().response }
        router.get("/healthz") { _, _ in self.healthz().response }
        router.get("/readyz") { _, _ in await self.readyz().response }
        router.get("/api/v1/recommendations") { _, _ in await self.recommendations().response }
        router.get("/") { request, _ in await self.fleetPage(query: request.uri.query ?? "").response }
        router.get("/models/**") { request, _ in await self.modelPage(path: request.head.path ?? request.uri.path).response }
        router.post("/api/v1/models/**") { request, context in
            var caller = context.remoteAddress.map { address in
                address.ipAddress.map { ip in address.port.map { "\(ip):\($0)" } ?? ip } ?? "\(address)"
            } ?? "unknown"
            if let forwarded = request.headers[.init("X-Forwarded-For")!] { caller += " (forwarded for \(forwarded))" }
            return await self.wake(
                path: request.head.path ?? request.uri.path, authorization: request.headers[.authorization], caller: caller
            ).response
        }
        return router
    }
}

/// The request context of the API: Hummingbird's basic context plus the peer's address, for the
/// wake log line.
public struct APIRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The address of the connected peer (a proxy's, behind one; see `X-Forwarded-For`).
    public let remoteAddress: SocketAddress?

    /// Creates the context for a request on `source.channel`.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Admits one log line per reason every `every` seconds and counts the ones it held back, so a
/// flood of refused wake calls cannot flood the log.
final class RefusalLog: Sendable {
    private let every: Double
    private let state = Mutex<[WakeRejection: (last: Double, suppressed: Int)]>([:])

    init(every: Double) { self.every = every }

    /// nil when the line is held back; else how many were held back since the last one.
    func admit(_ reason: WakeRejection, now: Double = Date().timeIntervalSince1970) -> Int? {
        state.withLock { lines in
            if let entry = lines[reason], now - entry.last < every {
                lines[reason] = (entry.last, entry.suppressed + 1)
                return nil
            }
            let suppressed = lines[reason]?.suppressed ?? 0
            lines[reason] = (now, 0)
            return suppressed
        }
    }
}

extension RecommenderAPI.Reply {
    var response: Response {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        for (name, value) in headers {
            if let field = HTTPFields.Element.Name(name) { fields[field] = value }
        }
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
