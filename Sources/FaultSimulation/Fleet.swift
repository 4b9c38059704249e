/// The simulated fleet: vLLM pods per model, the gateway (endpoint picker with or without flow
/// control), API callers, and an autoscaler that follows the recommendation with cold starts.
/// Deterministic: no randomness, ties broken by order.
struct Fleet {
    static let requestsMetric = "vllm:request_success_total"
    static let runningMetric = "vllm:num_requests_running"
    static let waitingMetric = "vllm:num_requests_waiting"
    static let kvMetric = "vllm:kv_cache_usage_perc"
    static let queueMetric = "llm_d_epp_flow_control_queue_size"
    /// The endpoint picker's request counter: a request scheduled to a pod (gateway-api-inference-extension
    /// `pkg/epp/handlers/server.go`: `RecordRequestCounter` once `director.HandleRequest` succeeded;
    /// with flow control, once the request left the queue).
    static let gatewayCounterMetric = "inference_objective_request_total"
    /// Its error counter: a request rejected (no pod ready, without flow control), `RecordRequestErrCounter`.
    static let gatewayErrorMetric = "inference_objective_request_error_total"
    /// Both, for the checker: a series of either proves the path, a rise of either is demand.
    static let gatewayCounterMetrics = [gatewayCounterMetric, gatewayErrorMetric]
    /// Requests a replica runs at once; more wait inside the pod.
    static let slots = 4
    /// A rejected request (no flow control) is retried after this many seconds (the schedule's).
    let retryAfter: Double
    /// An API caller waiting for a replica calls the wake API again this often.
    static let rewakeEvery = 10.0

    struct Request {
        let arrival: Double
        var completes = Double.infinity
    }

    struct Pod {
        let name: String
        /// The scrape target's name, `pod/<namespace>/<name>`.
        let target: String
        var readyAt: Double
        var counter = 0.0
        var running: [Request] = []
        var waiting: [Request] = []
        var offset: Double
        func ready(_ t: Double) -> Bool { readyAt <= t }
        var load: Int { running.count + waiting.count }
    }

    struct Runtime {
        let spec: SimModel
        var pods: [Pod] = []
        var nextPod = 0
        var arrivalIndex = 0
        /// Queued at the gateway (flow control).
        var queued: [Request] = []
        /// Rejected, retried at the paired time (no flow control).
        var retrying: [(request: Request, at: Double)] = []
        /// API callers waiting for a replica; `nextWake` is their next wake call.
        var apiWaiting: [Request] = []
        var nextWake = Double.infinity
        /// Requests the gateway scheduled to a pod, and those it rejected.
        var gatewayCount = 0.0
        var gatewayErrors = 0.0
        var gatewaySeen = false
        /// The last request the gateway counted while no replica of the model was ready (nothing
        /// in vLLM's series places the name in its namespace then).
        var lastUnservedGatewayArrival = -Double.infinity
        /// The last request the gateway counted for the model, served or not.
        var lastGatewayArrival = -Double.infinity
        /// The last request the gateway rejected (no flow control; its client retries later).
        var lastRejection = -Double.infinity
        /// Activity intervals (arrival, completion or ∞ while pending/in flight), for the checker.
        var lastCompletion = -Double.infinity
        /// Recently completed requests (arrival, completion), newest last.
        var recent: [(arrival: Double, completion: Double, pod: String)] = []
        /// Since when requests have waited without a replica (nil when none waits).
        var pendingSince: Double?
        /// Desired replicas the autoscaler last applied.
        var target = 1

        var pending: Bool { !queued.isEmpty || !retrying.isEmpty || !apiWaiting.isEmpty }
        var inFlight: Int { pods.reduce(0) { $0 + $1.load } }
    }

    var models: [Runtime]
    let flowControl: Bool
    let scrapeInterval: Double
    /// Wake calls to make: (model index, time); drained by the driver.
    var wakeCalls: [Int] = []

    init(schedule: Schedule) {
        flowControl = schedule.flowControl
        scrapeInterval = schedule.scrapeInterval
        retryAfter = schedule.clientRetryAfter
        models = schedule.models.map { Runtime(spec: $0) }
        for index in models.indices { addPod(index, readyAt: 0) }  // every model starts with a ready replica
    }

    // MARK: - Time

    /// The next time something happens in the fleet after `t` (arrivals, completions, readiness, retries, wake calls).
    func nextEvent(after t: Double) -> Double {
        var next = Double.infinity
        for model in models {
            if model.arrivalIndex < model.spec.arrivals.count { next = min(next, model.spec.arrivals[model.arrivalIndex]) }
            for pod in model.pods {
                if pod.readyAt > t { next = min(next, pod.readyAt) }
                for request in pod.running { next = min(next, request.completes) }
            }
            for retry in model.retrying { next = min(next, retry.at) }
            if !model.apiWaiting.isEmpty { next = min(next, model.nextWake) }
        }
        return next
    }

    /// Processes everything due at `t`.
    mutating func advance(to t: Double) {
        for index in models.indices {
            // Completions.
            for p in models[index].pods.indices {
                var pod = models[index].pods[p]
                var completed = false
                var done: [Request] = []
                pod.running.removeAll { request in
                    guard request.completes <= t else { return false }
                    pod.counter += 1
                    done.append(request)
                    return true
                }
                completed = !done.isEmpty
                for request in done { models[index].recent.append((request.arrival, request.completes, pod.name)) }
                if models[index].recent.count > 64 { models[index].recent.removeFirst(models[index].recent.count - 64) }
                while pod.running.count < Self.slots, !pod.waiting.isEmpty {
                    var request = pod.waiting.removeFirst()
                    request.completes = t + models[index].spec.serviceTime
                    pod.running.append(request)
                }
                models[index].pods[p] = pod
                if completed { models[index].lastCompletion = t }
            }
            // Pods that became ready take what waits.
            drain(index, at: t)
            // Arrivals.
            while models[index].arrivalIndex < models[index].spec.arrivals.count, models[index].spec.arrivals[models[index].arrivalIndex] <= t {
                models[index].arrivalIndex += 1
                arrive(index, Request(arrival: t), at: t, firstAttempt: true)
            }
            // Retries.
            let due = models[index].retrying.filter { $0.at <= t }
            models[index].retrying.removeAll { $0.at <= t }
            // A retry is a new request to the gateway and the pods (seen from its own arrival).
            for _ in due { arrive(index, Request(arrival: t), at: t, firstAttempt: false) }
            // API callers re-wake while they wait.
            if !models[index].apiWaiting.isEmpty, models[index].nextWake <= t {
                wakeCalls.append(index)
                models[index].nextWake = t + Self.rewakeEvery
            }
            models[index].pendingSince = models[index].pending ? (models[index].pendingSince ?? t) : nil
        }
    }

    private mutating func arrive(_ index: Int, _ request: Request, at t: Double, firstAttempt: Bool) {
        let viaAPI = models[index].spec.viaAPI
        if !viaAPI {
            models[index].gatewaySeen = true
            models[index].lastGatewayArrival = t
            if !models[index].pods.contains(where: { $0.readyAt <= t }) { models[index].lastUnservedGatewayArrival = t }
        } else if firstAttempt {
            wakeCalls.append(index)  // the caller signals activity before sending
            models[index].nextWake = t + Self.rewakeEvery
        }
        if place(index, request, at: t) {
            if !viaAPI { models[index].gatewayCount += 1 }
            return
        }
        if viaAPI {
            models[index].apiWaiting.append(request)
        } else if flowControl {
            models[index].queued.append(request)  // counted when dispatched
        } else {
            models[index].gatewayErrors += 1
            models[index].lastRejection = t
            models[index].retrying.append((request, t + retryAfter))
        }
    }

    /// Routes to the least loaded ready pod; false when none is ready.
    private mutating func place(_ index: Int, _ request: Request, at t: Double) -> Bool {
        var best: Int?
        for (p, pod) in models[index].pods.enumerated() where pod.ready(t) {
            if best == nil || pod.load < models[index].pods[best!].load { best = p }
        }
        guard let best else { return false }
        var request = request
        if models[index].pods[best].running.count < Self.slots {
            request.completes = t + models[index].spec.serviceTime
            models[index].pods[best].running.append(request)
        } else {
            models[index].pods[best].waiting.append(request)
        }
        return true
    }

    private mutating func drain(_ index: Int, at t: Double) {
        guard models[index].pods.contains(where: { $0.ready(t) }) else { return }
        let queued = models[index].queued, waiting = models[index].apiWaiting
        models[index].queued.removeAll()
        models[index].apiWaiting.removeAll()
        for request in queued where place(index, request, at: t) { models[index].gatewayCount += 1 }  // dispatched from the queue
        for request in waiting { _ = place(index, request, at: t) }
    }

    // MARK: - Autoscaler

    private mutating func addPod(_ index: Int, readyAt: Double) {
        let n = models[index].nextPod
        models[index].nextPod += 1
        let spec = models[index].spec
        // Twins derive the same variant name: their pods are named from the whole id.
        let base = spec.kind == .twin ? ScheduleNames.variant(spec.id.split(separator: "/").joined(separator: "-")) : ScheduleNames.variant(spec.id)
        let name = base + "-\(n)"
        let offset = (Double(index * 7 + n * 3 + 1) * 0.37).truncatingRemainder(dividingBy: 1) * scrapeInterval
        models[index].pods.append(Pod(name: name, target: "pod/\(models[index].spec.namespace)/\(name)", readyAt: readyAt, offset: offset))
    }

    /// The autoscaler (KEDA/HPA) applies `desired` to a model at `t`: new pods are ready after the
    /// model's cold start; removed pods hand their requests back to the gateway (clients retry).
    /// nil (no series for the model) keeps the current size, as an HPA does on a metric error.
    /// Returns the scrape targets of the pods removed.
    @discardableResult
    mutating func scale(_ index: Int, to desired: Int?, at t: Double) -> [String] {
        guard let desired else { return [] }
        var removed: [String] = []
        models[index].target = desired
        while models[index].pods.count < desired { addPod(index, readyAt: t + models[index].spec.coldStart) }
        while models[index].pods.count > desired {
            // As a ReplicaSet picks the pods to delete (kubernetes pkg/controller/controller_utils.go,
            // `ActivePodsWithRanks.Less`, no pod-deletion-cost): not ready before ready, then ready
            // for less time (newest first), then created later.
            let victim = models[index].pods.indices.min { a, b in
                let pa = models[index].pods[a], pb = models[index].pods[b]
                return (pa.ready(t) ? 1 : 0, -pa.readyAt, -a) < (pb.ready(t) ? 1 : 0, -pb.readyAt, -b)
            }!
            let pod = models[index].pods.remove(at: victim)
            removed.append(pod.target)
            for var request in pod.running + pod.waiting {
                request.completes = .infinity
                if models[index].spec.viaAPI { models[index].apiWaiting.append(request) } else if flowControl { models[index].queued.append(request) } else { models[index].retrying.append((request, t + retryAfter)) }
            }
        }
        drain(index, at: t)
        models[index].pendingSince = models[index].pending ? (models[index].pendingSince ?? t) : nil
        return removed
    }

    /// A container restart of the model's first pod: counter back to 0, not ready for a cold start.
    /// Restarts the first pod's container at `t`; `lastScraped` is when Prometheus last read its
    /// metrics. A request it completed since is erased with its counter: no scrape ever shows it
    /// (it was seen at most in flight, at that scrape).
    mutating func restartContainer(_ index: Int, at t: Double, lastScraped: Double) {
        guard !models[index].pods.isEmpty else { return }
        var pod = models[index].pods[0]
        models[index].recent = models[index].recent.compactMap { entry in
            guard entry.pod == pod.name, entry.completion > lastScraped else { return entry }
            return entry.arrival <= lastScraped ? (entry.arrival, lastScraped, entry.pod) : nil
        }
        for var request in pod.running + pod.waiting {
            request.completes = .infinity
            if models[index].spec.viaAPI { models[index].apiWaiting.append(request) } else if flowControl { models[index].queued.append(request) } else { models[index].retrying.append((request, t + retryAfter)) }
        }
        pod.running = []
        pod.waiting = []
        pod.counter = 0
        pod.readyAt = t + models[index].spec.coldStart
        models[index].pods[0] = pod
        models[index].pendingSince = models[index].pending ? (models[index].pendingSince ?? t) : nil
    }

    // MARK: - Ground truth for the checker

    /// The latest time activity was observable by `t`: in-flight or waiting requests count up to
    /// `t − scrape`, completions at their time; activity newer than one scrape cannot be seen.
    func lastObservableActivity(_ index: Int, at t: Double) -> Double {
        let horizon = t - scrapeInterval
        let model = models[index]
        var last = -Double.infinity
        for request in model.recent where request.arrival <= horizon { last = max(last, min(request.completion, horizon)) }
        // A client waiting to retry is seen by nobody: its rejection was the last thing observable.
        if model.lastRejection <= horizon { last = max(last, model.lastRejection) }
        var arrivals = model.queued.map(\.arrival) + model.apiWaiting.map(\.arrival)
        for pod in model.pods { arrivals += pod.running.map(\.arrival) + pod.waiting.map(\.arrival) }
        if let earliest = arrivals.min(), earliest <= horizon { last = max(last, horizon) }
        return last
    }
}

/// Names derived like the product derives `variant_name` (for pod names only).
enum ScheduleNames {
    static func variant(_ modelID: String) -> String {
        let last = modelID.split(separator: "/").last.map(String.init) ?? modelID
        return String(last.lowercased().map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" })
    }
}
