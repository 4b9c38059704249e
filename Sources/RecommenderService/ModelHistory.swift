import Recommendation

/// A model's recent recommendations and ready replicas, for the chart of its status page: one
/// point per change, in a bounded ring (the oldest point goes when it is full).
///
/// Both series are step functions, so a point per change draws them exactly and a steady model
/// costs one point. A point is 8 bytes; at most ``capacity`` are kept, so 10,000 models hold at
/// most 10,000 × 128 × 8 bytes ≈ 10 MB (every model changing at every tick for 128 ticks), and
/// 10,000 × 8 × 8 bytes ≈ 0.6 MB while no model changed more than 8 times.
struct ModelHistory: Sendable {
    /// One change: when, the recommendation, and the ready replicas.
    struct Point: Sendable, Equatable {
        /// Seconds since the Unix epoch, whole seconds (enough until 2106).
        let time: UInt32
        /// The recommendation, capped at `UInt16.max - 1`.
        let desired: UInt16
        /// Ready replicas, capped at `UInt16.max - 1`; ``unknown`` when the signal was unknown.
        let ready: UInt16

        /// The `ready` of a tick whose ready signal was unknown.
        static let unknown = UInt16.max

        /// The ready replicas, nil when unknown.
        var readyReplicas: Int? { ready == Self.unknown ? nil : Int(ready) }
    }

    /// The most points kept per model.
    static let capacity = 128
    /// Points reserved at first: a steady model never needs more.
    static let initialCapacity = 8

    private var points: ContiguousArray<Point> = []
    /// Where the oldest point is once the ring is full (0 until then).
    private var start = 0
    /// Cold starts that completed (recommendation 0 → ≥ 1 until a replica was ready) since this
    /// recommender started.
    private(set) var coldStarts = 0
    /// Whether points were dropped to stay within ``capacity``.
    private(set) var truncated = false

    /// Records the outcome of one decision. A point is added only when the recommendation or the
    /// ready replicas changed; a second change within the same second replaces the first.
    mutating func record(_ decision: Decision, ready: Double?, at now: Instant) {
        record(desired: decision.desired, ready: ready, coldStartCompleted: decision.coldStartSeconds != nil, at: now)
    }

    /// Records a recommendation and the ready replicas seen with it.
    mutating func record(desired: Int, ready: Double?, coldStartCompleted: Bool = false, at now: Instant) {
        if coldStartCompleted { coldStarts += 1 }
        let point = Point(
            time: UInt32(clamping: Int64(max(0, min(now.seconds, Double(UInt32.max))))),
            desired: UInt16(clamping: min(max(desired, 0), Int(UInt16.max) - 1)),
            ready: ready.map { $0.isFinite ? UInt16(clamping: Int(min(max($0.rounded(), 0), Double(UInt16.max) - 1))) : Point.unknown }
                ?? Point.unknown)
        guard let last = latest else {
            points.reserveCapacity(Self.initialCapacity)
            points.append(point)
            return
        }
        guard last.desired != point.desired || last.ready != point.ready else { return }
        if last.time == point.time {
            points[(start + points.count - 1) % points.count] = point
        } else if points.count < Self.capacity {
            // Two allocations at most: a small one, then the whole ring. Doubling would leave a
            // trail of freed blocks per model (heap fragmentation at 10,000 models) and overshoot
            // the capacity.
            if points.count == points.capacity { points.reserveCapacity(Self.capacity) }
            points.append(point)
        } else {
            points[start] = point
            start = (start + 1) % Self.capacity
            truncated = true
        }
    }

    /// The most recent point, nil when nothing was decided yet.
    var latest: Point? { points.isEmpty ? nil : points[(start + points.count - 1) % points.count] }

    /// The points kept, oldest first.
    var ordered: [Point] { Array(points[start...] + points[..<start]) }

    /// Bytes held by the points (capacity reserved by the array included).
    var bytes: Int { points.capacity * MemoryLayout<Point>.stride }
}
