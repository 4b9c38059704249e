import Foundation
import Logging
import Testing
import ModelConfig
import PrometheusClient
import Recommendation
@testable import RecommenderService

/// An engine that has decided once over `models` with quiet, known signals.
func decidedEngine(models: [ModelKey], config: [String: String] = [:], options: EngineOptions = EngineOptions()) async -> Engine {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let engine = Engine(options: options, logger: logger)
    let entries = config.map { RawEntry(key: $0.key, text: $0.value, location: EntryLocation(file: $0.key)) }
    await engine.loadConfig(entries, now: Instant(seconds: 0))
    await engine.recover(.success([:]), now: Instant(seconds: 0))
    var values: [ModelKey: Double] = [:]
    for key in models { values[key] = 1 }
    // A first tick makes the models known (they have series); the second answers every retention
    // period they use, as the collector would.
    var fleet = FleetSignals(
        running: .success(values.mapValues { _ in 0 }), waiting: .success([:]), ready: .success(values),
        kvCache: .success([:]), demand: .success([:]))
    await engine.tick(fleet, outcomes: [], duration: 0.01, now: Instant(seconds: 0))
    for retention in await engine.retentionsInUse { fleet.requests[retention] = .success(values.mapValues { _ in 0 }) }
    await engine.tick(fleet, outcomes: [], duration: 0.01, now: Instant(seconds: 1))
    return engine
}

struct ExpositionTests {
    @Test func promtoolAcceptsTheMetricsPage() async throws {
        let engine = await decidedEngine(models: [
            ModelKey(namespace: "prod", modelID: "meta/llama-3.1-8b"),
            ModelKey(namespace: "dev", modelID: "odd \"quoted\" \\ id"),
            ModelKey(namespace: "dev", modelID: "line\nbreak"),
        ])
        let page = await engine.renderMetrics()
        let file = NSTemporaryDirectory() + "rr-metrics-\(UUID().uuidString).txt"
        try page.write(toFile: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try which("promtool"))
        process.arguments = ["check", "metrics"]
        process.standardInput = FileHandle(forReadingAtPath: file)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "promtool: \(text)")
        #expect(text.isEmpty, "promtool lint: \(text)")
        #expect(page.contains(#"inferno_desired_replicas{namespace="dev",model_name="odd \"quoted\" \\ id",variant_name="odd--quoted----id",variantautoscaling_name="odd--quoted----id",variantautoscaling_namespace="dev"} 1"#))
    }

    /// Found by fuzzing (scripts/fuzz labels): a quote or line feed inside a larger grapheme
    /// (`"` + U+0301, `\r\n`) is one Swift `Character` but a raw byte on the wire; escaping by
    /// characters let it through, so a wake call could inject lines into `/metrics`.
    @Test(arguments: [
        ("\"\u{301}", #"\"\#u{301}"#), ("a\r\nb", "a\r\\nb"), ("\\\u{301}", "\\\\\u{301}"),
        ("\n\u{301}", "\\n\u{301}"), ("plain", "plain"), ("\u{1F600}\"", "\u{1F600}\\\""),
    ])
    func labelValuesAreEscapedByteByByteNotByCharacter(value: String, escaped: String) {
        #expect(Array(ExpositionWriter.escape(value).utf8) == Array(escaped.utf8))
    }

    @Test func aWakeCallCannotInjectLinesIntoMetrics() async throws {
        let engine = await decidedEngine(models: [])
        let api = RecommenderAPI(engine: engine, clock: SystemTime(), options: APIOptions())
        let injected = "x%22%CC%81%7D%201%0D%0Ainferno_desired_replicas%7Bnamespace%3D%22victim%22%7D%200%0D%0A"
        #expect(await api.wake(path: "/api/v1/models/ns/\(injected)/wake", authorization: nil).status == 202)
        let page = await api.metrics().body
        #expect(!page.contains("\ninferno_desired_replicas{namespace=\"victim\"}"))
        let file = NSTemporaryDirectory() + "rr-metrics-\(UUID().uuidString).txt"
        try page.write(toFile: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try which("promtool"))
        process.arguments = ["check", "metrics"]
        process.standardInput = FileHandle(forReadingAtPath: file)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "promtool: \(text)")
        let desired = page.split(separator: "\n").filter { $0.hasPrefix("inferno_desired_replicas{") }
        #expect(desired.count == 1)
    }

    @Test func everyKnownModelHasADesiredSeriesWithTheSeedLabels() async {
        let engine = await decidedEngine(
            models: [ModelKey(namespace: "llm-inference", modelID: "meta/llama-3.1-8b")],
            config: ["llama": "model_id: meta/llama-3.1-8b\nvariant_name: llama-8b-autoscaler\n",
                     "zero": "model_id: org/z\nnamespace: llm-inference\n"])
        let page = await engine.renderMetrics()
        #expect(page.contains("inferno_desired_replicas{namespace=\"llm-inference\",model_name=\"meta/llama-3.1-8b\",variant_name=\"llama-8b-autoscaler\",variantautoscaling_name=\"llama-8b-autoscaler\",variantautoscaling_namespace=\"llm-inference\"} 1\n"))
        #expect(page.contains("inferno_desired_replicas{namespace=\"llm-inference\",model_name=\"org/z\",variant_name=\"z\",variantautoscaling_name=\"z\",variantautoscaling_namespace=\"llm-inference\"} 1\n"))
        #expect(page.contains("recommender_model_state{namespace=\"llm-inference\",model_name=\"org/z\",state=\"idle\"} 1\n"))
        #expect(page.contains("recommender_model_wake_path{namespace=\"llm-inference\",model_name=\"org/z\",path=\"none\"} 1\n"))
    }
}

struct APITests {
    @Test(arguments: [
        ("/api/v1/models/prod/meta%2Fllama-3.1-8b/wake", "prod", "meta/llama-3.1-8b"),
        ("/api/v1/models/prod/meta/llama-3.1-8b/wake", "prod", "meta/llama-3.1-8b"),
        ("/api/v1/models/prod/granite/wake?x=1", "prod", "granite"),
        ("/api/v1/models/team%20a/m%20x/wake", "team a", "m x"),
    ])
    func wakePathDecodesEncodedModelIDs(path: String, namespace: String, model: String) {
        #expect(RecommenderAPI.wakeTarget(path) == ModelKey(namespace: namespace, modelID: model))
    }

    @Test(arguments: ["/api/v1/models/prod/wake", "/api/v1/models//m/wake", "/api/v1/models/prod/m", "/api/v1/other/prod/m/wake"])
    func malformedWakePathsAreRejected(path: String) {
        #expect(RecommenderAPI.wakeTarget(path) == nil)
    }

    @Test func wakeWithoutTheRightTokenIs401() async throws {
        let tokenFile = NSTemporaryDirectory() + "rr-token-\(UUID().uuidString)"
        try "s3cret\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let api = RecommenderAPI(engine: await decidedEngine(models: []), clock: SystemTime(), options: APIOptions(wakeTokenFile: tokenFile))
        #expect(await api.wake(path: "/api/v1/models/ns/m/wake", authorization: nil).status == 401)
        #expect(await api.wake(path: "/api/v1/models/ns/m/wake", authorization: "Bearer nope").status == 401)
        #expect(await api.wake(path: "/api/v1/models/ns/m/wake", authorization: "Bearer s3cret").status == 202)
    }

    @Test func wakeOfAnUnknownModelIs404OnlyWhenKnownModelsOnly() async {
        let strict = RecommenderAPI(
            engine: await decidedEngine(models: [ModelKey(namespace: "ns", modelID: "known")], options: EngineOptions(wakeKnownModelsOnly: true)),
            clock: SystemTime(), options: APIOptions())
        #expect(await strict.wake(path: "/api/v1/models/ns/unknown/wake", authorization: nil).status == 404)
        #expect(await strict.wake(path: "/api/v1/models/ns/known/wake", authorization: nil).status == 202)
        let open = RecommenderAPI(engine: await decidedEngine(models: []), clock: SystemTime(), options: APIOptions())
        let reply = await open.wake(path: "/api/v1/models/ns/org%2Fnew/wake", authorization: nil)
        #expect(reply.status == 202)
        #expect(reply.body == #"{"model":"org/new","namespace":"ns","outcome":"adopted","desired":1,"known_namespaces":[]}"#)
    }

    @Test func floodOfWakeCallsIs429WithRetryAfter() async {
        let api = RecommenderAPI(engine: await decidedEngine(models: []), clock: SystemTime(), options: APIOptions(wakeRatePerSecond: 1, wakeBurst: 5))
        var statuses: [Int] = []
        for _ in 0..<8 { statuses.append(await api.wake(path: "/api/v1/models/ns/m/wake", authorization: nil).status) }
        #expect(statuses == [202, 202, 202, 202, 202, 429, 429, 429])
        #expect(await api.wake(path: "/api/v1/models/ns/m/wake", authorization: nil).headers["Retry-After"] == "1")
    }

    @Test func wakeIsVisibleOnMetricsImmediately() async {
        let key = ModelKey(namespace: "ns", modelID: "org/sleepy")
        let engine = await decidedEngine(models: [], config: ["s": "model_id: org/sleepy\nnamespace: ns\nenable_scale_to_zero: true\n"])
        await engine.recover(.success([key: 0]), now: Instant(seconds: 1))
        // Put the model at zero: it was recovered at 0 and is quiet.
        await engine.tick(FleetSignals(
            requests: [ConfigDuration(seconds: 600): .success([:])], running: .success([:]), waiting: .success([:]),
            ready: .success([:]), kvCache: .success([:]), demand: .success([:])), outcomes: [], duration: 0, now: Instant(seconds: 2))
        #expect(await engine.decision(for: key)?.desired == 0)
        let api = RecommenderAPI(engine: engine, clock: SystemTime(), options: APIOptions())
        #expect(await api.wake(path: "/api/v1/models/ns/org%2Fsleepy/wake", authorization: nil).status == 202)
        let page = await api.metrics().body
        #expect(page.contains("inferno_desired_replicas{namespace=\"ns\",model_name=\"org/sleepy\",variant_name=\"sleepy\",variantautoscaling_name=\"sleepy\",variantautoscaling_namespace=\"ns\"} 1\n"))
        #expect(await engine.decision(for: key)?.reason == .wake)
    }

    @Test func readyzIs503UntilATickDecided() async {
        var logger = Logger(label: "t")
        logger.logLevel = .critical
        let engine = Engine(options: EngineOptions(), logger: logger)
        let api = RecommenderAPI(engine: engine, clock: SystemTime(), options: APIOptions())
        let before = await api.readyz()
        #expect(before.status == 503)
        #expect(before.body == "not ready\nconfig: not loaded\nrecovery: waiting for Prometheus\ntick: none decided yet\n")
        let after = await RecommenderAPI(engine: await decidedEngine(models: []), clock: SystemTime(), options: APIOptions()).readyz()
        #expect(after.status == 200)
    }
}

struct RecommendationsAPITests {
    @Test func recommendationsShowConfigSourcesSignalsAndDecision() async throws {
        let engine = await decidedEngine(
            models: [ModelKey(namespace: "prod", modelID: "meta/llama-3.1-8b")],
            config: ["default": "enable_scale_to_zero: true\nretention_period: 15m\n", "llama": "model_id: meta/llama-3.1-8b\nretention_period: 5m\n"])
        let reply = await RecommenderAPI(engine: engine, clock: SystemTime(), options: APIOptions()).recommendations()
        #expect(reply.status == 200)
        let object = try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any]
        let model = try #require((object?["models"] as? [[String: Any]])?.first)
        #expect(model["model_id"] as? String == "meta/llama-3.1-8b")
        #expect(model["namespace"] as? String == "prod")
        #expect(model["desired"] as? Int == 1)
        #expect(model["reason"] as? String == "active")
        #expect(model["state"] as? String == "idle")
        let config = try #require(model["config"] as? [String: Any])
        #expect(config["retention_seconds"] as? Double == 300)
        #expect((config["sources"] as? [String: String]) == [
            "enable_scale_to_zero": "default", "retention_period": "override:llama", "variant_name": "derived",
            "min_replicas": "system", "max_replicas": "system", "target_concurrency": "system", "group": "system",
            "aliases": "system", "wake_path": "system", "keep_alive": "system", "cold_start_cost": "system",
            "min_retention_period": "system", "prewarm": "derived", "target_kv_cache_utilization": "system",
            "max_waiting_per_replica": "system",
        ])
        let signals = try #require(model["signals"] as? [String: Any])
        #expect(signals["ready"] as? Double == 1)
        #expect(signals["model_request_count"] as? Double == 0)
        #expect(signals.keys.sorted() == [
            "demand", "gateway_requests", "gateway_seen", "kv_cache_usage", "model_request_count", "ready", "running", "waiting",
        ])
        // The evidence is building: observed since the first complete tick, zero not before it + R,
        // and nothing is known that could bring it back yet.
        #expect(model["observed_since"] as? Double == 1)
        #expect(model["zero_at"] as? Double == 301)
        #expect(model["wake_path"] as? String == "none")
    }
}

struct QueryBuilderTests {
    @Test func selectorsAndRangesAreSubstitutedIntoEveryTemplate() {
        let builder = QueryBuilder(selector: #"job="vllm""#, gatewaySelector: #"job="epp""#, recommenderSelector: #"job="rr""#)
        #expect(builder.query(.requests, range: ConfigDuration(seconds: 90))
            == #"sum by (namespace, model_name) (increase(vllm:request_success_total{job="vllm"}[1m30s])) or label_replace(min by (namespace, model_name) (count_over_time(vllm:request_success_total{job="vllm"}[1m30s]) and vllm:request_success_total{job="vllm"} and min_over_time(vllm:request_success_total{job="vllm"}[1m30s]) > 0 or max by (namespace, model_name) (count_over_time(vllm:request_success_total{job="vllm"}[1m30s]))), "rr_window_samples", "true", "", "") or label_replace(sum by (namespace, model_name) (resets(vllm:request_success_total{job="vllm"}[1m30s])) > 0, "rr_window_resets", "true", "", "") or label_replace(count by (namespace, model_name) (count_over_time(vllm:request_success_total{job="vllm"}[1m30s]) unless vllm:request_success_total{job="vllm"}), "rr_window_ended", "true", "", "")"#)
        #expect(builder.query(.ready) == #"count by (namespace, model_name) (group by (namespace, model_name, pod, instance) (vllm:num_requests_running{job="vllm"}))"#)
        #expect(builder.query(.demand)
            == #"sum by (namespace, target_model_name) (max_over_time(llm_d_epp_flow_control_queue_size{job="epp"}[1m])) or sum by (namespace, target_model_name) (max_over_time(inference_extension_flow_control_queue_size{job="epp"}[1m]))"#)
        #expect(builder.query(.gatewayRequests)
            == #"sum by (namespace, model_name, target_model_name) (increase(inference_objective_request_total{job="epp"}[1m]) or increase(inference_objective_request_error_total{error_code!~"BadRequest|BadConfiguration|ModelServerError",job="epp"}[1m])) or sum by (namespace, model_name, target_model_name) (increase(inference_model_request_total{job="epp"}[1m]) or increase(inference_model_request_error_total{error_code!~"BadRequest|BadConfiguration|ModelServerError",job="epp"}[1m])) or label_replace(sum by (namespace, model_name, target_model_name) (last_over_time(inference_objective_request_total{job="epp"}[1m]) or last_over_time(inference_model_request_total{job="epp"}[1m])), "rr_present", "true", "", "") or label_replace(sum by (namespace, model_name, target_model_name) (last_over_time(inference_objective_request_error_total{error_code!~"BadRequest|BadConfiguration|ModelServerError",job="epp"}[1m]) or last_over_time(inference_model_request_error_total{error_code!~"BadRequest|BadConfiguration|ModelServerError",job="epp"}[1m])), "rr_present", "errors", "", "")"#)
        // With the scrape interval set: the requests window is R + one scrape, the gateway's 3 scrapes.
        let scraped = QueryBuilder(scrapeInterval: ConfigDuration(seconds: 15))
        #expect(scraped.query(.requests, range: ConfigDuration(seconds: 600)).contains("[10m15s]"))
        #expect(scraped.query(.gatewayRequests).contains("[45s]"))
        // Ticks farther apart than three scrapes: the window spans a tick and two scrapes, so a
        // rise between two ticks is in one of their windows.
        #expect(QueryBuilder(scrapeInterval: ConfigDuration(seconds: 1), tickInterval: ConfigDuration(seconds: 5)).query(.gatewayRequests).contains("[7s]"))
        #expect(QueryBuilder(scrapeInterval: ConfigDuration(seconds: 15), tickInterval: ConfigDuration(seconds: 15)).query(.gatewayRequests).contains("[45s]"))
        // The queue's largest value since the last tick: a tick and a scrape.
        #expect(QueryBuilder(scrapeInterval: ConfigDuration(seconds: 1), tickInterval: ConfigDuration(seconds: 5)).query(.demand).contains("[6s]"))
        #expect(QueryBuilder(scrapeInterval: ConfigDuration(seconds: 30), tickInterval: ConfigDuration(seconds: 15)).query(.demand).contains("[1m]"))
        #expect(builder.query(.recovery, range: ConfigDuration(seconds: 86_400))
            == #"max by (namespace, model_name) (last_over_time(inferno_desired_replicas{job="rr"}[1d]))"#)
    }

    @Test func aReplacedTemplateIsUsedAsGiven() {
        var templates = QueryTemplates()
        templates.running = "sum by (namespace, model_name) (model:running:sum{$SELECTOR})"
        #expect(QueryBuilder(templates: templates, selector: "cluster=\"a\"").query(.running)
            == #"sum by (namespace, model_name) (model:running:sum{cluster="a"})"#)
    }

    /// Placeholders are replaced in one pass: a `$` that names none is kept, a selector that holds a
    /// placeholder's text is used as written, and `$RANGE` stays when no range is given.
    @Test func substitutionIsOnePassAndKeepsWhatItDoesNotKnow() {
        var templates = QueryTemplates()
        templates.running = "sum by (namespace, model_name) (rate(x{$SELECTOR}[$RANGE])) + $OTHER + $"
        let builder = QueryBuilder(templates: templates, selector: #"label="$RANGE""#)
        #expect(builder.query(.running) == #"sum by (namespace, model_name) (rate(x{label="$RANGE"}[$RANGE])) + $OTHER + $"#)
        #expect(builder.query(.running, range: ConfigDuration(seconds: 30)) == #"sum by (namespace, model_name) (rate(x{label="$RANGE"}[30s])) + $OTHER + $"#)
    }
}
