/// Which promises of the spec a run exercises. `spec` is the whole contract; `core` keeps to what
/// a recommender without `aliases`, `wake_path`, gateway-counter demand, namespace attribution of
/// gateway series and the wake-path rule can pass, to tell defects of the core from missing features.
public struct Profile: Sendable, Hashable {
    /// Aliased models (`aliases`, requests under another name).
    public var aliases: Bool
    /// Models woken through the API (`wake_path: api`).
    public var wakePathAPI: Bool
    /// Gateways without flow control: demand shows only in the request counter.
    public var counterDemand: Bool
    /// Gateway series carry a `namespace` label.
    public var gatewayNamespaceLabels: Bool
    /// Check "no zero without a wake path".
    public var wakePathRule: Bool
    /// Faults that crash today's recommender (a corrupt recovery value): opt-in, a crash ends the process.
    public var crashers: Bool

    /// Creates a profile.
    public init(aliases: Bool, wakePathAPI: Bool, counterDemand: Bool, gatewayNamespaceLabels: Bool, wakePathRule: Bool, crashers: Bool = false) {
        self.aliases = aliases
        self.wakePathAPI = wakePathAPI
        self.counterDemand = counterDemand
        self.gatewayNamespaceLabels = gatewayNamespaceLabels
        self.wakePathRule = wakePathRule
        self.crashers = crashers
    }

    /// The whole contract (spec §3–§6).
    public static let spec = Profile(aliases: true, wakePathAPI: true, counterDemand: true, gatewayNamespaceLabels: true, wakePathRule: true)
    /// Only the promises a recommender without the newer features can keep.
    public static let core = Profile(aliases: false, wakePathAPI: false, counterDemand: false, gatewayNamespaceLabels: false, wakePathRule: false)

    /// `spec` or `core`.
    public static func named(_ name: String) -> Profile? {
        switch name {
        case "spec": .spec
        case "core": .core
        default: nil
        }
    }
}

/// Generates a random schedule from a seed.
public struct ScheduleGenerator: Sendable {
    /// The promises exercised.
    public var profile: Profile
    /// Adds what was added to the generator later (see ``addLater(_:retention:_:)``); off, a seed
    /// gives the schedule it gave before.
    var addsLater = true

    /// Creates a generator.
    public init(profile: Profile = .spec) { self.profile = profile }

    /// The metrics a fault can be about.
    static let vllmMetrics = [Fleet.requestsMetric, Fleet.runningMetric, Fleet.waitingMetric]

    /// The schedule of `seed`.
    public func generate(seed: UInt64) -> Schedule {
        var rng = SeededRandom(seed: seed)
        let scrape = rng.pick([1.0, 2, 5])
        let tick = rng.pick([1.0, 2, 5])
        let retentions = [10.0, 20, 30, 60].filter { $0 >= 4 * max(scrape, tick) }
        let retention = rng.pick(retentions.isEmpty ? [60] : retentions)
        let duration = min(retention * Double(rng.int(4...7)), 140 * tick).rounded()
        var schedule = Schedule(
            seed: seed, scrapeInterval: scrape, tickInterval: tick, duration: duration,
            forgetAfter: (retention * rng.double(1...2.5)).rounded(),
            flavour: rng.chance(0.8) ? .v3 : .v2,
            flowControl: profile.counterDemand ? rng.chance(0.7) : true,
            gatewayNamespaces: profile.gatewayNamespaceLabels ? rng.pick(GatewayNamespaces.allCases) : .none,
            models: [], config: [], events: [])

        var config: [EntryText] = [.good(EntrySpec(key: "default", enable: true, retention: retention))]
        if rng.chance(0.2) { config.append(.good(EntrySpec(key: "global", scaleToZeroAllowed: true))) }
        var kinds: [SimModel.Kind] = [.bursty]
        let optional: [SimModel.Kind] = [.idle, .busy, .bursty, .periodic, .protected, .grouped, .shared]
            + (profile.aliases ? [.aliased] : []) + (profile.wakePathAPI ? [.api] : [])
        for _ in 0..<rng.int(1...4) { kinds.append(rng.pick(optional)) }

        var models: [SimModel] = []
        var counter = 0
        func add(_ kind: SimModel.Kind, id: String? = nil, namespace: String? = nil) -> SimModel {
            counter += 1
            let modelID = id ?? "org/\(kind.rawValue)-\(counter)"
            var model = SimModel(
                id: modelID, namespace: namespace ?? rng.pick(["team-a", "team-b"]), kind: kind,
                servedName: modelID, requestedName: modelID, arrivals: [],
                serviceTime: rng.pick([1.0, 2, 3, 5]), coldStart: rng.pick([3.0, 8, 15, 30]), viaAPI: kind == .api)
            model.arrivals = traffic(kind, retention: retention, duration: duration, &rng)
            if kind == .aliased { model.requestedName = "\(kind.rawValue)-\(counter)-lora" }
            models.append(model)
            return model
        }
        for kind in kinds {
            switch kind {
            case .grouped:
                let group = "g\(counter)"
                let first = add(.grouped, namespace: "team-a")
                let second = add(.grouped, namespace: "team-a")
                config.append(.good(EntrySpec(key: "k\(counter)a", modelID: first.id, namespace: first.namespace, group: group)))
                config.append(.good(EntrySpec(key: "k\(counter)b", modelID: second.id, namespace: second.namespace, group: group)))
                if rng.chance(0.5) {  // the same group name in another namespace is another group
                    let other = add(.grouped, namespace: "team-b")
                    config.append(.good(EntrySpec(key: "k\(counter)c", modelID: other.id, namespace: other.namespace, group: group)))
                }
            case .shared:
                let id = "org/shared-\(counter)"
                _ = add(.shared, id: id, namespace: "team-a")
                _ = add(.shared, id: id, namespace: "team-b")
            default:
                let model = add(kind)
                var entry = EntrySpec(key: "k\(counter)", modelID: model.id, namespace: rng.chance(0.6) ? model.namespace : nil)
                if kind == .protected { entry.enable = false }
                if rng.chance(0.25) { entry.retention = rng.pick([10.0, 20, 30, 60].filter { $0 >= 4 * max(scrape, tick) } + [retention]) }
                if rng.chance(0.15) { entry.minReplicas = 2 }
                if kind == .aliased { entry.aliases = [model.requestedName] }
                if kind == .api { entry.wakePathAPI = true }
                let special = kind == .protected || kind == .aliased || kind == .api
                if special || entry.retention != nil || entry.minReplicas != nil || rng.chance(0.6) { config.append(.good(entry)) }
            }
        }
        schedule.models = models
        schedule.config = config
        schedule.events = events(schedule, &rng)
        // Later additions draw from a stream of their own: the schedule of a seed keeps every model,
        // entry and event it had before them, and gains the new ones.
        var later = SeededRandom(seed: seed ^ 0x7477_696E_5F6D_6178)
        if addsLater { addLater(&schedule, retention: retention, &later) }
        return schedule
    }

    /// Two ids of one namespace deriving the same `variant_name`, and `max_replicas` edits.
    func addLater(_ schedule: inout Schedule, retention: Double, _ rng: inout SeededRandom) {
        if rng.chance(0.15) {
            let n = schedule.models.count + 1
            for owner in ["org-x", "org-y"] {
                let id = "\(owner)/twin-\(n)"
                var model = SimModel(
                    id: id, namespace: "team-a", kind: .twin, servedName: id, requestedName: id, arrivals: [],
                    serviceTime: rng.pick([1.0, 2, 3]), coldStart: rng.pick([3.0, 8, 15]), viaAPI: false)
                model.arrivals = traffic(.twin, retention: retention, duration: schedule.duration, &rng)
                schedule.models.append(model)
            }
        }
        // A lowered `max_replicas` applies at once (scale-down stabilization included); sometimes lifted again.
        let entries = schedule.config.map(\.spec).filter { $0.modelID != nil }
        if !entries.isEmpty, rng.chance(0.35) {
            var spec = rng.pick(entries)
            spec.maxReplicas = max(spec.minReplicas ?? 1, rng.pick([1, 2]))
            let at = rng.double(0...schedule.duration).rounded()
            schedule.events.append(.setEntry(at: at, .good(spec)))
            if rng.chance(0.5) {
                spec.maxReplicas = nil
                schedule.events.append(.setEntry(at: min(schedule.duration, at + (schedule.duration * rng.double(0.1...0.4)).rounded()), .good(spec)))
            }
        }
        // A failover to an HA replica that started between 2 scrapes and R before it (its window is
        // short though every query succeeds), for the rest of the run or a while.
        if rng.chance(0.2) {
            let at = rng.double(0...schedule.duration).rounded()
            let since = max(0, (at - rng.double((2 * schedule.scrapeInterval)...max(2 * schedule.scrapeInterval, retention))).rounded())
            let end = rng.chance(0.5) ? schedule.duration : min(schedule.duration, at + (schedule.duration * rng.double(0.1...0.5)).rounded())
            schedule.events.append(.fault(.failover(dataSince: since), start: at, end: end))
        }
        // Scale-down stabilization: a size above a lowered max_replicas must not be held.
        if rng.chance(0.3) { schedule.scaleDownStabilization = rng.pick([3 * schedule.tickInterval, 60]) }
        // One gateway query failing while every other answers (a store holding only those series
        // down): the queue's or the request counters' blind stretch is its own.
        if rng.chance(0.25) {
            let metric = rng.pick([Fleet.queueMetric, Fleet.gatewayCounterMetric])
            let at = rng.double(0...schedule.duration).rounded()
            let end = min(schedule.duration, at + (schedule.duration * rng.double(0.05...0.3)).rounded())
            schedule.events.append(.fault(.queryFails(metric: metric), start: at, end: end))
        }
        // Clients that retry a rejected request only after longer than the gateway's window: the
        // rejection's count must be seen on its own (a new error counter's first value included).
        if rng.chance(0.25) { schedule.clientRetryAfter = 30 }
    }

    func traffic(_ kind: SimModel.Kind, retention: Double, duration: Double, _ rng: inout SeededRandom) -> [Double] {
        var times: [Double] = []
        switch kind {
        case .idle:
            if rng.chance(0.3) { times.append(rng.double(0...(duration / 3))) }
        case .busy:
            var t = rng.double(0...3)
            while t < duration {
                times.append(t)
                t += rng.double(0.5...4)
            }
        case .periodic:
            let period = retention * rng.pick([0.5, 0.9, 1.1, 1.5, 2])
            var t = rng.double(0...period)
            while t < duration {
                times.append(t)
                t += period
            }
        case .bursty, .protected, .grouped, .aliased, .api, .shared, .twin:
            for _ in 0..<rng.int(0...3) {
                let start = rng.double(0...(duration * 0.8))
                for _ in 0..<rng.int(1...5) { times.append(start + rng.double(0...4)) }
            }
        }
        return times.map { ($0 * 10).rounded() / 10 }.sorted()
    }

    func events(_ schedule: Schedule, _ rng: inout SeededRandom) -> [ScheduleEvent] {
        let duration = schedule.duration
        let tick = schedule.tickInterval
        var events: [ScheduleEvent] = []
        let refs = schedule.models.map(\.ref)
        func span() -> (Double, Double) {
            let start = rng.double(0...duration).rounded()
            let length: Double
            switch rng.int(0...3) {
            case 0: length = tick * Double(rng.int(1...3))
            case 1, 2: length = duration * rng.double(0.1...0.5)
            default: length = duration
            }
            return (start, min(duration, start + length.rounded(.up)))
        }
        for _ in 0..<rng.int(0...4) {
            let (start, end) = span()
            let kind: FaultKind
            switch rng.int(0...12) {
            case 0: kind = .refused
            case 1: kind = .unavailable
            case 2: kind = .slow(seconds: rng.pick([0.5, Simulation.clientTimeout + 1]))
            case 3: kind = .unauthorized
            case 4, 5:
                let hidden = refs.filter { _ in rng.chance(0.5) }
                let metrics = Self.vllmMetrics.filter { _ in rng.chance(0.7) }
                kind = .partial(thanos: rng.chance(0.5), models: hidden.isEmpty ? [rng.pick(refs)] : hidden, metrics: metrics.isEmpty ? [Fleet.requestsMetric] : metrics)
            case 6: kind = .nonFinite(model: rng.pick(refs), metric: rng.pick(Self.vllmMetrics), value: rng.pick([Double.nan, .infinity]))
            case 7: kind = .scrapeGap(model: rng.pick(refs))
            case 8: kind = .gatewayGap
            case 9: kind = .missingSeries(model: rng.pick(refs), metric: rng.pick(Self.vllmMetrics))
            case 10: kind = .tsdbRestart
            case 11: kind = .harmlessAnnotations
            default: kind = profile.crashers && rng.chance(0.3) ? .corruptRecovery : .refused
            }
            events.append(.fault(kind, start: start, end: end))
        }
        // ConfigMap edits, good and bad.
        let keys = schedule.config.map(\.spec).filter { $0.key != "global" }
        for _ in 0..<rng.int(0...3) {
            let at = rng.double(0...duration).rounded()
            var spec = rng.pick(keys)
            if rng.chance(0.5) {
                // A bad edit that, applied anyway, would be more aggressive.
                var intended = spec
                intended.enable = true
                intended.retention = 1
                events.append(.setEntry(at: at, .bad(rng.pick(BreakKind.allCases), intended: intended)))
                if rng.chance(0.5) { events.append(.setEntry(at: min(duration, at + (duration * rng.double(0.1...0.4)).rounded()), .good(spec))) }
            } else {
                switch rng.int(0...3) {
                case 0: spec.enable = !(spec.enable ?? true)
                case 1: spec.retention = rng.pick([10.0, 20, 30, 60].filter { $0 >= 4 * max(schedule.scrapeInterval, tick) })
                case 2: spec.minReplicas = (spec.minReplicas ?? 1) + 1
                default:
                    if spec.key != "default" && !spec.wakePathAPI && spec.aliases.isEmpty && spec.group == nil {
                        events.append(.removeEntry(at: at, key: spec.key))
                        continue
                    }
                    spec.enable = true
                }
                events.append(.setEntry(at: at, .good(spec)))
            }
        }
        if rng.chance(0.3) {  // a kill-switch episode
            let on = rng.double(0...duration).rounded()
            events.append(.setEntry(at: on, .good(EntrySpec(key: "global", scaleToZeroAllowed: false))))
            if rng.chance(0.7) { events.append(.setEntry(at: min(duration, on + (duration * rng.double(0.05...0.3)).rounded()), .good(EntrySpec(key: "global", scaleToZeroAllowed: true)))) }
        }
        for _ in 0..<rng.int(0...2) where rng.chance(0.5) {
            events.append(.restart(at: rng.double(0...duration).rounded(), down: tick * Double(rng.int(0...3))))
        }
        if rng.chance(0.2) { events.append(.containerRestart(at: rng.double(0...duration).rounded(), model: rng.pick(refs))) }
        return events
    }
}
