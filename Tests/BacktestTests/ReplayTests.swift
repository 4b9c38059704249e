import Foundation
import VLLMSimulator
import ModelConfig
import Recommendation
import Testing
@testable import Backtest

func fixed(_ id: String, retention: Int64, enable: Bool = true) -> ResolvedModelConfig {
    ResolvedModelConfig(model: ModelKey(namespace: "default", modelID: id), enableScaleToZero: enable, retention: ConfigDuration(seconds: retention))
}

struct ReplayTests {
    @Test func aModelGoesToZeroItsRetentionAfterItsLastRequestNeverBefore() {
        // The last request arrives at 100 s and completes at 102 s.
        let trace = Trace(arrivals: [ModelKey(namespace: "default", modelID: "m"): [50, 100]], hasNamespaces: false)
        var options = ReplayOptions()
        options.end = 3600
        let run = Backtest.run(trace: trace, configs: [fixed("m", retention: 300)], options: options, name: "r", recordChanges: true)
        let zero = try! #require(run.changes.first { $0.desired == 0 })
        #expect(zero.time >= 102 + 300)
        #expect(zero.time <= 102 + 300 + options.interval + options.scrapeInterval)
        #expect(zero.reason == .idle)
    }

    @Test func demandAtZeroWakesTheModelWithinATickAndAScrape() {
        let trace = Trace(arrivals: [ModelKey(namespace: "default", modelID: "m"): [2000]], hasNamespaces: false)
        var options = ReplayOptions()
        options.end = 3600
        let run = Backtest.run(trace: trace, configs: [fixed("m", retention: 60)], options: options, name: "r", recordChanges: true)
        let wake = try! #require(run.changes.first { $0.desired == 1 && $0.time > 0 })
        #expect(wake.time >= 2000 && wake.time <= 2000 + options.interval + options.scrapeInterval)
        #expect(wake.reason == .wake)
        let model = run.result.models[0]
        #expect(model.coldStarts == 1 && model.waited == 1)
        #expect(model.wait(1) >= options.world.coldStart && model.wait(1) <= options.world.coldStart + options.interval + options.scrapeInterval)
    }

    @Test func everyModelStartsUpWithOneReplica() {
        let trace = Trace(arrivals: [ModelKey(namespace: "default", modelID: "protected"): [10]], hasNamespaces: false)
        var options = ReplayOptions()
        options.end = 7200
        let run = Backtest.run(trace: trace, configs: [fixed("protected", retention: 60, enable: false)], options: options, name: "r", recordChanges: true)
        #expect(run.result.models[0].gpuHours == 2)
        #expect(run.changes.map(\.desired) == [1])
        #expect(run.changes.first?.time == 0)
    }

    @Test func aReplayIsDeterministic() {
        var generator = FleetGenerator(duration: 86_400, seed: 3)
        generator.counts = [.timer: 2, .bursty: 2, .poisson: 2]
        let trace = generator.generate()
        let configs = trace.models.map { ResolvedModelConfig(model: $0, enableScaleToZero: true, keepAlive: .adaptive) }
        let first = Backtest.run(trace: trace, configs: configs, options: ReplayOptions(), name: "a", recordChanges: true)
        let second = Backtest.run(trace: trace, configs: configs, options: ReplayOptions(), name: "a", recordChanges: true)
        #expect(first.changes == second.changes)
        #expect(first.result.fleet.gpuHours == second.result.fleet.gpuHours)
    }

    @Test func aReplayInParallelShardsGivesTheSameResults() {
        var generator = FleetGenerator(duration: 86_400, seed: 8)
        generator.counts = [.timer: 3, .bursty: 3, .poisson: 2, .busy: 1]
        let trace = generator.generate()
        let configs = trace.models.enumerated().map { index, key in
            ResolvedModelConfig(model: key, enableScaleToZero: true, group: index < 2 ? "pipeline" : nil, keepAlive: .adaptive)
        }
        let single = Backtest.run(trace: trace, configs: configs, options: ReplayOptions(), name: "a", recordChanges: true)
        let sharded = Backtest.run(trace: trace, configs: configs, options: ReplayOptions(), name: "a", recordChanges: true, threads: 2)
        #expect(sharded.changes == single.changes)
        #expect(sharded.result.models.map(\.gpuHours) == single.result.models.map(\.gpuHours))
        #expect(sharded.result.models.map(\.model) == trace.models)
        let shards = Backtest.shard(trace: trace, configs: configs, count: 2)
        #expect(shards.count == 2)
        #expect(shards.contains { $0.contains(0) && $0.contains(1) })
    }

    @Test func decisionsWithoutDetailsAreTheSameDecisions() {
        // The replay turns the words off; every count, reason and state must be the same with them.
        var generator = FleetGenerator(duration: 86_400, seed: 12)
        generator.counts = [.timer: 2, .bursty: 2, .busy: 1, .poisson: 1, .diurnal: 1, .mixed: 1]
        let trace = generator.generate()
        let configs = trace.models.enumerated().map { index, key in
            ResolvedModelConfig(
                model: key, enableScaleToZero: index != 0, maxReplicas: index == 3 ? 1 : nil, targetConcurrency: index == 4 ? 2 : nil,
                group: index == 5 || index == 6 ? "pair" : nil, keepAlive: index % 2 == 0 ? .adaptive : .fixed, prewarm: index % 2 == 0)
        }
        var replay = Replay(trace: trace, configs: configs, options: ReplayOptions())
        let verbose = Policy(scaleDownStabilization: 60), terse = Policy(scaleDownStabilization: 60, details: false)
        var compared = 0, reasons = Set<Reason>()
        while let tick = replay.nextTick() {
            let now = Instant(seconds: tick.time)
            let worded = Recommender.recommend(tick.inputs, policy: verbose, now: now)
            let bare = Recommender.recommend(tick.inputs, policy: terse, now: now)
            for (a, b) in zip(worded, bare) {
                #expect(a.desired == b.desired && a.reason == b.reason && a.state == b.state && a.phase == b.phase)
                reasons.insert(a.reason)
            }
            compared += worded.count
            replay.apply(bare)
        }
        #expect(compared > 40_000)
        #expect(reasons.isSuperset(of: [.active, .idle, .wake, .prewarm]))
    }

    @Test func aLongerFixedRetentionCostsMoreAndColdStartsLess() {
        var generator = FleetGenerator(duration: 2 * 86_400, seed: 5)
        generator.counts = [.poisson: 4, .bursty: 4, .rare: 4]
        let trace = generator.generate()
        func run(_ retention: Int64) -> FleetResult {
            Backtest.run(trace: trace, configs: trace.models.map { fixed($0.modelID, retention: retention) }, options: ReplayOptions(), name: "").result.fleet
        }
        let short = run(60), long = run(3600)
        #expect(short.gpuHours < long.gpuHours)
        #expect(short.coldStarts > long.coldStarts)
        #expect(short.requests == trace.requestCount)
    }

    @Test func decisionsAreWrittenWithAHeaderAndARowAtZeroPerModel() {
        let trace = Trace(arrivals: [
            ModelKey(namespace: "default", modelID: "a"): [10], ModelKey(namespace: "default", modelID: "b,c"): [20],
        ], hasNamespaces: false)
        var options = ReplayOptions()
        options.end = 1200
        let run = Backtest.run(trace: trace, configs: [fixed("a", retention: 60), fixed("b,c", retention: 60)], options: options, name: "", recordChanges: true)
        let csv = decisionsCSV(run.changes, models: trace.models, namespaces: false)
        let lines = csv.split(separator: "\n").map(String.init)
        #expect(lines[0] == "model,timestamp_s,desired_replicas")
        #expect(lines[1] == "a,0,1")
        #expect(lines[2] == "\"b,c\",0,1")
        #expect(lines.dropFirst(3).allSatisfy { $0.hasSuffix(",0") || $0.hasSuffix(",1") })
        let withNamespaces = decisionsCSV(run.changes, models: trace.models, namespaces: true)
        #expect(withNamespaces.hasPrefix("model,timestamp_s,desired_replicas,namespace\na,0,1,default\n"))
    }

    @Test func aRestartKeepsTheRecommendationAndTheLearnedValues() {
        var generator = FleetGenerator(duration: 86_400, seed: 9)
        generator.counts = [.timer: 3]
        let trace = generator.generate()
        let configs = trace.models.map { ResolvedModelConfig(model: $0, enableScaleToZero: true, keepAlive: .adaptive) }
        var replay = Replay(trace: trace, configs: configs, options: ReplayOptions())
        while let tick = replay.nextTick(), tick.time < 43_200 {
            replay.apply(Recommender.recommend(tick.inputs, policy: Policy(), now: Instant(seconds: tick.time)))
        }
        let before = replay.states
        replay.restart()
        for (old, new) in zip(before, replay.states) {
            #expect(new.desired == old.desired)
            #expect(new.observedSince == nil && new.lastWake == nil)
            #expect(new.keepAlive.period == old.keepAlive.period)
        }
    }
}

struct AlternativeTests {
    @Test func alternativesParse() throws {
        let list = try Alternative.parseList("fixed:10m, adaptive,prewarm:cost=20m:max=1h:min=30s")
        #expect(list.map(\.name) == ["fixed:10m", "adaptive", "prewarm:cost=20m:max=1h:min=30s"])
        #expect(list[0].keepAlive == .fixed && list[0].retention == ConfigDuration(seconds: 600))
        #expect(list[1].keepAlive == .adaptive && !list[1].prewarm)
        #expect(list[2].prewarm && list[2].coldStartCost == ConfigDuration(seconds: 1200) && list[2].minRetention == ConfigDuration(seconds: 30))
    }

    @Test(arguments: ["fixed", "fixed:soon", "adaptive:cost", "adaptive:speed=1m", "lru:5m", "fixed:0s"])
    func badAlternativesAreRejectedWithWhatWasExpected(text: String) {
        #expect(throws: AlternativeError.self) { try Alternative.parse(text) }
    }

    @Test func anAlternativeLeavesModelsWithoutScaleToZeroAlone() throws {
        let protected = fixed("p", retention: 600, enable: false)
        #expect(try Alternative.parse("fixed:1m").apply(to: protected) == protected)
        let open = try Alternative.parse("prewarm:max=30s").apply(to: fixed("o", retention: 600))
        #expect(open.keepAlive == .adaptive && open.prewarm && open.retention == ConfigDuration(seconds: 30))
        #expect(open.minRetention <= open.retention)
    }
}

struct FleetGeneratorTests {
    @Test func theSameSeedGivesTheSameFleet() {
        var generator = FleetGenerator(duration: 86_400, seed: 11)
        generator.counts = [.rare: 3, .timer: 3, .diurnal: 2, .bursty: 2, .poisson: 2, .busy: 1, .mixed: 1]
        let a = generator.generate(), b = generator.generate()
        #expect(a.models == b.models && a.arrivals == b.arrivals)
        generator.seed = 12
        #expect(generator.generate().arrivals != a.arrivals)
        #expect(a.models.allSatisfy { FleetGenerator.trafficClass(of: $0.modelID) != nil })
        #expect(a.arrivals.allSatisfy { $0 == $0.sorted() && ($0.last ?? 0) < 86_400 })
    }

    @Test func timersArePeriodic() {
        let generator = FleetGenerator(duration: 86_400, seed: 1)
        var random = SplitMix64(seed: 4)
        let times = generator.timer(period: 3600, batch: 3, spread: 10, &random)
        let starts = stride(from: 0, to: times.count, by: 3).map { times[$0] }
        let intervals = zip(starts.dropFirst(), starts).map { $0 - $1 }
        #expect(intervals.allSatisfy { abs($0 - 3600) < 6 || abs($0 - 7200) < 6 })
    }
}

struct HistoryTests {
    @Test func countsPerStepBecomeArrivalsSpreadOverTheirStep() {
        // increase() extrapolates: fractional counts; the total is kept by carrying the remainder.
        let points: [(time: Double, value: Double)] = [(1060, 2.4), (1120, 0.3), (1180, 0.9), (1240, 3.0)]
        let arrivals = PrometheusHistory.reconstruct(points, step: 60, origin: 1000)
        #expect(arrivals.count == 7)  // 2.4 + 0.3 + 0.9 + 3.0 = 6.6 → 7 with the last carry rounded
        #expect(arrivals == arrivals.sorted())
        #expect(arrivals.filter { $0 >= 0 && $0 < 60 }.count == 2)
        #expect(arrivals.filter { $0 >= 180 && $0 < 240 }.count == 3)
    }
}
