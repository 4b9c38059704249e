import Foundation
import PrometheusClient
import VLLMSimulator

/// Owns the simulation; the stepping loop, the follower and the HTTP handler go through it.
actor SimulatorHost {
    private(set) var simulation: Simulation

    init(scenario: Scenario) { simulation = Simulation(scenario: scenario) }

    /// Advances the simulation, never past `until` (scenario seconds).
    func advance(by dt: Double, until: Double = .infinity) {
        guard simulation.now < until else { return }
        simulation.advance(by: min(dt, until - simulation.now))
    }
    func metrics() -> String { simulation.metricsText() }
    func report() -> [ModelReport] { simulation.report }
    func fleet() -> [(namespace: String, model: String, ready: Int, starting: Int, queued: Int)] { simulation.fleet }
    var now: Double { simulation.now }

    /// The last value of the first metric per model, to count its changes.
    private var lastRecommendation: [ModelKey: Double] = [:]
    /// The emulated autoscalers, per model (with `--hpa`).
    private var autoscalers: [ModelKey: AutoscalerEmulation] = [:]

    /// Applies the recommendations directly, replicas = value (models without one keep their replicas).
    func follow(_ samples: [Sample]) {
        for sample in samples where sample.value.isFinite {
            guard let namespace = sample.labels["namespace"], let model = sample.labels["model_name"] else { continue }
            noteRecommendation(ModelKey(namespace: namespace, model: model), sample.value)
            simulation.setDesired(namespace: namespace, model: model, desired: max(0, Int(sample.value.rounded())))
        }
    }

    /// One sync of the emulated KEDA + HPA: `results[i]` is metric i's answer by model (nil: the
    /// query failed). Models with no series in any metric are left alone.
    func autoscale(_ results: [[ModelKey: Double]?], settings: AutoscalerEmulation.Settings, targets: [Double]) {
        let keys = Set(results.compactMap { $0 }.flatMap(\.keys))
        for key in keys {
            guard let deployment = simulation.deployment(namespace: key.namespace, model: key.model) else { continue }
            // An empty result for the model reads 0 (KEDA's ignoreNullValues: true).
            let values = results.map { result in result.map { $0[key] ?? 0 } }
            if let first = values.first ?? nil { noteRecommendation(key, first) }
            var autoscaler = autoscalers[key] ?? AutoscalerEmulation(settings: settings, targets: targets)
            let desired = autoscaler.reconcile(values: values, spec: deployment.spec, status: deployment.status, now: simulation.now)
            autoscalers[key] = autoscaler
            simulation.setDesired(namespace: key.namespace, model: key.model, desired: desired)
        }
    }

    private func noteRecommendation(_ key: ModelKey, _ value: Double) {
        if let last = lastRecommendation[key], last != value {
            simulation.recordRecommendationChange(namespace: key.namespace, model: key.model)
        }
        lastRecommendation[key] = value
    }
}

/// A simulated model: its namespace and id.
struct ModelKey: Hashable, Sendable {
    let namespace: String
    let model: String
}

/// The summary printed at the end of a run.
func summary(_ reports: [ModelReport], scenarioSeconds: Double, timeScale: Double) -> String {
    func f(_ value: Double) -> String { String(format: "%.1f", value) }
    var lines = [
        "simulated \(f(scenarioSeconds / 60)) scenario minutes (\(f(scenarioSeconds / timeScale)) s real, x\(f(timeScale)))",
        "model                              replica-s  at zero  cold  arrived  served  dropped  waited  wait p50  wait p99  wait max  delayed  delay p99  delay max  scaled",
    ]
    for r in reports {
        let name = (r.namespace + "/" + r.model).padding(toLength: 34, withPad: " ", startingAt: 0)
        lines.append("\(name) \(f(r.replicaSeconds).leftPad(9))  \(f(r.zeroSeconds).leftPad(7))  \(String(r.coldStarts).leftPad(4))  \(String(r.arrived).leftPad(7))  \(String(r.served).leftPad(6))  \(String(r.dropped).leftPad(7))  \(String(r.waited).leftPad(6))  \(f(r.waitPercentile(0.5)).leftPad(8))  \(f(r.waitPercentile(0.99)).leftPad(8))  \(f(r.maxWait).leftPad(8))  \(String(r.delayed).leftPad(7))  \(f(r.delayPercentile(0.99)).leftPad(9))  \(f(r.maxDelay).leftPad(9))  \(String(r.scaleChanges).leftPad(6))")
    }
    let cost = reports.reduce(0) { $0 + $1.replicaSeconds }
    let saved = reports.reduce(0) { $0 + $1.zeroSeconds }
    lines.append("total: \(f(cost)) replica-seconds; \(f(saved)) replica-seconds saved at zero (\(f(cost + saved > 0 ? 100 * saved / (cost + saved) : 0))% of what a floor of one replica would cost); cold starts \(reports.reduce(0) { $0 + $1.coldStarts }), arrived \(reports.reduce(0) { $0 + $1.arrived }), served \(reports.reduce(0) { $0 + $1.served }), dropped \(reports.reduce(0) { $0 + $1.dropped }), waited for a cold start \(reports.reduce(0) { $0 + $1.waited })")
    lines.append("(times in scenario seconds)")
    return lines.joined(separator: "\n")
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
