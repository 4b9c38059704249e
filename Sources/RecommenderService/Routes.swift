import Foundation
import Hummingbird
import ModelConfig
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
        Reply(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", bytes: await engine.renderMetricsBytes().bytes)
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
    /// percent-encoded, `%2F` for `/`, or not).
    public func wake(path: String, authorization: String?) async -> Reply {
        guard let key = Self.wakeTarget(path) else {
            return Self.error(404, "expected POST /api/v1/models/{namespace}/{model}/wake with a percent-encoded model id")
        }
        if let token {
            guard let expected = try? token.current(), !expected.isEmpty else {
                return Self.error(500, "wake token file \(token.path) cannot be read")
            }
            guard authorization == "Bearer \(expected)" else {
                return Self.error(401, "a valid bearer token is required")
            }
        }
        guard bucket.take() else {
            var reply = Self.error(429, "too many wake calls; retry later")
            reply.headers["Retry-After"] = "1"
            return reply
        }
        switch await engine.wake(key, now: clock.now()) {
        case .woken(let desired):
            let body = "{\"namespace\":\(LineLogHandler.jsonString(key.namespace)),\"model_id\":\(LineLogHandler.jsonString(key.modelID)),\"desired\":\(desired)}"
            return Reply(status: 202, contentType: "application/json", body: body)
        case .unknownModel:
            return Self.error(404, "unknown model \(key.modelID) in namespace \(key.namespace)")
        }
    }

    /// Parses `/api/v1/models/{namespace}/{model…}/wake`: the model is everything between the
    /// namespace and `wake`, percent-decoded, so `meta%2Fllama-3.1-8b` and `meta/llama-3.1-8b` agree.
    static func wakeTarget(_ rawPath: String) -> ModelKey? {
        let path = rawPath.split(separator: "?", maxSplits: 1).first.map(String.init) ?? rawPath
        let prefix = "/api/v1/models/"
        guard path.hasPrefix(prefix), path.hasSuffix("/wake") else { return nil }
        let middle = path.dropFirst(prefix.count).dropLast("/wake".count)
        let parts = middle.split(separator: "/", omittingEmptySubsequences: false).map { String($0).removingPercentEncoding ?? String($0) }
        guard parts.count >= 2, !parts[0].isEmpty else { return nil }
        let model = parts.dropFirst().joined(separator: "/")
        guard !model.isEmpty, !model.hasPrefix("/"), !model.hasSuffix("/") else { return nil }
        return ModelKey(namespace: parts[0], modelID: model)
    }

    static func error(_ status: Int, _ message: String) -> Reply {
        Reply(status: status, contentType: "application/json", body: "{\"error\":\(LineLogHandler.jsonString(message))}")
    }

    /// The Hummingbird router serving these handlers.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/metrics") { _, _ in await self.metrics().response }
        router.get("/healthz") { _, _ in self.healthz().response }
        router.get("/readyz") { _, _ in await self.readyz().response }
        router.get("/api/v1/recommendations") { _, _ in await self.recommendations().response }
        router.post("/api/v1/models/**") { request, _ in
            await self.wake(path: request.head.path ?? request.uri.path, authorization: request.headers[.authorization]).response
        }
        return router
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
