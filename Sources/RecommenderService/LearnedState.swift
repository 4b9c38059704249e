import Foundation
import ModelConfig
import PrometheusClient
import Recommendation

/// Adaptive keep-alive's learned values, exported as gauges and read back after a restart (the
/// service has no disk): the chosen retention, the period, spread and last burst of periodic
/// arrivals, and the last cold start (already exported). One series per learned value of a
/// model that learns; none for fixed keep-alive.
enum LearnedGauge: String, CaseIterable {
    case retention = "recommender_model_keep_alive_seconds"
    case period = "recommender_model_arrival_period_seconds"
    case spread = "recommender_model_arrival_period_spread_seconds"
    case lastBurst = "recommender_model_last_burst_timestamp_seconds"
    case coldStart = "recommender_model_last_cold_start_seconds"

    var help: String {
        switch self {
        case .retention: "The retention adaptive keep-alive chose for a model (keep_alive: adaptive), in force for its next decision."
        case .period: "The period of a model's periodic arrivals, when its latest bursts came at a regular interval (pre-warm)."
        case .spread: "The largest deviation of a model's latest burst intervals from its period."
        case .lastBurst: "When a model's last burst of periodic arrivals started."
        case .coldStart: "Duration of a model's last cold start: recommendation 0 to >= 1 until a replica was ready."
        }
    }

    func value(_ values: LearnedValues) -> Double? {
        switch self {
        case .retention: values.retention
        case .period: values.period
        case .spread: values.spread
        case .lastBurst: values.lastBurst
        case .coldStart: values.coldStart
        }
    }

    func set(_ value: Double, in values: inout LearnedValues) {
        switch self {
        case .retention: values.retention = value
        case .period: values.period = value
        case .spread: values.spread = value
        case .lastBurst: values.lastBurst = value
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
                guard let value = gauge.value(values) else { continue }
                w.sample(gauge.rawValue, record.modelLabels, value)
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
            let query = queries.query(.recoveryLearned, range: window).replacingOccurrences(of: "$METRIC", with: gauge.rawValue)
            do {
                for sample in try await client.query(query) {
                    guard let model = sample.labels["model_name"], sample.value.isFinite else { continue }
                    gauge.set(sample.value, in: &values[ModelKey(namespace: sample.labels["namespace"] ?? "", modelID: model), default: LearnedValues()])
                }
            } catch {
                return .failure(error)
            }
        }
        return .success(values)
    }
}
