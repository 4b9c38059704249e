/// What the recommender remembers of a model between ticks. Plain data: the decision core reads
/// one and returns the next.
public struct ModelState: Sendable, Hashable {
    /// The last recommendation; nil before the first.
    public var desired: Int?
    /// Since when every tick's signals of this model were complete (every activity signal known, no
    /// partial answer) with a replica reporting or the model at zero. Nil when the last tick broke
    /// the observation (or after a restart): the evidence of idleness starts afresh.
    public var observedSince: Instant?
    /// The last time a wake (demand, wake call, in-flight requests, gateway requests, group) was seen.
    public var lastWake: Instant?
    /// The last time any activity (completed requests, in-flight, demand, wake) was seen.
    public var lastActivity: Instant?
    /// When the current cold start began (desired 0 → ≥ 1 with no ready replica); nil when none.
    public var coldStartSince: Instant?
    /// The highest size wanted within the scale-down stabilization window (the size held), and
    /// when it was last wanted: a lower size is recommended only once it is older than the window.
    public var peak: Int?
    /// When `peak` was last wanted.
    public var peakAt: Instant?
    /// The highest size wanted since `peak` (and when): the window's maximum once `peak` ages out.
    public var runnerUp: Int?
    /// When `runnerUp` was last wanted.
    public var runnerUpAt: Instant?
    /// The last time the gateway was seen routing this model (its queue or request-counter series
    /// existed, under the model id or an alias): the proof of a wake path.
    public var gatewaySeenAt: Instant?
    /// The last tick at which the gateway counted requests for this model (attributed to it
    /// alone) that its replicas' request counters do not show — nothing completed in the window,
    /// nothing in flight: their completions are lost (a container restart whose counter came back
    /// to its old value across a failed scrape). R also counts from it.
    public var uncountedArrival: Instant?
    /// What adaptive keep-alive and pre-warm have learned (empty for models that use neither).
    public var keepAlive: KeepAliveState

    /// Creates a state.
    public init(
        desired: Int? = nil, observedSince: Instant? = nil, lastWake: Instant? = nil, lastActivity: Instant? = nil,
        coldStartSince: Instant? = nil, peak: Int? = nil, peakAt: Instant? = nil, gatewaySeenAt: Instant? = nil,
        keepAlive: KeepAliveState = KeepAliveState()
    ) {
        self.desired = desired
        self.observedSince = observedSince
        self.lastWake = lastWake
        self.lastActivity = lastActivity
        self.coldStartSince = coldStartSince
        self.peak = peak
        self.peakAt = peakAt
        runnerUp = nil
        runnerUpAt = nil
        self.gatewaySeenAt = gatewaySeenAt
        self.keepAlive = keepAlive
    }
}

/// A point in time, in seconds since the Unix epoch. The core never reads a clock: callers pass `now`.
public struct Instant: Sendable, Hashable, Comparable, Codable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let seconds: Double

    /// Creates an instant.
    public init(seconds: Double) { self.seconds = seconds }

    /// The seconds from `earlier` to this instant.
    public func since(_ earlier: Instant) -> Double { seconds - earlier.seconds }

    /// This instant moved by `seconds`.
    public func adding(_ seconds: Double) -> Instant { Instant(seconds: self.seconds + seconds) }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.seconds < rhs.seconds }
}
