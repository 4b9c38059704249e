import Foundation
import PrometheusClient
import Synchronization

/// The simulated TSDB behind the real client's transport seam: answers `/api/v1/query` from
/// ``SimulatedTSDB`` at the virtual time of the tick, and fails the ways a real monitoring path
/// does (connection refused, 503, 401, timeouts, partial answers, a restart).
///
/// Queries of one tick run concurrently (the collector's `async let`s); each query string's
/// retries run in sequence, so latency is accounted per query string and the tick lasts as long
/// as its slowest query chain. Nothing here depends on the order queries arrive in.
public final class SimulatedPrometheus: PrometheusTransport {
    struct State {
        var tsdb: SimulatedTSDB
        var tickStart = 0.0
        var faults: [FaultSpan] = []
        var latency: [String: Double] = [:]
        var parsed: [String: QueryExpr] = [:]
        var unsupported: [UnsupportedQuery] = []
        /// Labels identifying each model's series, for partial answers.
        var modelLabels: [String: (namespace: String, served: String, requested: String)] = [:]
        var queries = 0
    }

    /// A fault over a span of virtual time.
    struct FaultSpan {
        let kind: FaultKind
        let start: Double
        let end: Double
    }

    let state: Mutex<State>
    /// Virtual time 0 as Unix seconds (what `time` in answers is relative to).
    static let epoch = 1_700_000_000.0

    init(tsdb: SimulatedTSDB) { state = Mutex(State(tsdb: tsdb)) }

    /// Queries answered so far.
    var queryCount: Int { state.withLock { $0.queries } }

    /// Starts a tick at `t` with the query-level faults in force.
    func beginTick(at t: Double, faults: [FaultSpan]) {
        state.withLock {
            $0.tickStart = t
            $0.faults = faults
            $0.latency.removeAll(keepingCapacity: true)
        }
    }

    /// How long the tick's queries took (the slowest chain), and the unsupported queries seen.
    func endTick() -> (elapsed: Double, unsupported: [UnsupportedQuery]) {
        state.withLock { ($0.latency.values.max() ?? 0, $0.unsupported) }
    }

    /// Answers one query at the tick's virtual time, or fails the way the faults in force say.
    public func post(path: String, form: [(String, String)]) async throws(TransportError) -> HTTPResponse {
        let outcome: Result<HTTPResponse, TransportError> = state.withLock { state in
            state.queries += 1
            guard path == "/api/v1/query" else { return .success(HTTPResponse(status: 404, body: Array("404 page not found\n".utf8))) }
            guard let query = form.first(where: { $0.0 == "query" })?.1 else {
                return .success(HTTPResponse(status: 400, body: QueryAPI.error(type: "bad_data", message: "invalid parameter \"query\": query missing")))
            }
            let partialResponseOff = form.contains { $0.0 == "partial_response" && $0.1 == "false" }
            let consumed = state.latency[query, default: 0]
            let t = state.tickStart + consumed
            let active = state.faults.filter { $0.start <= t && t < $0.end }.map(\.kind)
            if active.contains(.tsdbRestart) || active.contains(.refused) {
                return .failure(TransportError("Failed to connect to prometheus port 9090 after 0 ms: Couldn't connect to server"))
            }
            if active.contains(.unavailable) { return .success(HTTPResponse(status: 503, body: Array("Service Unavailable\n".utf8))) }
            if active.contains(.unauthorized) { return .success(HTTPResponse(status: 401, body: Array("Unauthorized\n".utf8))) }
            // Prometheus evaluates an instant query without `time` at the moment it receives it; a
            // slow answer is late, not newer: it holds what was scraped by then.
            let evaluateAt = t
            for case .slow(let seconds) in active {
                if seconds >= Simulation.clientTimeout {
                    state.latency[query] = consumed + Simulation.clientTimeout
                    return .failure(TransportError("Operation timed out after \(Int(Simulation.clientTimeout * 1000)) milliseconds with 0 bytes received"))
                }
                state.latency[query] = consumed + seconds
            }
            let expr: QueryExpr
            if let cached = state.parsed[query] {
                expr = cached
            } else {
                switch Result(catching: { () throws(UnsupportedQuery) in try QueryParser.parse(query) }) {
                case .success(let parsed):
                    expr = parsed
                    state.parsed[query] = parsed
                case .failure(let error):
                    state.unsupported.append(error)
                    return .success(HTTPResponse(status: 400, body: QueryAPI.error(type: "bad_data", message: error.description)))
                }
            }
            for case .queryFails(let metric) in active where expr.metrics.contains(metric) {
                return .success(HTTPResponse(status: 503, body: Array("Service Unavailable\n".utf8)))
            }
            // A store that did not answer: its series are missing, the answer says so.
            var partial: QueryAPI.PartialFlag?
            var hiddenLabels: [(namespace: String, served: String, requested: String)] = []
            var hiddenMetrics = Set<String>()
            for case .partial(let thanos, let models, let metrics) in active {
                if thanos && partialResponseOff {
                    return .success(HTTPResponse(status: 422, body: QueryAPI.error(type: "execution", message: "receive series from Addr: 10.0.3.7:10901: rpc error: code = Unavailable desc = connection refused")))
                }
                partial = thanos ? .thanosWarning : .isPartial
                hiddenLabels += models.compactMap { state.modelLabels[$0] }
                hiddenMetrics.formUnion(metrics)
            }
            var replica = state.tsdb  // copy on write: the stored samples are shared, not copied
            for case .failover(let since) in active {
                replica.horizon = (since, Set([Simulation.desiredMetric] + Simulation.recoveryMetrics))
            }
            let samples = replica.evaluate(expr, at: evaluateAt) { metric, labels in
                guard hiddenMetrics.contains(metric) else { return false }
                return hiddenLabels.contains { model in
                    (labels["model_name"] == model.served && labels["namespace"] == model.namespace) || labels["target_model_name"] == model.requested
                }
            }
            var answer = samples
            if active.contains(.corruptRecovery), expr.metrics.contains(Simulation.desiredMetric) {
                answer = samples.map { ResultSample(labels: $0.labels, value: 1e300) }
            }
            let infos = active.contains(.harmlessAnnotations)
                ? ["PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"vllm:num_requests_running\""] : []
            return .success(HTTPResponse(status: 200, body: QueryAPI.success(answer, at: SimulatedPrometheus.epoch + evaluateAt, partial: partial, infos: infos)))
        }
        return try outcome.get()
    }
}
