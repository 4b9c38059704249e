import Dispatch
import Foundation
import ModelConfig
import Recommendation

/// How a backtest runs: the recommender's tick and Prometheus' scrape, the world's parameters,
/// and the decision policy of the service.
public struct ReplayOptions: Sendable {
    /// Seconds between ticks (`--interval`, the service's default 15 s).
    public var interval: Double
    /// Seconds between scrapes of the vLLM pods and the gateway (`--scrape-interval`; the service's
    /// requests window is the retention plus one scrape).
    public var scrapeInterval: Double
    /// The world: cold start, service time, concurrency, gateway queue.
    public var world: WorldParameters
    /// Per-model cold starts (measured ones from history), overriding `world.coldStart`.
    public var coldStarts: [ModelKey: Double]
    /// The service's decision policy (kill switch, scale-down stabilization, wake-path rule).
    public var policy: Policy
    /// Restart the recommender this often (seconds): its state is replaced by what it reads back
    /// from Prometheus at start. Nil: never.
    public var restartEvery: Double?
    /// The end of the replay in seconds; nil: the last arrival, rounded up to a tick.
    public var end: Double?

    /// Creates options; the defaults are the service's.
    public init(
        interval: Double = 15, scrapeInterval: Double = 30, world: WorldParameters = WorldParameters(), coldStarts: [ModelKey: Double] = [:],
        policy: Policy = Policy(scaleDownStabilization: 60), restartEvery: Double? = nil, end: Double? = nil
    ) {
        self.interval = interval
        self.scrapeInterval = scrapeInterval
        self.world = world
        self.coldStarts = coldStarts
        self.policy = policy
        self.restartEvery = restartEvery
        self.end = end
    }
}

/// One tick of a replay: the time and, per model, what the decision core is given — the signals
/// synthesized the way Prometheus would present them, and the retention whose requests window
/// they hold.
public struct ReplayTick: Sendable {
    /// Seconds from the trace start.
    public let time: Double
    /// Per model (the replay's order): configuration, signals, state.
    public let inputs: [DecisionInput]
    /// Per model: the retention R of the requests window `[R + scrape]` in its signals.
    public let retentions: [ConfigDuration]
}

/// A change of one model's recommendation.
public struct DecisionChange: Sendable, Hashable {
    /// Index of the model in the replay.
    public let model: Int
    /// Seconds from the trace start.
    public let time: Double
    /// The new desired replica count.
    public let desired: Int
    /// Its reason.
    public let reason: Reason
}

/// A request history replayed through the decision core in virtual time: at every tick the
/// world is advanced to the tick, Prometheus' view of it is synthesized, the core decides, and
/// the decisions are acted on the way HPA or KEDA would (at once; their own delays are part of the
/// cold start). Step by step (`nextTick`, `apply`), so a test can put the live engine in the core's
/// place.
///
/// Prometheus' view, per model, at a tick at `t` with scrapes every `Δ` (at multiples of `Δ`):
/// gauges (running, waiting, ready replicas, KV-cache, the gateway queue) and the gateway's request
/// counter as of the last scrape `s ≤ t`; the requests window `increase(...[R + Δ])` as the requests
/// completed between the first scrape inside the window and `s`. Not modelled: `increase()`'s
/// extrapolation (it changes the count, never whether it is zero), a fresh pod's first scrape
/// (completions before it are not counted by Prometheus, they are here), scrape jitter, and
/// query failures (every signal is known: the evidence rules' behaviour under outages is tested
/// elsewhere).
public struct Replay {
    /// The models, as in the trace.
    public let models: [ModelKey]
    /// Their resolved configurations.
    public let configs: [ResolvedModelConfig]
    /// The options.
    public let options: ReplayOptions
    /// The last tick's time is at most this.
    public let end: Double
    /// Each model's state after the last decision.
    public var states: [ModelState] { inputs.map(\.state) }
    /// Each model's last recommendation.
    public private(set) var desired: [Int?]
    /// Every change of recommendation (recorded when asked for).
    public private(set) var changes: [DecisionChange] = []
    /// Pre-warm wakes per model.
    public private(set) var prewarms: [Int]
    /// Restarts of the recommender so far.
    public private(set) var restarts = 0

    var worlds: [ModelWorld]
    private var scrapes: [Scrape]
    private var lastScrape = -Double.infinity
    private var tickIndex = 0
    private var nextRestart: Double
    private var inputs: [DecisionInput]
    private var cursors: [WindowCursor]
    /// Per model, the gateway's request counter at the last four scrapes: its increase over three
    /// scrape intervals is the service's gateway-requests signal.
    private var gatewayCounts: [[Int]]
    private let recordChanges: Bool
    private var currentTime = 0.0

    /// Starts a replay: every model up with one ready replica at t = 0, the recommender fresh.
    public init(trace: Trace, configs: [ResolvedModelConfig], options: ReplayOptions, recordChanges: Bool = false) {
        precondition(trace.models.count == configs.count, "one configuration per model")
        models = trace.models
        self.configs = configs
        self.options = options
        self.recordChanges = recordChanges
        let last = options.end ?? trace.lastArrival
        end = (last / options.interval).rounded(.up) * options.interval
        worlds = zip(trace.models, trace.arrivals).map { key, arrivals in
            var parameters = options.world
            if let coldStart = options.coldStarts[key] { parameters.coldStart = coldStart }
            return ModelWorld(parameters: parameters, arrivals: arrivals, initialReplicas: 1)
        }
        desired = Array(repeating: nil, count: configs.count)
        prewarms = Array(repeating: 0, count: configs.count)
        scrapes = Array(repeating: Scrape(), count: configs.count)
        gatewayCounts = Array(repeating: [], count: configs.count)
        // The sources of each field do not matter to a decision; without them a configuration is
        // copied without retaining a string per field (the core copies it every tick).
        inputs = configs.map { DecisionInput(config: $0.withoutSources, signals: ModelSignals(), state: ModelState()) }
        cursors = Array(repeating: WindowCursor(), count: configs.count)
        nextRestart = options.restartEvery ?? .infinity
    }

    /// The time of the next tick, nil once the replay is over.
    public var nextTime: Double? {
        let time = Double(tickIndex) * options.interval
        return time <= end + 1e-9 ? time : nil
    }

    /// Advances the world to the next tick and returns what the decision core is given; nil once
    /// the replay is over.
    public mutating func nextTick() -> ReplayTick? {
        guard let time = nextTime else { return nil }
        currentTime = time
        if time >= nextRestart {
            restart()
            nextRestart += options.restartEvery ?? .infinity
        }
        let scrapeInterval = options.scrapeInterval
        let scrape = (time / scrapeInterval).rounded(.down) * scrapeInterval
        let fresh = scrape > lastScrape
        var retentions: [ConfigDuration] = []
        retentions.reserveCapacity(models.count)
        for i in worlds.indices {
            if fresh {
                worlds[i].advance(to: scrape)
                scrapes[i] = worlds[i].scrape
                gatewayCounts[i].append(scrapes[i].arrived)
                if gatewayCounts[i].count > 4 { gatewayCounts[i].removeFirst() }
            }
            worlds[i].advance(to: time)
            let retention = KeepAlive.retention(inputs[i].config, inputs[i].state)
            retentions.append(retention)
            let window = retention.seconds + scrapeInterval
            let first = ((time - window) / scrapeInterval).rounded(.down) * scrapeInterval + scrapeInterval
            let view = scrapes[i]
            let capacity = Double(view.ready * worlds[i].parameters.concurrency)
            let completed = cursors[i].count(worlds[i].completions, after: first, upTo: scrape)
            inputs[i].signals = ModelSignals(
                requests: Double(completed), running: Double(view.running),
                waiting: Double(view.waiting), ready: Double(view.ready), kvCacheUsage: capacity > 0 ? Double(view.running) / capacity : 0,
                demand: Double(view.queued),
                gatewayRequests: Double((gatewayCounts[i].last ?? 0) - (gatewayCounts[i].first ?? 0)), gatewaySeen: true)
        }
        if fresh { lastScrape = scrape }
        return ReplayTick(time: time, inputs: inputs, retentions: retentions)
    }

    /// Acts on the decisions of the tick `nextTick` returned (one per model, in order).
    public mutating func apply(_ decisions: [Decision]) {
        for (i, decision) in decisions.enumerated() {
            inputs[i].state = decision.state
            act(i, desired: decision.desired, reason: decision.reason, woke: decision.woke)
        }
        tickIndex += 1
    }

    private mutating func act(_ i: Int, desired value: Int, reason: Reason, woke: Bool) {
        if woke && reason == .prewarm { prewarms[i] += 1 }
        guard desired[i] != value else { return }
        desired[i] = value
        if recordChanges { changes.append(DecisionChange(model: i, time: currentTime, desired: value, reason: reason)) }
        worlds[i].scale(to: value)
    }

    /// A restart of the recommender: each model keeps only what the service reads back from
    /// Prometheus — its last recommendation, when the gateway was last seen routing it (exported
    /// once a minute), and the learned values adaptive keep-alive exports.
    mutating func restart() {
        restarts += 1
        for i in inputs.indices {
            let old = inputs[i].state
            inputs[i].state = ModelState(
                desired: old.desired, gatewaySeenAt: old.gatewaySeenAt.map { Instant(seconds: ($0.seconds / 60).rounded(.down) * 60) },
                keepAlive: KeepAliveState(recovered: old.keepAlive.exported(configs[i], old)))
        }
    }

    /// Advances every model's world to the end and returns the statistics.
    public mutating func finish(name: String) -> RunResult {
        for i in worlds.indices { worlds[i].advance(to: end) }
        let results = models.indices.map { i in
            ModelResult(model: models[i], world: worlds[i], prewarms: prewarms[i], retention: KeepAlive.retention(configs[i], inputs[i].state).seconds)
        }
        return RunResult(name: name, seconds: end, models: results, restarts: restarts)
    }
}

/// Runs whole backtests.
public enum Backtest {
    /// Replays `trace` with `configs` (one per model of the trace) through the decision core.
    /// `progress` is called now and then with the fraction done. With `threads` > 1 the models are
    /// split into that many shards replayed in parallel (a group's models stay together: the core
    /// decides a group at once); the results are the same.
    public static func run(
        trace: Trace, configs: [ResolvedModelConfig], options: ReplayOptions, name: String, recordChanges: Bool = false,
        threads: Int = 1, progress: (@Sendable (Double) -> Void)? = nil
    ) -> (result: RunResult, changes: [DecisionChange]) {
        var whole = options
        whole.end = options.end ?? trace.lastArrival  // the whole trace's end, not a shard's
        let options = whole
        let shards = shard(trace: trace, configs: configs, count: threads)
        guard shards.count > 1 else {
            return runShard(trace: trace, configs: configs, options: options, name: name, recordChanges: recordChanges, progress: progress)
        }
        let outputs = ShardOutputs(count: shards.count)
        DispatchQueue.concurrentPerform(iterations: shards.count) { (index: Int) in
            let run = runPart(
                shards[index], trace: trace, configs: configs, options: options, name: name, recordChanges: recordChanges,
                progress: index == 0 ? progress : nil)
            outputs.set(index, run)
        }
        var models = Array(repeating: Optional<ModelResult>.none, count: trace.models.count)
        var changes: [DecisionChange] = []
        var seconds = 0.0, restarts = 0
        for (members, run) in zip(shards, outputs.values) {
            for (local, global) in members.enumerated() { models[global] = run.result.models[local] }
            changes += run.changes.map { DecisionChange(model: members[$0.model], time: $0.time, desired: $0.desired, reason: $0.reason) }
            seconds = max(seconds, run.result.seconds)
            restarts = max(restarts, run.result.restarts)
        }
        changes.sort { ($0.time, $0.model) < ($1.time, $1.model) }
        return (RunResult(name: name, seconds: seconds, models: models.map { $0! }, restarts: restarts), changes)
    }

    /// Replays the models `members` (ascending indices of `trace`) on their own.
    static func runPart(
        _ members: [Int], trace: Trace, configs: [ResolvedModelConfig], options: ReplayOptions, name: String, recordChanges: Bool,
        progress: (@Sendable (Double) -> Void)?
    ) -> (result: RunResult, changes: [DecisionChange]) {
        var byModel: [ModelKey: [Double]] = [:]
        for i in members { byModel[trace.models[i]] = trace.arrivals[i] }
        // Trace sorts its models: ascending indices of a sorted trace keep that order.
        let part = Trace(arrivals: byModel, hasNamespaces: trace.hasNamespaces)
        return runShard(trace: part, configs: members.map { configs[$0] }, options: options, name: name, recordChanges: recordChanges, progress: progress)
    }

    /// Model indices in `count` shards of about equal requests, each group's models in one shard,
    /// ascending within a shard.
    static func shard(trace: Trace, configs: [ResolvedModelConfig], count: Int) -> [[Int]] {
        guard count > 1, trace.models.count > 1 else { return [Array(trace.models.indices)] }
        var units: [String: [Int]] = [:]
        for i in trace.models.indices {
            let key = configs[i].group.map { "group\u{0}\(configs[i].model.namespace)\u{0}\($0)" } ?? "model\u{0}\(i)"
            units[key, default: []].append(i)
        }
        var shards = Array(repeating: [Int](), count: count)
        var load = Array(repeating: 0, count: count)
        // Every model costs a tick's decision; requests cost the world's events.
        let weight = { (members: [Int]) in members.reduce(0) { $0 + 2000 + trace.arrivals[$1].count } }
        for unit in units.values.sorted(by: { weight($0) > weight($1) || (weight($0) == weight($1) && $0[0] < $1[0]) }) {
            let target = load.indices.min { load[$0] < load[$1] }!
            shards[target] += unit
            load[target] += weight(unit)
        }
        return shards.filter { !$0.isEmpty }.map { $0.sorted() }
    }

    static func runShard(
        trace: Trace, configs: [ResolvedModelConfig], options: ReplayOptions, name: String, recordChanges: Bool,
        progress: ((Double) -> Void)?
    ) -> (result: RunResult, changes: [DecisionChange]) {
        var replay = Replay(trace: trace, configs: configs, options: options, recordChanges: recordChanges)
        let total = max(1, Int(replay.end / options.interval))
        var ticks = 0
        // The replay reads counts, reasons and states, never the details in words.
        var policy = options.policy
        policy.details = false
        while replay.nextTime != nil {
            // The tick's inputs share storage with the replay's: released before `apply` writes
            // the new states, they are not copied.
            let decisions = decide(&replay, policy: policy)
            replay.apply(decisions)
            ticks += 1
            if ticks % 2048 == 0 { progress?(Double(ticks) / Double(total)) }
        }
        progress?(1)
        return (replay.finish(name: name), replay.changes)
    }

    private static func decide(_ replay: inout Replay, policy: Policy) -> [Decision] {
        guard let tick = replay.nextTick() else { return [] }
        return Recommender.recommend(tick.inputs, policy: policy, now: Instant(seconds: tick.time))
    }
}

/// The indices of a moving window `(after, upTo]` in an ascending array: ticks move both bounds
/// forward, so each step scans a few elements instead of searching the whole history.
struct WindowCursor {
    private var low = 0, high = 0

    mutating func count(_ values: [Double], after: Double, upTo: Double) -> Int {
        guard upTo > after else { return 0 }
        high = Self.move(high, values, upTo)
        low = Self.move(min(low, high), values, after)
        return high - low
    }

    /// The number of elements ≤ `bound`, starting the scan at `index`.
    private static func move(_ index: Int, _ values: [Double], _ bound: Double) -> Int {
        var i = min(index, values.count)
        if i > 0, values[i - 1] > bound { return ModelWorld.upperBound(values, bound) }
        while i < values.count, values[i] <= bound { i += 1 }
        return i
    }
}

extension ResolvedModelConfig {
    /// The same configuration without the source of each field.
    var withoutSources: ResolvedModelConfig {
        ResolvedModelConfig(
            model: model, enableScaleToZero: enableScaleToZero, retention: retention, variantName: variantName, minReplicas: minReplicas,
            maxReplicas: maxReplicas, targetConcurrency: targetConcurrency, group: group, aliases: aliases, wakePath: wakePath,
            keepAlive: keepAlive, coldStartCost: coldStartCost, minRetention: minRetention, prewarm: prewarm,
            targetKVCacheUtilization: targetKVCacheUtilization, maxWaitingPerReplica: maxWaitingPerReplica)
    }
}

/// The shards' results, each written once by its own iteration.
final class ShardOutputs: @unchecked Sendable {
    // @unchecked: every index is written by exactly one iteration of `concurrentPerform`, under the
    // lock, and read only after it returned.
    private var items: [(result: RunResult, changes: [DecisionChange])?]
    private let lock = NSLock()

    init(count: Int) { items = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: (result: RunResult, changes: [DecisionChange])) {
        lock.lock()
        items[index] = value
        lock.unlock()
    }

    var values: [(result: RunResult, changes: [DecisionChange])] { items.map { $0! } }
}
