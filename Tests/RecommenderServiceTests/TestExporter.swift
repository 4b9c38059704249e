import Foundation
import Hummingbird
import Logging
import Synchronization

/// A `/metrics` endpoint whose series the test sets, scraped by the real Prometheus like vLLM pods
/// and the gateway's endpoint picker would be.
final class TestExporter: Sendable {
    /// One series: a full name with labels (`vllm:num_requests_running{namespace="a",model_name="m"}`).
    typealias Series = String

    /// The series, shared with the route handler.
    final class Store: Sendable {
        let series = Mutex<[Series: Double]>([:])
        let counters = Mutex<[Series: Double]>([:])
        /// When each growing counter last grew (the scrape that read the step).
        let lastStep = Mutex<[Series: Date]>([:])
    }

    private let store = Store()
    private let task = Mutex<Task<Void, any Error>?>(nil)
    let port: Int

    /// Starts the exporter and registers it with `prometheus`.
    init(prometheus: PrometheusServer, name: String) async throws {
        port = try freePort()
        let router = Router()
        let store = self.store
        router.get("/metrics") { _, _ -> Response in
            let snapshot = store.series.withLock { current -> [Series: Double] in
                var next = current
                let now = Date()
                for (key, step) in store.counters.withLock({ $0 }) {
                    next[key, default: 0] += step
                    store.lastStep.withLock { $0[key] = now }
                }
                current = next
                return next
            }
            let text = snapshot.keys.sorted().map { "\($0) \(snapshot[$0]!)" }.joined(separator: "\n") + "\n"
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        var logger = Logger(label: "exporter")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        task.withLock { $0 = Task { try await app.runService() } }
        let url = "http://127.0.0.1:\(port)/metrics"
        try await waitUntil(timeout: 10) { await httpStatus(url) == 200 }
        try prometheus.addTarget(port: port, name: name)
        try await waitForSeries(prometheus, "up{target=\"\(name)\"} == 1")
    }

    /// Sets a series' value.
    func set(_ name: String, _ labels: String, _ value: Double) {
        store.series.withLock { $0["\(name){\(labels)}"] = value }
    }

    /// The value the next scrape would read (without a pending counter step).
    func value(_ name: String, _ labels: String) -> Double? {
        store.series.withLock { $0["\(name){\(labels)}"] }
    }

    /// Stops a growing counter where it is; returns when it last grew (the last request).
    func stopGrowing(_ name: String, _ labels: String) -> Date? {
        // Under the series lock: no scrape can step the counter between the two reads.
        store.series.withLock { _ in
            store.counters.withLock { $0["\(name){\(labels)}"] = nil }
            return store.lastStep.withLock { $0["\(name){\(labels)}"] }
        }
    }

    /// Removes a series (Prometheus marks it stale at the next scrape).
    func remove(_ name: String, _ labels: String) {
        store.series.withLock { $0["\(name){\(labels)}"] = nil }
        store.counters.withLock { $0["\(name){\(labels)}"] = nil }
    }

    /// Makes a counter grow by `step` at every scrape (live traffic).
    func grow(_ name: String, _ labels: String, by step: Double) {
        store.counters.withLock { $0["\(name){\(labels)}"] = step }
    }

    /// The series of one vLLM pod of `model` in `namespace`; unless `gateway` is false, the gateway's
    /// request counter for the model exists too (the gateway routes it: a wake path).
    func vllmPod(namespace: String, model: String, pod: String = "p0", requests: Double = 10, running: Double = 0, waiting: Double = 0, gateway: Bool = true) {
        if gateway { gatewayRoutes(model) }
        let labels = "namespace=\"\(namespace)\",model_name=\"\(model)\",pod=\"\(pod)\""
        set("vllm:request_success_total", labels + ",finished_reason=\"stop\"", requests)
        set("vllm:num_requests_running", labels, running)
        set("vllm:num_requests_waiting", labels, waiting)
        set("vllm:kv_cache_usage_perc", labels, 0.1)
    }

    /// The gateway's request counter for `model` (no namespace label, as an endpoint picker scraped
    /// without one), created once at `count` and left as it is. At 0 by default: VictoriaMetrics'
    /// `increase` counts a series that appears inside the window from zero (a new counter at 5 reads
    /// as 5 requests, as it would be for a gateway that creates the series at its first request).
    func gatewayRoutes(_ model: String, count: Double = 0) {
        let series = "inference_objective_request_total{model_name=\"\(model)\",target_model_name=\"\(model)\"}"
        store.series.withLock { if $0[series] == nil { $0[series] = count } }
    }

    /// Requests reaching the gateway for `model`: its counter rises by `count` (rejected or queued).
    func gatewayRequests(_ model: String, _ count: Double) {
        let series = "inference_objective_request_total{model_name=\"\(model)\",target_model_name=\"\(model)\"}"
        store.series.withLock { $0[series, default: 0] += count }
    }

    /// Removes one vLLM pod's series (the pod was scaled away).
    func removePod(namespace: String, model: String, pod: String = "p0") {
        let labels = "namespace=\"\(namespace)\",model_name=\"\(model)\",pod=\"\(pod)\""
        remove("vllm:request_success_total", labels + ",finished_reason=\"stop\"")
        remove("vllm:num_requests_running", labels)
        remove("vllm:num_requests_waiting", labels)
        remove("vllm:kv_cache_usage_perc", labels)
    }

    func stop() { task.withLock { $0?.cancel() } }

    deinit { stop() }
}
