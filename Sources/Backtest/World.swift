/// The world a backtest replays requests into: the model of `vllm-sim` (Sources/VLLMSimulator),
/// event by event instead of step by step. Per model: replicas that are ready a cold start after
/// they are asked for, each serving `concurrency` requests at once for `serviceTime` seconds each
/// (a replica's further requests wait inside it); the gateway's queue, which holds every request
/// while the model has no ready replica, forwards them all when one becomes ready, and drops a
/// request that waited longer than `queueTimeout` or found `queueCapacity` requests queued.
public struct WorldParameters: Sendable, Hashable {
    /// Seconds from a replica being asked for to ready (`--cold-start`).
    public var coldStart: Double
    /// Seconds one request takes on a replica.
    public var serviceTime: Double
    /// Requests one replica serves at once.
    public var concurrency: Int
    /// Seconds a request waits at the gateway before it is dropped.
    public var queueTimeout: Double
    /// Requests the gateway queues per model before it drops new ones.
    public var queueCapacity: Int

    /// Creates parameters; the defaults are `vllm-sim`'s, with its 60 s cold start raised to 90 s.
    public init(coldStart: Double = 90, serviceTime: Double = 2, concurrency: Int = 8, queueTimeout: Double = 600, queueCapacity: Int = 10_000) {
        self.coldStart = coldStart
        self.serviceTime = serviceTime
        self.concurrency = max(1, concurrency)
        self.queueTimeout = queueTimeout
        self.queueCapacity = queueCapacity
    }
}

/// What one model's world looks like at a scrape: what Prometheus would hold.
struct Scrape {
    var running = 0, waiting = 0, ready = 0, queued = 0, arrived = 0
}

/// One model's replicas, gateway queue and requests, advanced event by event.
struct ModelWorld {
    let parameters: WorldParameters
    /// The model's arrivals, ascending.
    let arrivals: [Double]
    private(set) var nextArrival = 0
    private(set) var now = 0.0

    private(set) var ready = 0
    /// Ready times of replicas still starting, ascending.
    private var starting: [Double] = []
    /// Free times of the ready replicas' request slots (a binary min-heap).
    private var slots = MinHeap()
    /// Requests inside replicas by completion time, ascending (service time is the same for all,
    /// so a request runs from `end - serviceTime` to `end`), with their arrival times (they go back
    /// to the gateway if the last replica goes while they run).
    private var inReplicas: [(end: Double, arrival: Double)] = []
    private var inReplicasHead = 0
    /// Arrival times of requests queued at the gateway, FIFO.
    private var gateway: [Double] = []
    private var gatewayHead = 0
    /// Completion times so far, ascending (the requests-window counter).
    private(set) var completions: [Double] = []

    // Statistics.
    private(set) var replicaSeconds = 0.0
    private(set) var zeroSeconds = 0.0
    private(set) var wakes = 0
    private(set) var coldStarts = 0
    private(set) var waits: [Double] = []
    private(set) var dropped = 0
    /// A wake whose first ready replica has not yet come: requests forwarded then count it as a cold start.
    private var wakePending = false

    init(parameters: WorldParameters, arrivals: [Double], initialReplicas: Int) {
        self.parameters = parameters
        self.arrivals = arrivals
        ready = initialReplicas
        for _ in 0..<(initialReplicas * parameters.concurrency) { slots.push(0) }
    }

    var replicas: Int { ready + starting.count }
    var queued: Int { gateway.count - gatewayHead }

    // MARK: - Time

    /// Processes every event up to and including `time`.
    mutating func advance(to time: Double) {
        while true {
            let arrival = nextArrival < arrivals.count ? arrivals[nextArrival] : .infinity
            let readyAt = starting.first ?? .infinity
            let timeout = gatewayHead < gateway.count ? gateway[gatewayHead] + parameters.queueTimeout : .infinity
            let next = min(arrival, readyAt, timeout)
            guard next <= time else { break }
            account(until: next)
            if readyAt == next {
                starting.removeFirst()
                becomeReady(at: next)
            } else if timeout == next {
                gatewayHead += 1
                dropped += 1
            } else {
                nextArrival += 1
                arrive(at: next)
            }
        }
        account(until: time)
        complete(upTo: time)
    }

    private mutating func account(until time: Double) {
        guard time > now else { return }
        let dt = time - now
        replicaSeconds += Double(replicas) * dt
        if replicas == 0 { zeroSeconds += dt }
        now = time
    }

    private mutating func arrive(at time: Double) {
        if ready > 0 && queued == 0 {
            dispatch(arrival: time, at: time)
        } else if queued < parameters.queueCapacity {
            gateway.append(time)
        } else {
            dropped += 1
        }
    }

    private mutating func dispatch(arrival: Double, at time: Double) {
        complete(upTo: time)
        let free = slots.pop()
        let end = max(time, free) + parameters.serviceTime
        slots.push(end)
        // Ends are ascending but for a replica that became ready while others were backlogged.
        if let last = inReplicas.last, inReplicasHead < inReplicas.count, end < last.end {
            var position = inReplicas.count
            while position > inReplicasHead, inReplicas[position - 1].end > end { position -= 1 }
            inReplicas.insert((end, arrival), at: position)
        } else {
            inReplicas.append((end, arrival))
        }
    }

    private mutating func becomeReady(at time: Double) {
        ready += 1
        for _ in 0..<parameters.concurrency { slots.push(time) }
        if wakePending {
            wakePending = false
            if queued > 0 { coldStarts += 1 }
        }
        while gatewayHead < gateway.count {
            let arrival = gateway[gatewayHead]
            gatewayHead += 1
            waits.append(time - arrival)
            dispatch(arrival: arrival, at: time)
        }
        compactGateway()
    }

    /// Moves requests finished by `time` to the completions.
    private mutating func complete(upTo time: Double) {
        while inReplicasHead < inReplicas.count, inReplicas[inReplicasHead].end <= time {
            completions.append(inReplicas[inReplicasHead].end)
            inReplicasHead += 1
        }
        if inReplicasHead > 4096, inReplicasHead * 2 > inReplicas.count {
            inReplicas.removeFirst(inReplicasHead)
            inReplicasHead = 0
        }
    }

    private mutating func compactGateway() {
        if gatewayHead > 1024, gatewayHead * 2 > gateway.count {
            gateway.removeFirst(gatewayHead)
            gatewayHead = 0
        }
    }

    // MARK: - Actuation

    /// Scales to `desired` replicas at the current time, as HPA or KEDA would: new replicas are
    /// ready after the cold start; scale-down removes replicas still starting first. Requests
    /// running on the last replica go back to the gateway queue.
    mutating func scale(to desired: Int) {
        let current = replicas
        if desired > current {
            if current == 0 {
                wakes += 1
                wakePending = true
            }
            for _ in current..<desired { starting.append(now + parameters.coldStart) }
        } else if desired < current {
            var remove = current - desired
            while remove > 0, !starting.isEmpty {
                starting.removeLast()
                remove -= 1
            }
            if remove > 0 {
                ready -= remove
                for _ in 0..<(remove * parameters.concurrency) { slots.removeLargest() }
            }
            if ready == 0 { returnRunningRequests() }
            if replicas == 0 { wakePending = false }
        }
    }

    private mutating func returnRunningRequests() {
        let running = inReplicas[inReplicasHead...].map(\.arrival)
        inReplicas.removeAll()
        inReplicasHead = 0
        guard !running.isEmpty else { return }
        let queuedNow = Array(gateway[gatewayHead...])
        gateway = (running + queuedNow).sorted()
        gatewayHead = 0
    }

    // MARK: - Views

    /// What Prometheus would scrape now.
    var scrape: Scrape {
        var s = Scrape()
        s.ready = ready
        s.queued = queued
        s.arrived = nextArrival
        let pending = inReplicas.count - inReplicasHead
        if pending > 0 {
            // Running: started (end - service ≤ now); waiting: not yet started.
            let threshold = now + parameters.serviceTime
            var low = inReplicasHead, high = inReplicas.count
            while low < high {
                let mid = (low + high) / 2
                if inReplicas[mid].end <= threshold { low = mid + 1 } else { high = mid }
            }
            s.running = low - inReplicasHead
            s.waiting = pending - s.running
        }
        return s
    }

    /// Completions in (`after`, `upTo`].
    func completed(after: Double, upTo: Double) -> Int {
        guard upTo > after else { return 0 }
        return Self.upperBound(completions, upTo) - Self.upperBound(completions, after)
    }

    static func upperBound(_ values: [Double], _ value: Double) -> Int {
        var low = 0, high = values.count
        while low < high {
            let mid = (low + high) / 2
            if values[mid] <= value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Requests that arrived so far (the gateway's request counter).
    var arrived: Int { nextArrival }
}

/// A binary min-heap of doubles that can also drop its largest element.
struct MinHeap {
    private var items: [Double] = []

    var count: Int { items.count }

    mutating func push(_ value: Double) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the smallest element (+∞ when empty: no slot is ever free).
    mutating func pop() -> Double {
        guard let first = items.first else { return .infinity }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            siftDown(0)
        }
        return first
    }

    /// Removes the largest element (a leaf).
    mutating func removeLargest() {
        guard !items.isEmpty else { return }
        var largest = items.count / 2
        for i in (items.count / 2)..<items.count where items[i] > items[largest] { largest = i }
        if items.count == 1 { largest = 0 }
        items.swapAt(largest, items.count - 1)
        items.removeLast()
        if largest < items.count {
            // The moved element came from the last leaf; restore the order upwards.
            var child = largest
            while child > 0 {
                let parent = (child - 1) / 2
                guard items[child] < items[parent] else { break }
                items.swapAt(child, parent)
                child = parent
            }
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count, items[left] < items[smallest] { smallest = left }
            if right < items.count, items[right] < items[smallest] { smallest = right }
            guard smallest != parent else { return }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
