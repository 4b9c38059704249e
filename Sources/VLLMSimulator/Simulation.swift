import Foundation

/// The simulated fleet: vLLM replicas per model, the gateway's queue in front of them, and the
/// statistics a platform team would ask for. Driven step by step (`advance(by:)`) and told the
/// recommendation the way HPA/KEDA would act on it (`setDesired`). No I/O, no clock.
public struct Simulation: Sendable {
    struct Replica: Sendable {
        let pod: String
        let readyAt: Double
        var served: Int = 0
        /// Started by a rolling update beyond the Deployment's replicas (maxSurge).
        var surge = false
        /// Belongs to the template being replaced by a rolling update.
        var old = false
        /// Removed from the Deployment: serves and reports until then (`terminationGrace`).
        var terminatingUntil: Double? = nil
        /// One of the Deployment's pods (not a surge pod, not terminating).
        var regular: Bool { !surge && terminatingUntil == nil }
    }

    struct ModelState: Sendable {
        let spec: Scenario.Model
        var replicas: [Replica] = []
        var gateway: [Double] = []  // arrival times of requests queued at the gateway (FIFO)
        var gatewayHead = 0
        var inPods: [Double] = []  // arrival times of requests inside the pods (FIFO)
        var podsHead = 0
        /// Requests of `inPods` before this index have started on a replica (their delay is recorded).
        var startedUpTo = 0
        var arrivalCarry = 0.0
        var completionCarry = 0.0
        var nextPod = 0
        var roundRobin = 0
        /// Without flow control: rejected requests waiting to retry (original arrival, retry time, attempts).
        var retrying: [(arrival: Double, at: Double, attempts: Int)] = []
        /// Requests the gateway scheduled to a pod and those it rejected (retries included): its counters.
        var gatewayReceived = 0
        var gatewayRejected = 0
        var report: ModelReport
        /// A rolling update is in progress.
        var rollingOut = false

        var gatewayCount: Int { gateway.count - gatewayHead }
        /// The Deployment's replicas (a surge pod is on top of them; terminating pods are not its).
        var specReplicas: Int { replicas.count(where: \.regular) }
        /// The Deployment's status replicas: its pods not terminating, surge pods included.
        var statusReplicas: Int { replicas.count { $0.terminatingUntil == nil } }
        var podCount: Int { inPods.count - podsHead }
    }

    /// Scenario time, in seconds since the start.
    public private(set) var now: Double = 0
    /// The scenario.
    public let scenario: Scenario
    var models: [ModelState]
    var random: SplitMix64

    /// Starts a scenario with each model at its initial replicas, already ready.
    public init(scenario: Scenario) {
        self.scenario = scenario
        random = SplitMix64(seed: scenario.seed)
        models = scenario.models.map { ModelState(spec: $0, report: ModelReport(model: $0.id, namespace: $0.namespace)) }
        for index in models.indices {
            for _ in 0..<models[index].spec.initialReplicas { addReplica(index, readyAt: 0) }
        }
    }

    // MARK: - Actuation

    /// Scales a model to `desired` replicas, as HPA/KEDA would: new replicas are ready after the
    /// cold start; scale-down removes replicas still starting first.
    public mutating func setDesired(namespace: String, model: String, desired: Int) {
        guard let index = models.firstIndex(where: { $0.spec.id == model && $0.spec.namespace == namespace }) else { return }
        let current = models[index].specReplicas
        if desired != current { models[index].report.scaleChanges += 1 }
        if desired > current {
            if current == 0 { models[index].report.coldStarts += 1 }
            for _ in current..<desired { addReplica(index, readyAt: now + scenario.coldStart) }
        } else if desired < current {
            // Scale-down removes replicas still starting first (a surge pod is not the
            // Deployment's to remove); a ready one terminates (see `terminationGrace`).
            let others = models[index].replicas.filter { !$0.regular }
            var regular = models[index].replicas.filter(\.regular)
            regular.sort { $0.readyAt < $1.readyAt }
            let removed = regular.suffix(current - desired)
            regular.removeLast(current - desired)
            models[index].replicas = regular + others + removed.compactMap(terminated)
        }
    }

    /// A pod removed from its Deployment: a ready one keeps serving for the grace period, one
    /// still starting is gone at once.
    private func terminated(_ replica: Replica) -> Replica? {
        guard scenario.terminationGrace > 0, replica.readyAt <= now else { return nil }
        var replica = replica
        replica.terminatingUntil = now + scenario.terminationGrace
        replica.old = false
        replica.surge = false
        return replica
    }

    /// Records a change of the recommendation the consumer acts on (for the report).
    public mutating func recordRecommendationChange(namespace: String, model: String) {
        guard let index = models.firstIndex(where: { $0.spec.id == model && $0.spec.namespace == namespace }) else { return }
        models[index].report.recommendationChanges += 1
    }

    /// The Deployment's replicas (`spec.replicas`) and its pods not terminating, surge pods
    /// included (`status.replicas`, what HPA's per-pod external metrics divide by); nil for a
    /// model not simulated.
    public func deployment(namespace: String, model: String) -> (spec: Int, status: Int)? {
        guard let m = models.first(where: { $0.spec.id == model && $0.spec.namespace == namespace }) else { return nil }
        return (m.specReplicas, m.statusReplicas)
    }

    private mutating func addReplica(_ index: Int, readyAt: Double, surge: Bool = false) {
        let name = models[index].spec.id.split(separator: "/").last.map(String.init) ?? models[index].spec.id
        models[index].replicas.append(Replica(pod: "\(name)-\(models[index].nextPod)", readyAt: readyAt, surge: surge))
        models[index].nextPod += 1
    }

    /// A rolling update, maxSurge 1 and maxUnavailable 0: one surge pod at a time; once it is
    /// ready, the oldest old pod terminates and the surge pod becomes one of the Deployment's.
    private mutating func rollOut(_ index: Int) {
        if !models[index].rollingOut, models[index].report.rollouts == 0, let at = models[index].spec.rolloutAt, now >= at {
            models[index].rollingOut = true
            models[index].report.rollouts += 1
            for replica in models[index].replicas.indices where models[index].replicas[replica].regular {
                models[index].replicas[replica].old = true
            }
        }
        guard models[index].rollingOut else { return }
        if let surge = models[index].replicas.firstIndex(where: \.surge) {
            guard models[index].replicas[surge].readyAt <= now else { return }
            models[index].replicas[surge].surge = false
            if let old = models[index].replicas.indices.filter({ models[index].replicas[$0].old }).min(by: {
                models[index].replicas[$0].readyAt < models[index].replicas[$1].readyAt
            }) {
                let replica = models[index].replicas.remove(at: old)
                if let terminating = terminated(replica) { models[index].replicas.append(terminating) }
            }
        }
        if models[index].replicas.contains(where: \.old) {
            addReplica(index, readyAt: now + scenario.coldStart, surge: true)
        } else {
            models[index].rollingOut = false
        }
    }

    // MARK: - Time

    /// Advances scenario time by `dt` seconds: arrivals, queueing, completions, timeouts, cost.
    public mutating func advance(by dt: Double) {
        now += dt
        for index in models.indices { step(index, dt: dt) }
    }

    private mutating func step(_ index: Int, dt: Double) {
        models[index].replicas.removeAll { ($0.terminatingUntil ?? .infinity) <= now }
        rollOut(index)
        var model = models[index]
        defer { models[index] = model }
        model.report.replicaSeconds += Double(model.replicas.count) * dt
        model.report.peakReplicas = max(model.report.peakReplicas, model.replicas.count)
        if model.replicas.isEmpty { model.report.zeroSeconds += dt }
        // Terminating pods drain: they serve (and report) until they are gone.
        let ready = model.replicas.indices.filter { model.replicas[$0].readyAt <= now }
        model.report.readySeconds += Double(ready.count) * dt
        let podSeconds = Double(model.replicas.count) * dt
        model.report.inHour(of: now) { $0.replicaSeconds += podSeconds }

        // Arrivals.
        let expected = model.spec.traffic.rate(at: now) * dt
        let count: Int
        if model.spec.traffic.isRandom {
            count = random.poisson(expected)
        } else {
            model.arrivalCarry += expected
            count = Int(model.arrivalCarry)
            model.arrivalCarry -= Double(count)
        }
        model.report.arrived += count
        var attempts: [(arrival: Double, attempts: Int)] = Array(repeating: (now, 0), count: count)
        if !model.retrying.isEmpty {
            let due = model.retrying.filter { $0.at <= now }
            model.retrying.removeAll { $0.at <= now }
            attempts += due.map { ($0.arrival, $0.attempts) }
        }
        // As the endpoint picker counts (gateway-api-inference-extension `pkg/epp/handlers/server.go`):
        // `inference_objective_request_total` once a request is scheduled to a pod (with flow
        // control, once it leaves the queue), `inference_objective_request_error_total` when it is
        // rejected, its queue full or its wait over.
        for attempt in attempts {
            if !ready.isEmpty && model.gatewayCount == 0 {
                if attempt.attempts > 0 { model.report.recordWait(now - attempt.arrival) }
                model.gatewayReceived += 1
                model.inPods.append(attempt.arrival)
            } else if !scenario.flowControl {
                // No flow control: 503 at once; the client retries later, or gives up.
                model.gatewayRejected += 1
                model.report.rejected += 1
                if attempt.attempts < scenario.retries {
                    model.retrying.append((attempt.arrival, now + scenario.retryAfter, attempt.attempts + 1))
                } else {
                    model.report.dropped += 1
                }
            } else if model.gatewayCount < scenario.queueCapacity {
                model.gateway.append(attempt.arrival)
            } else {
                model.gatewayRejected += 1
                model.report.dropped += 1
            }
        }

        if ready.isEmpty {
            // No replica: what was inside removed pods goes back to the gateway.
            while model.podCount > 0 {
                model.gateway.append(model.inPods[model.podsHead])
                model.podsHead += 1
            }
            model.startedUpTo = model.podsHead
        } else {
            // The gateway forwards its queue to the ready replicas.
            while model.gatewayCount > 0 {
                let arrival = model.gateway[model.gatewayHead]
                model.gatewayHead += 1
                model.report.recordWait(now - arrival)
                model.gatewayReceived += 1
                model.inPods.append(arrival)
            }
        }
        // Requests that waited too long at the gateway are dropped.
        while model.gatewayCount > 0, now - model.gateway[model.gatewayHead] > scenario.queueTimeout {
            model.gatewayHead += 1
            model.gatewayRejected += 1
            model.report.dropped += 1
        }

        // Completions: each running request takes serviceTime.
        let capacity = ready.count * scenario.runnablePerReplica
        let running = min(model.podCount, capacity)
        model.completionCarry += Double(running) * dt / scenario.serviceTime
        let done = min(Int(model.completionCarry), running)
        model.completionCarry -= Double(done)
        if running == 0 { model.completionCarry = 0 }
        for _ in 0..<done {
            model.podsHead += 1
            let replica = ready[model.roundRobin % ready.count]
            model.replicas[replica].served += 1
            model.roundRobin += 1
        }
        model.report.served += done
        // Requests that now run on a replica have started: their delay since arrival is recorded.
        model.startedUpTo = max(model.startedUpTo, model.podsHead)
        let started = model.podsHead + min(model.podCount, capacity)
        while model.startedUpTo < started {
            model.report.recordStart(delay: now - model.inPods[model.startedUpTo], at: now)
            model.startedUpTo += 1
        }
        compact(&model.gateway, &model.gatewayHead)
        model.startedUpTo -= compact(&model.inPods, &model.podsHead)
    }

    /// Drops the consumed head of a queue now and then; returns how many entries were dropped.
    @discardableResult
    private func compact(_ queue: inout [Double], _ head: inout Int) -> Int {
        guard head > 1024 && head * 2 > queue.count else { return 0 }
        let dropped = head
        queue.removeFirst(head)
        head = 0
        return dropped
    }

    // MARK: - Views

    /// Per model: ready and starting replicas, requests queued at the gateway.
    public var fleet: [(namespace: String, model: String, ready: Int, starting: Int, queued: Int)] {
        models.map { m in
            let ready = m.replicas.count { $0.readyAt <= now }
            return (m.spec.namespace, m.spec.id, ready, m.replicas.count - ready, m.gatewayCount)
        }
    }

    /// The statistics so far, per model.
    public var report: [ModelReport] { models.map(\.report) }

    /// `/metrics` as vLLM pods and the gateway's endpoint picker expose them.
    public func metricsText() -> String {
        var lines: [String] = []
        var success: [String] = [], running: [String] = [], waiting: [String] = [], kv: [String] = []
        for m in models {
            let ready = m.replicas.filter { $0.readyAt <= now }
            guard !ready.isEmpty else { continue }
            let capacity = ready.count * scenario.runnablePerReplica
            let totalRunning = min(m.podCount, capacity)
            let totalWaiting = m.podCount - totalRunning
            for (position, replica) in ready.enumerated() {
                let labels = "namespace=\"\(m.spec.namespace)\",model_name=\"\(m.spec.id)\",pod=\"\(replica.pod)\""
                let share = { (total: Int) in total / ready.count + (position < total % ready.count ? 1 : 0) }
                success.append("vllm:request_success_total{\(labels),finished_reason=\"stop\"} \(replica.served)")
                running.append("vllm:num_requests_running{\(labels)} \(share(totalRunning))")
                waiting.append("vllm:num_requests_waiting{\(labels)} \(share(totalWaiting))")
                let usage = min(1, Double(share(totalRunning)) * scenario.tokensPerRequest / scenario.kvCapacityTokens)
                kv.append("vllm:kv_cache_usage_perc{\(labels)} \(usage)")
            }
        }
        lines += ["# TYPE vllm:request_success_total counter"] + success
        lines += ["# TYPE vllm:num_requests_running gauge"] + running
        lines += ["# TYPE vllm:num_requests_waiting gauge"] + waiting
        lines += ["# TYPE vllm:kv_cache_usage_perc gauge"] + kv
        if scenario.flowControl {
            lines.append("# TYPE llm_d_epp_flow_control_queue_size gauge")
            for m in models { lines.append("llm_d_epp_flow_control_queue_size{target_model_name=\"\(m.spec.id)\"} \(m.gatewayCount)") }
        }
        // A counter exists once it has counted a request for the model.
        lines.append("# TYPE inference_objective_request_total counter")
        for m in models where m.gatewayReceived > 0 {
            lines.append("inference_objective_request_total{model_name=\"\(m.spec.id)\",target_model_name=\"\(m.spec.id)\"} \(m.gatewayReceived)")
        }
        lines.append("# TYPE inference_objective_request_error_total counter")
        for m in models where m.gatewayRejected > 0 {
            lines.append("inference_objective_request_error_total{model_name=\"\(m.spec.id)\",target_model_name=\"\(m.spec.id)\",error_code=\"ServiceUnavailable\"} \(m.gatewayRejected)")
        }
        lines.append("# TYPE vllm_sim_replicas gauge")
        for (namespace, model, ready, starting, _) in fleet {
            lines.append("vllm_sim_replicas{namespace=\"\(namespace)\",model_name=\"\(model)\",state=\"ready\"} \(ready)")
            lines.append("vllm_sim_replicas{namespace=\"\(namespace)\",model_name=\"\(model)\",state=\"starting\"} \(starting)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// What happened to one model: cost, cold starts, waits, drops. Times in scenario seconds.
public struct ModelReport: Sendable, Encodable {
    /// Model id.
    public let model: String
    /// Namespace.
    public let namespace: String
    /// Replica-seconds (GPU cost), starting replicas included.
    public var replicaSeconds = 0.0
    /// Seconds the model spent at zero replicas (each one a replica-second a floor of 1 would cost).
    public var zeroSeconds = 0.0
    /// Times the model went from 0 replicas to ≥ 1.
    public var coldStarts = 0
    /// Requests that arrived.
    public var arrived = 0
    /// Requests completed.
    public var served = 0
    /// Requests dropped (gateway queue full or timed out, or a client that gave up retrying).
    public var dropped = 0
    /// Attempts the gateway rejected at once (no flow control, no ready replica); their clients retry.
    public var rejected = 0
    /// Rolling updates started.
    public var rollouts = 0
    /// The most replicas the model had at once (surge pods included).
    public var peakReplicas = 0
    /// Requests that waited at the gateway for a replica.
    public var waited = 0
    /// Their waits, for percentiles.
    var waits: [Double] = []
    /// Replica-seconds of ready pods (terminating ones draining included; starting ones not).
    public var readySeconds = 0.0
    /// Requests that started on a replica.
    public var started = 0
    /// Those that did not start at once: they waited at the gateway or in a pod's queue.
    public var delayed = 0
    /// Their delays from arrival to start, for percentiles.
    var delays: [Double] = []
    /// Times the Deployment's replicas were changed.
    public var scaleChanges = 0
    /// Times the recommendation the consumer acts on changed (as recorded by the follower).
    public var recommendationChanges = 0
    /// Per scenario hour: replica-seconds, delayed requests and their longest delay.
    public var hours: [Hour] = []

    /// One scenario hour of the report.
    public struct Hour: Sendable, Encodable {
        /// Replica-seconds (GPU cost) in the hour.
        public var replicaSeconds = 0.0
        /// Requests started in the hour.
        public var started = 0
        /// Of those, the delayed ones.
        public var delayed = 0
        /// The longest delay among them.
        public var maxDelay = 0.0

        enum CodingKeys: String, CodingKey {
            case replicaSeconds = "replica_seconds", started, delayed, maxDelay = "delay_max_seconds"
        }
    }

    mutating func inHour(of t: Double, _ change: (inout Hour) -> Void) {
        let index = max(0, Int(t / 3600 - 1e-9))
        while hours.count <= index { hours.append(Hour()) }
        change(&hours[index])
    }

    init(model: String, namespace: String) {
        self.model = model
        self.namespace = namespace
    }

    mutating func recordWait(_ seconds: Double) {
        waited += 1
        waits.append(seconds)
    }

    mutating func recordStart(delay: Double, at t: Double) {
        started += 1
        inHour(of: t) { hour in
            hour.started += 1
            if delay > 0 {
                hour.delayed += 1
                hour.maxDelay = max(hour.maxDelay, delay)
            }
        }
        guard delay > 0 else { return }
        delayed += 1
        delays.append(delay)
    }

    /// The `p` quantile (0–1) of the delays of delayed requests (arrival to start), 0 when none.
    public func delayPercentile(_ p: Double) -> Double { Self.percentile(delays, p) }

    /// The `p` quantile (0–1) of the delays of every started request (0 for those that started at once).
    public func delayPercentileOfAll(_ p: Double) -> Double {
        Self.percentile(delays + Array(repeating: 0, count: started - delayed), p)
    }

    /// The longest delay from arrival to start.
    public var maxDelay: Double { delays.max() ?? 0 }

    /// The mean delay over every started request.
    public var meanDelay: Double { started == 0 ? 0 : delays.reduce(0, +) / Double(started) }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded(.up)))]
    }

    /// The `p` quantile (0–1) of gateway waits, 0 when nobody waited.
    public func waitPercentile(_ p: Double) -> Double { Self.percentile(waits, p) }

    /// The longest gateway wait.
    public var maxWait: Double { waits.max() ?? 0 }

    enum CodingKeys: String, CodingKey {
        case model, namespace, replicaSeconds = "replica_seconds", zeroSeconds = "zero_seconds", coldStarts = "cold_starts", arrived, served, dropped, rejected, waited, rollouts, peakReplicas = "peak_replicas"
        case waitP50 = "wait_p50_seconds", waitP99 = "wait_p99_seconds", maxWait = "wait_max_seconds"
        case readySeconds = "ready_seconds", started, delayed, delayP50 = "delay_p50_seconds", delayP99 = "delay_p99_seconds"
        case delayMax = "delay_max_seconds", delayMean = "delay_mean_seconds", delayP99All = "delay_p99_all_seconds"
        case scaleChanges = "scale_changes", recommendationChanges = "recommendation_changes", hours
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(namespace, forKey: .namespace)
        try c.encode(replicaSeconds, forKey: .replicaSeconds)
        try c.encode(zeroSeconds, forKey: .zeroSeconds)
        try c.encode(coldStarts, forKey: .coldStarts)
        try c.encode(arrived, forKey: .arrived)
        try c.encode(served, forKey: .served)
        try c.encode(dropped, forKey: .dropped)
        try c.encode(rejected, forKey: .rejected)
        try c.encode(rollouts, forKey: .rollouts)
        try c.encode(peakReplicas, forKey: .peakReplicas)
        try c.encode(waited, forKey: .waited)
        try c.encode(waitPercentile(0.5), forKey: .waitP50)
        try c.encode(waitPercentile(0.99), forKey: .waitP99)
        try c.encode(maxWait, forKey: .maxWait)
        try c.encode(readySeconds, forKey: .readySeconds)
        try c.encode(started, forKey: .started)
        try c.encode(delayed, forKey: .delayed)
        try c.encode(delayPercentile(0.5), forKey: .delayP50)
        try c.encode(delayPercentile(0.99), forKey: .delayP99)
        try c.encode(maxDelay, forKey: .delayMax)
        try c.encode(meanDelay, forKey: .delayMean)
        try c.encode(delayPercentileOfAll(0.99), forKey: .delayP99All)
        try c.encode(scaleChanges, forKey: .scaleChanges)
        try c.encode(recommendationChanges, forKey: .recommendationChanges)
        try c.encode(hours, forKey: .hours)
    }
}
