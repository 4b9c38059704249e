import Foundation
import ModelConfig
import PrometheusClient
import Recommendation

/// Adaptive keep-alive's learned values, exported as gauges and read back after a restart (the
/// service has no disk): the chosen retention, the latest burst starts, the idle gaps as a few
/// quantiles and weights, and the last cold start (already exported). Only models that learn
/// (`keep_alive: adaptive` or `prewarm: true`) have these series.
enum LearnedGauge: String, CaseIterable {
    case retention = "recommender_model_keep_alive_seconds"
    case burstStart = "recommender_model_burst_start_timestamp_seconds"
    case lastArrival = "recommender_model_last_arrival_timestamp_seconds"
    case gapQuantile = "recommender_model_idle_gap_seconds"
    case gapWeight = "recommender_model_idle_gaps"
    case coveredWeight = "recommender_model_idle_gaps_prewarmed"
    case coveredMean = "recommender_model_idle_gaps_prewarmed_mean_seconds"
    case coldStart = "recommender_model_last_cold_start_seconds"

    var help: String {
        switch self {
        case .retention: "The retention adaptive keep-alive chose for a model (keep_alive: adaptive), in force for its next decision."
        case .burstStart: "When a model's latest bursts of requests started (burst 1 is the latest): periodic ones are pre-warmed."
        case .lastArrival: "The last time requests were seen arriving for a model (gateway requests, demand, a wake call, requests in flight)."
        case .gapQuantile: "Quantiles of a model's learned idle gaps (at least min_retention_period long, not covered by a pre-warm)."
        case .gapWeight: "The (decayed) number of those idle gaps."
        case .coveredWeight: "The (decayed) number of idle gaps a pre-warm covered."
        case .coveredMean: "The mean length of the idle gaps a pre-warm covered."
        case .coldStart: "Duration of a model's last cold start: recommendation 0 to >= 1 until a replica was ready."
        }
    }

    /// The label that tells a family's samples apart, if any.
    var label: String? {
        switch self {
        case .burstStart: "burst"
        case .gapQuantile: "quantile"
        default: nil
        }
    }

    /// The samples of this gauge for `values`: (label value, value).
    func samples(_ values: LearnedValues) -> [(String?, Double)] {
        switch self {
        case .retention: values.retention.map { [(nil, $0)] } ?? []
        case .burstStart: values.burstStarts.reversed().enumerated().map { ("\($0.offset + 1)", $0.element) }
        case .lastArrival: values.lastArrival.map { [(nil, $0)] } ?? []
        case .gapQuantile:
            zip(KeepAlive.exportedQuantiles, values.gapQuantiles).map { (ExpositionWriter.format($0.0), $0.1) }
        case .gapWeight: values.gapWeight.map { [(nil, $0)] } ?? []
        case .coveredWeight: values.coveredWeight.map { [(nil, $0)] } ?? []
        case .coveredMean: values.coveredMean.map { [(nil, $0)] } ?? []
        case .coldStart: values.coldStart.map { [(nil, $0)] } ?? []
        }
    }

    /// Adds one sample read back from Prometheus to `values`.
    func absorb(_ labelValue: String?, _ value: Double, into values: inout LearnedValues) {
        switch self {
        case .retention: values.retention = value
        case .burstStart:
            guard let n = labelValue.flatMap(Int.init), n >= 1, n <= 16 else { return }
            values.burstStarts.append(value)
            values.burstStarts.sort()
        case .gapQuantile:
            guard let level = labelValue.flatMap(Double.init), let index = KeepAlive.exportedQuantiles.firstIndex(of: level) else { return }
            if values.gapQuantiles.count < KeepAlive.exportedQuantiles.count {
                values.gapQuantiles = Array(repeating: .nan, count: KeepAlive.exportedQuantiles.count)
            }
            values.gapQuantiles[index] = value
        case .lastArrival: values.lastArrival = value
        case .gapWeight: values.gapWeight = value
        case .coveredWeight: values.coveredWeight = value
        case .coveredMean: values.coveredMean = value
        case .coldStart: values.coldStart = value
        }
    }
}

extension Engine {
    /// Writes the learned gauges (the cold-start family is written with the other model series).
    func renderLearned(_ w: inout ExpositionWriter, _ ordered: [ModelRecord]) {
        let learned = ordered.compactMap { record -> (ModelRecord, LearnedValues)? in
            guard record.config.keepAlive == .adaptive || record.config.prewarm else { return nil }
            return (record, record.state.keepAlive.exported(record.config, record.state))
        }
        for gauge in LearnedGauge.allCases where gauge != .coldStart {
            w.family(gauge.rawValue, "gauge", gauge.help)
            for (record, values) in learned {
                for (labelValue, value) in gauge.samples(values) {
                    let labels = labelValue.map { record.modelLabels + ",\(gauge.label!)=\"\($0)\"" } ?? record.modelLabels
                    w.sample(gauge.rawValue, labels, value)
                }
            }
        }
    }

    /// Restores learned values read back from Prometheus after a restart (best effort: without them
    /// adaptive keep-alive starts from its break-even retention, always within its bounds).
    public func recoverLearned(_ result: Result<[ModelKey: LearnedValues], PrometheusError>) {
        metrics.queries[Signal.recoveryLearned, default: 0] += 1
        switch result {
        case .success(let values):
            var restored = 0
            for (key, learned) in values {
                guard let record = records[key] else { continue }
                record.state.keepAlive = KeepAliveState(recovered: learned)
                record.lastColdStartSeconds = record.lastColdStartSeconds ?? learned.coldStart
                restored += 1
            }
            logger.info("recovered learned keep-alive values", metadata: ["models": "\(restored)"])
        case .failure(let error):
            metrics.queryErrors[Signal.recoveryLearned, default: 0] += 1
            logger.warning("learned keep-alive values could not be read back; adaptive models start afresh", metadata: ["error": "\(error)"])
        }
    }

    /// The retention whose requests window a model's next decision needs: `retention_period`, or
    /// the one adaptive keep-alive learned (a bounded set of steps: few distinct queries).
    static func effectiveRetention(_ record: ModelRecord) -> ConfigDuration {
        KeepAlive.retention(record.config, record.state)
    }
}

extension SignalCollector {
    /// Reads back the learned keep-alive values over `window`: one query per learned gauge.
    public func recoverLearned(window: ConfigDuration) async -> Result<[ModelKey: LearnedValues], PrometheusError> {
        var values: [ModelKey: LearnedValues] = [:]
        for gauge in LearnedGauge.allCases {
            let query = queries.query(.recoveryLearned, range: window)
                .replacingOccurrences(of: "$LABEL", with: gauge.label.map { ", \($0)" } ?? "")
                .replacingOccurrences(of: "$METRIC", with: gauge.rawValue)
            do {
                for sample in try await client.query(query) {
                    guard let model = sample.labels["model_name"], sample.value.isFinite else { continue }
                    let key = ModelKey(namespace: sample.labels["namespace"] ?? "", modelID: model)
                    gauge.absorb(gauge.label.flatMap { sample.labels[$0] }, sample.value, into: &values[key, default: LearnedValues()])
                }
            } catch {
                return .failure(error)
            }
        }
        return .success(values)
    }
}
