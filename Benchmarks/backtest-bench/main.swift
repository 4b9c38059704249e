// The keep-alive measurements of docs/keep-alive.md: the synthetic fleet replayed under fixed
// retentions and adaptive keep-alive, fleet-wide and per traffic class.
//
//   swift run -c release backtest-bench                      # the fleet table
//   swift run -c release backtest-bench --sweep              # the trade-off curves
//   swift run -c release backtest-bench --write-trace F.csv.gz
//   swift run -c release backtest-bench --runs fixed:10m,prewarm:cost=30m:max=2h --restart-every 1d
import Backtest
import Dispatch
import Foundation
import ModelConfig
import Recommendation

let arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}
@MainActor func flag(_ name: String) -> Bool { arguments.contains(name) }

let seed = UInt64(option("--seed") ?? "1") ?? 1
let days = Double(option("--days") ?? "14") ?? 14
var generator = FleetGenerator(duration: days * 86_400, seed: seed)
if let scale = option("--scale").flatMap(Double.init) {
    generator.counts = generator.counts.mapValues { max(1, Int((Double($0) * scale).rounded())) }
}
if let counts = option("--counts") {
    // class=N,class=N: the fleet of the README's worked example is `--counts timer=2,rare=1,bursty=1,poisson=1 --days 3`.
    generator.counts = [:]
    for item in counts.split(separator: ",") {
        let parts = item.split(separator: "=")
        guard parts.count == 2, let trafficClass = FleetGenerator.TrafficClass(rawValue: String(parts[0])), let n = Int(parts[1]) else {
            FileHandle.standardError.write(Data("--counts: expected class=N,... with classes \(FleetGenerator.TrafficClass.allCases.map(\.rawValue))\n".utf8))
            exit(2)
        }
        generator.counts[trafficClass] = n
    }
}
let started = Date()
let trace = generator.generate()
FileHandle.standardError.write(Data("fleet: \(trace.models.count) models, \(trace.requestCount) requests over \(days) days (generated in \(String(format: "%.1f", Date().timeIntervalSince(started))) s)\n".utf8))
if flag("--generate-only") { exit(0) }
if let path = option("--write-trace") {
    try trace.write(path: path)
    FileHandle.standardError.write(Data("wrote \(path)\n".utf8))
    exit(0)
}

var options = ReplayOptions()
if let text = option("--interval"), let value = ConfigDuration.parse(text) { options.interval = value.seconds }
if let text = option("--scrape-interval"), let value = ConfigDuration.parse(text) { options.scrapeInterval = value.seconds }
if let text = option("--cold-start"), let value = ConfigDuration.parse(text) { options.world.coldStart = value.seconds }
if let text = option("--restart-every"), let value = ConfigDuration.parse(text) { options.restartEvery = value.seconds }
let base = trace.models.map { ResolvedModelConfig(model: $0, enableScaleToZero: true) }
let replayOptions = options

func replay(_ alternatives: [Alternative], trace: Trace, base: [ResolvedModelConfig], options: ReplayOptions) -> [RunResult] {
    let results = ResultBox(count: alternatives.count)
    DispatchQueue.concurrentPerform(iterations: alternatives.count) { index in
        let alternative = alternatives[index]
        let clock = Date()
        let run = Backtest.run(trace: trace, configs: base.map(alternative.apply), options: options, name: alternative.name).result
        FileHandle.standardError.write(Data("  \(alternative.name): \(String(format: "%.1f", Date().timeIntervalSince(clock))) s\n".utf8))
        results.set(index, run)
    }
    return results.values
}

final class ResultBox: @unchecked Sendable {
    // Written by concurrentPerform's iterations, each at its own index, under the lock.
    private var items: [RunResult?]
    private let lock = NSLock()
    init(count: Int) { items = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: RunResult) { lock.lock(); items[index] = value; lock.unlock() }
    var values: [RunResult] { items.map { $0! } }
}

/// Per traffic class: GPU-h and cold starts of each run.
func classTable(_ runs: [RunResult]) -> String {
    var rows = [["class", "models", "requests"] + runs.flatMap { ["\($0.name) GPU-h", "cold"] }]
    for trafficClass in FleetGenerator.TrafficClass.allCases {
        let indices = runs[0].models.indices.filter { FleetGenerator.trafficClass(of: runs[0].models[$0].model.modelID) == trafficClass }
        var row = [trafficClass.rawValue, "\(indices.count)", "\(indices.reduce(0) { $0 + runs[0].models[$1].requests })"]
        for run in runs {
            let gpu = indices.reduce(0.0) { $0 + run.models[$1].gpuHours }
            let cold = indices.reduce(0) { $0 + run.models[$1].coldStarts }
            row += [String(format: "%.0f", gpu), "\(cold)"]
        }
        rows.append(row)
    }
    return render(rows)
}

func render(_ rows: [[String]]) -> String {
    var widths = Array(repeating: 0, count: rows.map(\.count).max() ?? 0)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    return rows.map { row in
        row.enumerated().map { i, cell in
            let pad = String(repeating: " ", count: widths[i] - cell.count)
            return i == 0 ? cell + pad : pad + cell
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}

if flag("--sweep") {
    let fixed = ["1m", "2m", "3m", "5m", "7m", "10m", "15m", "20m", "30m", "45m", "1h"].map { "fixed:\($0)" }
    let costs = ["2m", "5m", "10m", "20m", "30m", "1h", "2h", "4h"]
    let upper = option("--max") ?? "2h"
    let adaptive = costs.map { "adaptive:cost=\($0):max=\(upper)" }
    let prewarm = costs.map { "prewarm:cost=\($0):max=\(upper)" }
    let runs = replay(try (fixed + adaptive + prewarm).map(Alternative.parse), trace: trace, base: base, options: replayOptions)
    print("policy,gpu_hours,cold_starts,wakes,prewarms,waited,wait_p50_s,wait_p99_s")
    for run in runs {
        let f = run.fleet
        print("\(run.name),\(String(format: "%.1f", f.gpuHours)),\(f.coldStarts),\(f.wakes),\(f.prewarms),\(f.waited),\(String(format: "%.1f", f.waitP50)),\(String(format: "%.1f", f.waitP99))")
    }
    print("")
    print("per class (GPU-h, cold starts):")
    print(classTable(runs))
} else {
    let list = option("--runs") ?? "fixed:10m,adaptive:cost=30m:max=2h,prewarm:cost=30m:max=2h"
    let clock = Date()
    let runs = replay(try Alternative.parseList(list), trace: trace, base: base, options: replayOptions)
    let report = BacktestReport(runs: runs, seconds: runs[0].seconds, settings: [:])
    print(report.text(perModel: false))
    print("")
    print(classTable(runs))
    FileHandle.standardError.write(Data("replayed \(runs.count) policies in \(String(format: "%.1f", Date().timeIntervalSince(clock))) s\n".utf8))
}
