import Foundation
import Hummingbird
import Logging
import ModelConfig
import Recommendation
import Synchronization
import Testing
@testable import RecommenderService
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Log lines kept for assertions.
final class CapturedLogs: Sendable {
    let lines = Mutex<[(level: Logger.Level, message: String, metadata: [String: String])]>([])

    var logger: Logger {
        Logger(label: "captured") { _ in Handler(logs: self) }
    }

    func matching(_ message: String) -> [[String: String]] {
        lines.withLock { $0.filter { $0.message == message }.map(\.metadata) }
    }

    struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }.mapValues { "\($0)" }
            logs.lines.withLock { $0.append((event.level, event.message.description, merged)) }
        }
    }
}

/// The wake API cannot be abused: constant-time token check, a bound on adopted models, a body
/// that says what happened, a counter per refusal reason and a log line per wake with the caller.
@Suite(.serialized)
struct WakeAPITests {
    @Test(arguments: [
        ("Bearer s3cret", "Bearer s3cret", true), ("Bearer s3cret", "Bearer s3creT", false),
        ("Bearer s3cret", "bearer s3cret", false), ("Bearer s3cret", "Bearer s3cre", false),
        ("Bearer s3cret", "Bearer s3cret ", false), ("", "", true), ("", "x", false),
        ("Bearer s3cret", "", false),
    ])
    func tokensCompareEqualOnlyWhenEveryByteMatches(a: String, b: String, equal: Bool) {
        #expect(RecommenderAPI.constantTimeEqual(Array(a.utf8), Array(b.utf8)) == equal)
        #expect(RecommenderAPI.constantTimeEqual(Array(b.utf8), Array(a.utf8)) == equal)
    }

    @Test func aKnownModelIsWokenAndAnUnknownOneAdoptedNamingWhereItIsKnown() async {
        let engine = await decidedEngine(models: [ModelKey(namespace: "prod", modelID: "org/llama")])
        let api = RecommenderAPI(engine: engine, clock: SystemTime(), options: APIOptions())
        let woken = await api.wake(path: "/api/v1/models/prod/org%2Fllama/wake", authorization: nil)
        #expect(woken.status == 202)
        #expect(woken.body == #"{"model":"org/llama","namespace":"prod","outcome":"woken","desired":1}"#)
        // A namespace typo: the id is known elsewhere, the reply says so.
        let typo = await api.wake(path: "/api/v1/models/prdo/org%2Fllama/wake", authorization: nil)
        #expect(typo.status == 202)
        #expect(typo.body == #"{"model":"org/llama","namespace":"prdo","outcome":"adopted","desired":1,"known_namespaces":["prod"]}"#)
        // Waking it again is a known model now.
        #expect(await api.wake(path: "/api/v1/models/prdo/org%2Fllama/wake", authorization: nil).body.contains(#""outcome":"woken""#))
    }

    @Test func adoptionStopsAtTheBoundWithA429AndACounterWhileKnownModelsStillWake() async {
        let engine = await decidedEngine(
            models: [ModelKey(namespace: "ns", modelID: "known")], options: EngineOptions(wakeMaxAdopted: 3))
        let api = RecommenderAPI(engine: engine, clock: SystemTime(), options: APIOptions(wakeRatePerSecond: 1000, wakeBurst: 1000))
        var statuses: [Int] = []
        for index in 0..<6 { statuses.append(await api.wake(path: "/api/v1/models/ns/unknown-\(index)/wake", authorization: nil).status) }
        #expect(statuses == [202, 202, 202, 429, 429, 429])
        let refused = await api.wake(path: "/api/v1/models/ns/unknown-9/wake", authorization: nil)
        #expect(refused.status == 429)
        #expect(refused.headers["Retry-After"] == "60")
        #expect(refused.body == #"{"error":"adoption limit reached: 3 models adopted from wake calls are known; configure unknown-9 in namespace ns in the model ConfigMap, or raise --wake-max-adopted","reason":"adoption_limit","limit":3}"#)
        #expect(await api.wake(path: "/api/v1/models/ns/known/wake", authorization: nil).status == 202)
        #expect(await api.wake(path: "/api/v1/models/ns/unknown-1/wake", authorization: nil).status == 202)  // adopted already: known
        #expect(await engine.modelCount == 4)
        let page = await api.metrics().body
        #expect(page.contains("recommender_wake_rejected_total{reason=\"adoption_limit\"} 4\n"))
        #expect(page.contains("recommender_wake_calls_total 5\n"))
        #expect(page.contains("recommender_known_models 4\n"))
    }

    @Test func everyRefusalIsCountedByReason() async throws {
        let tokenFile = NSTemporaryDirectory() + "rr-token-\(UUID().uuidString)"
        try "s3cret\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let engine = await decidedEngine(models: [], options: EngineOptions(wakeKnownModelsOnly: true))
        let api = RecommenderAPI(engine: engine, clock: SystemTime(), options: APIOptions(wakeTokenFile: tokenFile, wakeRatePerSecond: 0.001, wakeBurst: 1))
        #expect(await api.wake(path: "/api/v1/models/ns/m/wake", authorization: "Bearer nope").status == 401)
        #expect(await api.wake(path: "/api/v1/models/ns/m/wake", authorization: nil).status == 401)
        #expect(await api.wake(path: "/api/v1/models/ns/wake", authorization: "Bearer s3cret").status == 404)
        #expect(await api.wake(path: "/api/v1/models/ns/m/wake", authorization: "Bearer s3cret").body
            == #"{"error":"unknown model m in namespace ns","reason":"unknown_model"}"#)
        #expect(await api.wake(path: "/api/v1/models/ns/m/wake", authorization: "Bearer s3cret").body
            == #"{"error":"too many wake calls; retry later","reason":"rate_limited"}"#)
        let page = await api.metrics().body
        for (reason, count) in [("unauthorized", 2), ("bad_request", 1), ("unknown_model", 1), ("rate_limited", 1), ("adoption_limit", 0), ("token_unavailable", 0)] {
            #expect(page.contains("recommender_wake_rejected_total{reason=\"\(reason)\"} \(count)\n"), "\(reason)")
        }
    }

    /// A model id from a wake call is logged: it must not break or forge a logfmt line. Escaping
    /// by `Character` missed `\r\n` and `"` + a combining accent (one character each).
    @Test(arguments: [
        ("plain", "plain"), ("", #""""#), ("a b", #""a b""#), ("a=b", #""a=b""#), ("a\r\nb", #""a\r\nb""#),
        ("x\"\u{301}", "\"x\\\"\u{301}\""), ("a\\b", #""a\\b""#), ("tab\there", #""tab\there""#),
        ("bell\u{7}", #""bell\u{7}""#), ("next\u{85}line", #""next\u{85}line""#), ("é", "é"),
        ("x\nmsg=forged level=error", #""x\nmsg=forged level=error""#),
    ])
    func logfmtValuesCannotBreakTheLine(value: String, logged: String) {
        #expect(logfmtEscaped(value) == logged)
        #expect(!logfmtEscaped(value).unicodeScalars.contains { $0.value < 0x20 })
    }

    @Test func aFloodOfRefusalsLogsOneLinePerReasonEveryTenSeconds() {
        let log = RefusalLog(every: 10)
        #expect(log.admit(.unauthorized, now: 100) == 0)
        #expect(log.admit(.unauthorized, now: 101) == nil)
        #expect(log.admit(.unauthorized, now: 109.9) == nil)
        #expect(log.admit(.rateLimited, now: 105) == 0)
        #expect(log.admit(.unauthorized, now: 110) == 2)
        #expect(log.admit(.unauthorized, now: 111) == nil)
    }

    @Test func eachWakeOverHTTPLogsTheCallersAddress() async throws {
        let logs = CapturedLogs()
        let engine = Engine(options: EngineOptions(), logger: logs.logger)
        await engine.loadConfig([], now: Instant(seconds: 0))
        await engine.recover(.success([:]), now: Instant(seconds: 0))
        let api = RecommenderAPI(engine: engine, clock: SystemTime(), options: APIOptions())
        let port = try freePort()
        var quiet = Logger(label: "http")
        quiet.logLevel = .critical
        let app = Application(router: api.router(), configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: quiet)
        let server = Task { try await app.runService() }
        defer { server.cancel() }
        try await waitUntil(timeout: 10) { await httpStatus("http://127.0.0.1:\(port)/healthz") == 200 }

        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/v1/models/team/org%2Fm/wake")!)
        request.httpMethod = "POST"
        request.setValue("10.1.2.3", forHTTPHeaderField: "X-Forwarded-For")
        let (body, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 202)
        #expect(String(decoding: body, as: UTF8.self) == #"{"model":"org/m","namespace":"team","outcome":"adopted","desired":1,"known_namespaces":[]}"#)
        let lines = logs.matching("wake")
        #expect(lines.count == 1)
        let line = try #require(lines.first)
        #expect(line["model"] == "org/m")
        #expect(line["namespace"] == "team")
        #expect(line["outcome"] == "adopted")
        let caller = try #require(line["caller"])
        #expect(caller.hasPrefix("127.0.0.1:"), "\(caller)")
        #expect(caller.hasSuffix(" (forwarded for 10.1.2.3)"), "\(caller)")
    }
}

/// A wake the service accepts before it decides anything (recovery still waiting for Prometheus)
/// is remembered and applied by the first decision, and nothing is exported before it: the model's
/// value is unknown until recovery (it may serve on N replicas; exporting 1 would scale it down).
struct WakeBeforeRecoveryTests {
    @Test func aWakeBeforeRecoveryExportsNothingAndIsAppliedByTheFirstDecision() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let engine = Engine(options: EngineOptions(), logger: logger)
        await engine.loadConfig([RawEntry(key: "default", text: "enable_scale_to_zero: true\nretention_period: 20s", location: EntryLocation(file: "default"))], now: Instant(seconds: 0))
        let key = ModelKey(namespace: "prod", modelID: "org/llama")

        #expect(await engine.wake(key, now: Instant(seconds: 1)) == .adopted(desired: 1, knownNamespaces: []))
        #expect(await engine.renderMetrics().contains("inferno_desired_replicas{") == false)

        // Recovery reads the value Prometheus held from before the wake (0): the wake still wins.
        await engine.recover(.success([key: 0]), now: Instant(seconds: 2))
        let fleet = FleetSignals(
            running: .success([:]), waiting: .success([:]), ready: .success([key: 0]),
            kvCache: .success([:]), demand: .success([:]))
        await engine.tick(fleet, outcomes: [], duration: 0.01, now: Instant(seconds: 3))
        let decision = try #require(await engine.decision(for: key))
        #expect(decision.desired == 1)
        #expect(decision.reason == .wake)
        let line = try #require(await engine.renderMetrics().split(separator: "\n").first { $0.hasPrefix("inferno_desired_replicas{") })
        #expect(line.contains(#"model_name="org/llama""#) && line.hasSuffix(" 1"))
    }
}
