import ModelConfig

/// What Prometheus (and the wake API) tell about one model at one tick. `nil` is **unknown** (query
/// failed, timed out, answered partially, or returned NaN); a complete answer with no series for
/// the model is 0, except where the spec says otherwise (a replica reporting with no request-counter
/// series leaves `requests` unknown).
public struct ModelSignals: Sendable, Hashable {
    /// Completed requests in the model's retention window (`increase(vllm:request_success_total[R])`).
    public var requests: Double?
    /// Requests being processed (`vllm:num_requests_running`, summed over pods).
    public var running: Double?
    /// Requests queued in the pods (`vllm:num_requests_waiting`, summed).
    public var waiting: Double?
    /// Pods reporting vLLM metrics (ready replicas).
    public var ready: Double?
    /// Average KV-cache usage, 0–1.
    public var kvCacheUsage: Double?
    /// Requests queued at the gateway for this model (demand while it has no pods).
    public var demand: Double?
    /// Requests the gateway received for this model over the last few scrapes (the increase of
    /// `inference_objective_request_total`, rejected requests included): demand when the model has
    /// no ready replica (flow control off: they were rejected, their retries find a replica coming).
    public var gatewayRequests: Double?
    /// The gateway has a queue or request-counter series for this model this tick (a wake path).
    public var gatewaySeen: Bool
    /// Seconds of history the requests window holds (its samples × the scrape interval), when
    /// known: a window holding less than R (a fresh or restarted TSDB) is no evidence of R without
    /// requests, though what it holds is complete.
    public var requestsWindowSeconds: Double?
    /// A request counter of the model was reset inside the window (a container restarted): what
    /// it counted between its last scrape and the reset is lost, so the window is no evidence of
    /// R without requests until the reset has left it.
    public var requestsWindowReset = false
    /// A request-counter series of the model ended inside the window (its pod was removed, or its
    /// scrapes fail): what it served after its last scrape is unseen, so the window is no
    /// evidence of R without requests until that series has left it.
    public var requestsWindowEnded = false
    /// How far back, in seconds, the requests in `gatewayRequests` may lie: the gateway query's
    /// window, or the stretch a read back covered when only such a read counted them (after the
    /// recommender or the gateway was blind). Nil: not known.
    public var gatewayRequestsSpan: Double?
    /// Requests the gateway rejected for this model since its last answer (the rise of its error
    /// counters): requests no replica served, each counted once — not for as long as the
    /// gateway's window shows it. Nil: not known.
    public var gatewayRejections: Double?

    /// Creates signals; every one unknown unless given.
    public init(
        requests: Double? = nil, running: Double? = nil, waiting: Double? = nil, ready: Double? = nil,
        kvCacheUsage: Double? = nil, demand: Double? = nil, gatewayRequests: Double? = nil, gatewaySeen: Bool = false
    ) {
        self.requests = requests
        self.running = running
        self.waiting = waiting
        self.ready = ready
        self.kvCacheUsage = kvCacheUsage
        self.demand = demand
        self.gatewayRequests = gatewayRequests
        self.gatewaySeen = gatewaySeen
        requestsWindowSeconds = nil
    }

    /// All zero: a model with no series anywhere, seen by complete answers.
    public static let quiet = ModelSignals(requests: 0, running: 0, waiting: 0, ready: 0, kvCacheUsage: 0, demand: 0, gatewayRequests: 0)

    /// One replica reporting, no activity, the gateway routing the model: positive evidence of idleness.
    public static let idleReplica = ModelSignals(
        requests: 0, running: 0, waiting: 0, ready: 1, kvCacheUsage: 0, demand: 0, gatewayRequests: 0, gatewaySeen: true)

    /// Requests in flight (running + waiting), nil when either is unknown.
    public var inFlight: Double? {
        guard let running, let waiting else { return nil }
        return running + waiting
    }
}

/// Why a model has its recommendation.
public enum Reason: String, Sendable, Hashable, CaseIterable, Codable {
    /// A signal the decision needs is unknown: the last recommendation is kept.
    case hold
    /// Demand at zero, a wake call, in-flight requests, gateway requests, or a group member's wake.
    case wake
    /// Idle for the whole retention window with scale-to-zero allowed: zero.
    case idle
    /// Serving or protected: sized to load or to its ready replicas, at least max(1, min_replicas).
    case active
    /// Idle long enough for zero, but nothing is known that could bring it back: held at ≥ 1.
    case noWakePath = "no_wake_path"
    /// Periodic arrivals predict a request soon: a replica is brought up (or kept) ahead of it, and
    /// let go again if nothing comes (adaptive keep-alive with `prewarm`).
    case prewarm
}

/// The state a model is in, as exported by `recommender_model_state`.
public enum Phase: String, Sendable, Hashable, CaseIterable, Codable {
    /// Recommended ≥ 1 and serving or protected.
    case active
    /// Recommended ≥ 1, idle, counting down its retention (or held up for want of a wake path).
    case idle
    /// Recommended 0.
    case zero
    /// Recommended ≥ 1 after zero, no replica ready yet (cold start in progress).
    case waking
    /// The decision is held on unknown data.
    case held
}
