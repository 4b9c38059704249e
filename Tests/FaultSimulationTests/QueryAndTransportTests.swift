import ModelConfig
import PrometheusClient
import RecommenderService
import Testing
@testable import FaultSimulation

/// The simulated TSDB answers every query the recommender sends, through the real client, and
/// fails loudly on a query it cannot answer.
@Suite struct QueryAndTransportTests {
    /// Every template the simulation sends (the service's, but the two `SimulationQueries`
    /// replaces; the learned keep-alive recovery is not part of the simulated restarts).
    @Test(arguments: Signal.allCases.filter { $0 != .recoveryLearned })
    func everyTemplateTheSimulationSendsParses(_ signal: Signal) throws {
        let query = QueryBuilder(templates: SimulationQueries.templates, selector: "job=\"vllm\"").query(signal, range: ConfigDuration(seconds: 600), offset: ConfigDuration(seconds: 300))
        _ = try QueryParser.parse(query)
    }

    @Test func theGatewayRequestCounterTemplateParsesWithoutAChange() throws {
        let expr = try QueryParser.parse("sum by (namespace, target_model_name) (increase(inference_objective_request_total{job=~\"gw.*\"}[10m]))")
        #expect(expr.metrics == ["inference_objective_request_total"])
    }

    @Test func anUnknownFunctionIsALoudFailureNotAnEmptyAnswer() {
        #expect(throws: UnsupportedQuery.self) { try QueryParser.parse("sum by (model_name) (histogram_quantile(0.9, x))") }
        #expect(throws: UnsupportedQuery.self) { try QueryParser.parse("sum(m) * 2") }
    }

    func transport(_ faults: [FaultKind] = []) -> SimulatedPrometheus {
        var tsdb = SimulatedTSDB()
        let pod = ["namespace": "a", "model_name": "m", "pod": "m-0", "job": "vllm"]
        tsdb.scrape(target: "pod", at: 0, [.init("vllm:num_requests_running", pod, 2), .init("vllm:request_success_total", pod, 1)])
        tsdb.scrape(target: "pod", at: 5, [.init("vllm:num_requests_running", pod, 3), .init("vllm:request_success_total", pod, 4)])
        let prometheus = SimulatedPrometheus(tsdb: tsdb)
        prometheus.state.withLock { $0.modelLabels["a/m"] = ("a", "m", "m") }
        prometheus.beginTick(at: 6, faults: faults.map { .init(kind: $0, start: 0, end: 100) })
        return prometheus
    }

    func collect(_ prometheus: SimulatedPrometheus) async -> FleetSignals {
        let collector = SignalCollector(
            client: PrometheusClient(transport: prometheus, retry: RetryPolicy(attempts: 1)), queries: QueryBuilder(templates: SimulationQueries.templates))
        return await collector.collect(retentions: [ConfigDuration(seconds: 60)]).0
    }

    @Test func theRealClientDecodesTheSimulatedAnswers() async throws {
        let fleet = await collect(transport())
        let key = ModelKey(namespace: "a", modelID: "m")
        #expect(try fleet.running.get()[key] == 3)
        #expect(try fleet.ready.get()[key] == 1)
        #expect(try fleet.requests[ConfigDuration(seconds: 60)]!.get()[key]! > 3)
        #expect(try fleet.demand.get().isEmpty)
    }

    @Test(arguments: [FaultKind.refused, .unavailable, .unauthorized, .tsdbRestart, .slow(seconds: 3)])
    func aFailingMonitoringPathMakesEverySignalUnknown(_ fault: FaultKind) async {
        let fleet = await collect(transport([fault]))
        #expect(fleet.running.failureValue != nil && fleet.demand.failureValue != nil)
    }

    @Test(arguments: [true, false])
    func aPartialAnswerIsFlaggedAndMissesTheHiddenSeries(_ thanos: Bool) async throws {
        let prometheus = transport([.partial(thanos: thanos, models: ["a/m"], metrics: ["vllm:num_requests_running"])])
        let response = try await prometheus.post(path: "/api/v1/query", form: [("query", "sum by (namespace, model_name) (vllm:num_requests_running)")])
        let body = String(decoding: response.body, as: UTF8.self)
        #expect(body.contains(thanos ? "\"warnings\":[\"partial response" : "\"isPartial\":true"))
        #expect(body.contains("\"result\":[]"))
    }

    @Test func anUnsupportedQueryIsRecordedForTheRun() async throws {
        let prometheus = transport()
        let response = try await prometheus.post(path: "/api/v1/query", form: [("query", "rate_of_change(x[1m])")])
        #expect(response.status == 400)
        #expect(prometheus.endTick().unsupported.count == 1)
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
