import Foundation
import ModelConfig

/// What one policy cost one model over the replay.
public struct ModelResult: Sendable, Encodable {
    /// The model.
    public let model: ModelKey
    /// GPU replica-hours (starting replicas included).
    public let gpuHours: Double
    /// Hours at zero replicas.
    public let zeroHours: Double
    /// Wakes: 0 → ≥ 1 replicas.
    public let wakes: Int
    /// Cold starts: wakes a request waited for.
    public let coldStarts: Int
    /// Wakes ahead of predicted arrivals (reason `prewarm`).
    public let prewarms: Int
    /// Requests in the trace up to the end.
    public let requests: Int
    /// Requests that waited at the gateway for a replica.
    public let waited: Int
    /// Requests dropped (gateway queue full or timed out).
    public let dropped: Int
    /// Waits at the gateway, seconds, for percentiles.
    let waits: [Double]
    /// The retention in force at the end (learned, for adaptive keep-alive).
    public let retentionSeconds: Double

    init(model: ModelKey, world: ModelWorld, prewarms: Int, retention: Double) {
        self.model = model
        gpuHours = world.replicaSeconds / 3600
        zeroHours = world.zeroSeconds / 3600
        wakes = world.wakes
        coldStarts = world.coldStarts
        self.prewarms = prewarms
        requests = world.arrived
        waited = world.waits.count
        dropped = world.dropped
        waits = world.waits.sorted()
        retentionSeconds = retention
    }

    /// The `p` quantile (0–1) of waits, 0 when nobody waited.
    public func wait(_ p: Double) -> Double { Stats.quantile(waits, p) }

    enum CodingKeys: String, CodingKey {
        case model = "model_id", namespace, gpuHours = "gpu_replica_hours", zeroHours = "zero_hours", wakes, coldStarts = "cold_starts"
        case prewarms, requests, waited, dropped, waitP50 = "wait_p50_seconds", waitP99 = "wait_p99_seconds", waitMax = "wait_max_seconds"
        case retentionSeconds = "retention_seconds"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model.modelID, forKey: .model)
        try c.encode(model.namespace, forKey: .namespace)
        try c.encode(Stats.round(gpuHours), forKey: .gpuHours)
        try c.encode(Stats.round(zeroHours), forKey: .zeroHours)
        try c.encode(wakes, forKey: .wakes)
        try c.encode(coldStarts, forKey: .coldStarts)
        try c.encode(prewarms, forKey: .prewarms)
        try c.encode(requests, forKey: .requests)
        try c.encode(waited, forKey: .waited)
        try c.encode(dropped, forKey: .dropped)
        try c.encode(Stats.round(wait(0.5)), forKey: .waitP50)
        try c.encode(Stats.round(wait(0.99)), forKey: .waitP99)
        try c.encode(Stats.round(waits.last ?? 0), forKey: .waitMax)
        try c.encode(retentionSeconds, forKey: .retentionSeconds)
    }
}

/// What one policy cost the fleet.
public struct FleetResult: Sendable, Encodable {
    /// GPU replica-hours.
    public let gpuHours: Double
    /// Hours at zero, summed over models.
    public let zeroHours: Double
    /// Wakes.
    public let wakes: Int
    /// Cold starts (wakes a request waited for).
    public let coldStarts: Int
    /// Pre-warm wakes.
    public let prewarms: Int
    /// Requests.
    public let requests: Int
    /// Requests that waited for a replica.
    public let waited: Int
    /// Requests dropped.
    public let dropped: Int
    /// Wait percentiles and maximum, seconds.
    public let waitP50: Double, waitP99: Double, waitMax: Double

    /// Sums `models` (percentiles over every wait).
    public init(_ models: [ModelResult]) {
        gpuHours = models.reduce(0) { $0 + $1.gpuHours }
        zeroHours = models.reduce(0) { $0 + $1.zeroHours }
        wakes = models.reduce(0) { $0 + $1.wakes }
        coldStarts = models.reduce(0) { $0 + $1.coldStarts }
        prewarms = models.reduce(0) { $0 + $1.prewarms }
        requests = models.reduce(0) { $0 + $1.requests }
        waited = models.reduce(0) { $0 + $1.waited }
        dropped = models.reduce(0) { $0 + $1.dropped }
        let waits = models.flatMap(\.waits).sorted()
        waitP50 = Stats.quantile(waits, 0.5)
        waitP99 = Stats.quantile(waits, 0.99)
        waitMax = waits.last ?? 0
    }

    enum CodingKeys: String, CodingKey {
        case gpuHours = "gpu_replica_hours", zeroHours = "zero_hours", wakes, coldStarts = "cold_starts", prewarms, requests, waited, dropped
        case waitP50 = "wait_p50_seconds", waitP99 = "wait_p99_seconds", waitMax = "wait_max_seconds"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Stats.round(gpuHours), forKey: .gpuHours)
        try c.encode(Stats.round(zeroHours), forKey: .zeroHours)
        try c.encode(wakes, forKey: .wakes)
        try c.encode(coldStarts, forKey: .coldStarts)
        try c.encode(prewarms, forKey: .prewarms)
        try c.encode(requests, forKey: .requests)
        try c.encode(waited, forKey: .waited)
        try c.encode(dropped, forKey: .dropped)
        try c.encode(Stats.round(waitP50), forKey: .waitP50)
        try c.encode(Stats.round(waitP99), forKey: .waitP99)
        try c.encode(Stats.round(waitMax), forKey: .waitMax)
    }
}

/// One policy's replay.
public struct RunResult: Sendable, Encodable {
    /// The policy's name (`config`, `fixed:10m`, `adaptive`, ...).
    public let name: String
    /// Seconds replayed.
    public let seconds: Double
    /// Per model.
    public let models: [ModelResult]
    /// The fleet.
    public let fleet: FleetResult
    /// Restarts of the recommender during the replay.
    public let restarts: Int

    init(name: String, seconds: Double, models: [ModelResult], restarts: Int) {
        self.name = name
        self.seconds = seconds
        self.models = models
        fleet = FleetResult(models)
        self.restarts = restarts
    }

    enum CodingKeys: String, CodingKey { case name, fleet, models, restarts }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(fleet, forKey: .fleet)
        try c.encode(restarts, forKey: .restarts)
        try c.encode(models, forKey: .models)
    }
}

/// A backtest's whole answer: the configured policy first, then the alternatives.
public struct BacktestReport: Sendable, Encodable {
    /// The runs.
    public let runs: [RunResult]
    /// Seconds replayed.
    public let seconds: Double
    /// Settings of the replay, for the record.
    public let settings: [String: String]

    /// Creates a report.
    public init(runs: [RunResult], seconds: Double, settings: [String: String]) {
        self.runs = runs
        self.seconds = seconds
        self.settings = settings
    }

    enum CodingKeys: String, CodingKey { case durationSeconds = "duration_seconds", settings, runs }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(seconds, forKey: .durationSeconds)
        try c.encode(settings, forKey: .settings)
        try c.encode(runs, forKey: .runs)
    }

    /// Pretty, key-sorted JSON.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Text: the fleet side by side, then one line per model.
    public func text(perModel: Bool = true) -> String {
        var lines: [String] = []
        lines.append("backtest over \(Stats.duration(seconds)) of history, \(runs.first?.models.count ?? 0) models, \(runs.first?.fleet.requests ?? 0) requests")
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) { lines.append("  \(key): \(value)") }
        lines.append("")
        let rows: [(String, (FleetResult) -> String)] = [
            ("GPU replica-hours", { Stats.number($0.gpuHours) }),
            ("cold starts", { "\($0.coldStarts)" }),
            ("wakes", { "\($0.wakes)" }),
            ("pre-warms", { "\($0.prewarms)" }),
            ("requests that waited", { "\($0.waited)" }),
            ("wait p50 (s)", { Stats.number($0.waitP50) }),
            ("wait p99 (s)", { Stats.number($0.waitP99) }),
            ("wait max (s)", { Stats.number($0.waitMax) }),
            ("dropped", { "\($0.dropped)" }),
        ]
        var table = [["fleet"] + runs.map(\.name)]
        for (label, value) in rows { table.append([label] + runs.map { value($0.fleet) }) }
        if let base = runs.first, runs.count > 1 {
            table.append(["vs " + base.name + ": GPU-h"] + runs.map { Stats.percent($0.fleet.gpuHours, base.fleet.gpuHours) })
            table.append(["vs " + base.name + ": cold starts"] + runs.map { Stats.percent(Double($0.fleet.coldStarts), Double(base.fleet.coldStarts)) })
        }
        lines += Stats.render(table)
        guard perModel, let first = runs.first else { return lines.joined(separator: "\n") }
        lines.append("")
        var header = ["model"]
        for run in runs { header += ["\(run.name) GPU-h", "cold", "waited", "p99 s"] }
        var modelTable = [header]
        for index in first.models.indices {
            var row = [first.models[index].model.namespace == "default" ? first.models[index].model.modelID : first.models[index].model.description]
            for run in runs {
                let m = run.models[index]
                row += [Stats.number(m.gpuHours), "\(m.coldStarts)", "\(m.waited)", Stats.number(m.wait(0.99))]
            }
            modelTable.append(row)
        }
        lines += Stats.render(modelTable)
        return lines.joined(separator: "\n")
    }
}

/// Small formatting and statistics helpers.
enum Stats {
    static func quantile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded(.up)))]
    }

    static func round(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    static func number(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e12 { return String(Int64(value)) }
        return abs(value) >= 100 ? String(format: "%.0f", value) : String(format: "%.1f", value)
    }

    static func percent(_ value: Double, _ base: Double) -> String {
        guard base > 0 else { return value > 0 ? "+∞" : "±0%" }
        let change = (value / base - 1) * 100
        return String(format: "%+.0f%%", change)
    }

    static func duration(_ seconds: Double) -> String {
        if seconds >= 86_400 { return String(format: "%.1f days", seconds / 86_400) }
        if seconds >= 3600 { return String(format: "%.1f hours", seconds / 3600) }
        return String(format: "%.0f s", seconds)
    }

    /// Aligned columns: the first left-aligned, the others right-aligned.
    static func render(_ rows: [[String]]) -> [String] {
        guard let width = rows.map(\.count).max() else { return [] }
        var widths = Array(repeating: 0, count: width)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
    }
}

/// Writes decision changes as CSV: `model,timestamp_s,desired_replicas` (and `namespace` when the
/// trace named namespaces), a header, a row at t = 0 per model, then every change in time order.
public func decisionsCSV(_ changes: [DecisionChange], models: [ModelKey], namespaces: Bool) -> String {
    var text = namespaces ? "model,timestamp_s,desired_replicas,namespace\n" : "model,timestamp_s,desired_replicas\n"
    for change in changes {
        let key = models[change.model]
        text += CSV.field(key.modelID) + "," + CSV.seconds(change.time) + "," + String(change.desired)
        if namespaces { text += "," + CSV.field(key.namespace) }
        text += "\n"
    }
    return text
}
