import Backtest
import Foundation
import Logging
import ModelConfig
import PrometheusClient
import Recommendation
import Testing
@testable import RecommenderService

/// The live service (the engine, fed the signals Prometheus would answer) and `backtest` (the
/// decision core in virtual time) make the same decisions on the same inputs — learned keep-alive,
/// pre-warm and a restart included.
struct BacktestEquivalenceTests {
    /// Two days of a small mixed fleet.
    static let trace: Trace = {
        var generator = FleetGenerator(duration: 2 * 86_400, seed: 7)
        generator.counts = [.timer: 4, .rare: 2, .poisson: 2, .diurnal: 1, .bursty: 2, .busy: 1, .mixed: 1]
        return generator.generate()
    }()

    /// Adaptive keep-alive with pre-warm for every model but one, which keeps a fixed 10 minutes.
    static let entries = [
        RawEntry(key: "default", text: "enable_scale_to_zero: true\nretention_period: 1h\nkeep_alive: adaptive\ncold_start_cost: 30m\n",
                 location: EntryLocation(file: "cm")),
        RawEntry(key: "steady", text: "model_id: poisson-000\nkeep_alive: fixed\nretention_period: 10m\n", location: EntryLocation(file: "cm")),
    ]

    static var configs: [ResolvedModelConfig] {
        let resolver = ConfigResolver(config: ModelConfigSet.build(entries: entries, previous: nil), environmentScaleToZero: nil)
        return trace.models.map(resolver.resolve)
    }

    static func engine() -> Engine {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return Engine(options: EngineOptions(), logger: logger)
    }

    /// What Prometheus would answer the engine's queries at this tick: the replay's signals, by
    /// series identity, with the requests window of the retention each model is queried with.
    static func fleet(_ tick: ReplayTick, _ models: [ModelKey]) -> FleetSignals {
        var requests: [ConfigDuration: [ModelKey: Double]] = [:]
        var running: [ModelKey: Double] = [:], waiting: [ModelKey: Double] = [:], ready: [ModelKey: Double] = [:], kv: [ModelKey: Double] = [:]
        var demand: [GatewayKey: Double] = [:], gateway: [GatewayKey: Double] = [:]
        for (index, key) in models.enumerated() {
            let s = tick.inputs[index].signals
            requests[tick.retentions[index], default: [:]][key] = s.requests
            if let value = s.ready, value > 0 {
                ready[key] = value
                running[key] = s.running
                waiting[key] = s.waiting
                kv[key] = s.kvCacheUsage
            }
            demand[GatewayKey(namespace: key.namespace, name: key.modelID)] = s.demand
            gateway[GatewayKey(namespace: key.namespace, name: key.modelID)] = s.gatewayRequests
        }
        return FleetSignals(
            requests: requests.mapValues { .success($0) }, running: .success(running), waiting: .success(waiting), ready: .success(ready),
            kvCache: .success(kv), demand: .success(demand), gatewayRequests: .success(gateway))
    }

    /// Replays through the engine; with `options.restartEvery` the engine is replaced that often by a
    /// fresh one that recovers from what the old one exported on `/metrics`.
    static func replayThroughEngine(options: ReplayOptions) async throws -> (Replay, Int) {
        var engine = engine()
        await engine.loadConfig(entries, now: Instant(seconds: 0))
        await engine.recover(.success([:]), now: Instant(seconds: 0))
        var replay = Replay(trace: trace, configs: configs, options: options, recordChanges: true)
        var nextRestart = options.restartEvery ?? .infinity
        var prewarms = 0
        while let time = replay.nextTime {
            if time >= nextRestart {
                nextRestart += options.restartEvery ?? .infinity
                prewarms += await engine.metrics.prewarms
                let page = await engine.renderMetrics()
                let exported = parseMetrics(page)
                engine = Self.engine()
                await engine.loadConfig(entries, now: Instant(seconds: time))
                await engine.recover(
                    .success(Self.byModel(exported["inferno_desired_replicas"] ?? [])),
                    wakePaths: .success(Self.byModel(exported["recommender_model_gateway_last_seen_timestamp_seconds"] ?? [])), now: Instant(seconds: time))
                var learned: [ModelKey: LearnedValues] = [:]
                for gauge in LearnedGauge.allCases {
                    for (key, labels, value) in exported[gauge.rawValue] ?? [] {
                        gauge.absorb(gauge.label.flatMap { labels[$0] }, value, into: &learned[key, default: LearnedValues()])
                    }
                }
                await engine.recoverLearned(.success(learned))
            }
            let tick = replay.nextTick()!
            await engine.tick(fleet(tick, trace.models), outcomes: [], duration: 0, now: Instant(seconds: tick.time))
            var decisions: [Decision] = []
            for key in trace.models { decisions.append(try #require(await engine.decision(for: key))) }
            replay.apply(decisions)
        }
        return (replay, prewarms + (await engine.metrics.prewarms))
    }

    static func byModel(_ samples: [(ModelKey, [String: String], Double)]) -> [ModelKey: Double] {
        Dictionary(samples.map { ($0.0, $0.2) }, uniquingKeysWith: max)
    }

    /// `name{labels} value` lines → metric → (model, labels, value).
    static func parseMetrics(_ text: String) -> [String: [(ModelKey, [String: String], Double)]] {
        var out: [String: [(ModelKey, [String: String], Double)]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let brace = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}"), let value = Double(line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)) else { continue }
            var labels: [String: String] = [:]
            for pair in line[line.index(after: brace)..<close].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            guard let namespace = labels["namespace"], let model = labels["model_name"] else { continue }
            out[String(line[..<brace]), default: []].append((ModelKey(namespace: namespace, modelID: model), labels, value))
        }
        return out
    }

    @Test func theServiceAndTheBacktestDecideTheSameOnTheSameInputs() async throws {
        let options = ReplayOptions()
        let core = Backtest.run(trace: Self.trace, configs: Self.configs, options: options, name: "core", recordChanges: true)
        let (live, prewarms) = try await Self.replayThroughEngine(options: options)
        #expect(live.changes.count == core.changes.count)
        #expect(live.changes == core.changes)
        // The fleet exercises what the comparison is about: learned retentions, pre-warms, zeros.
        #expect(core.result.fleet.prewarms > 0 && prewarms == core.result.fleet.prewarms)
        #expect(core.changes.contains { $0.desired == 0 })
        #expect(Set(core.result.models.map(\.retentionSeconds)).count > 2)
    }

    @Test func aRestartedServiceDecidesLikeTheBacktestOfARestart() async throws {
        var options = ReplayOptions()
        options.restartEvery = 86_400
        let core = Backtest.run(trace: Self.trace, configs: Self.configs, options: options, name: "core", recordChanges: true)
        let (live, _) = try await Self.replayThroughEngine(options: options)
        #expect(core.result.restarts == 2)
        #expect(live.changes == core.changes)
        // And the restart mattered: without it, decisions differ after the first day.
        let uninterrupted = Backtest.run(trace: Self.trace, configs: Self.configs, options: ReplayOptions(), name: "core", recordChanges: true)
        #expect(uninterrupted.changes != core.changes)
    }
}
