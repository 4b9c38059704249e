import ArgumentParser
import Foundation
import ModelConfig
import PrometheusClient
import RecommenderService

/// The autoscaler whose queries `explain --consumer` shows.
enum Consumer: String, ExpressibleByArgument, CaseIterable {
    case keda, hpa
}

/// `explain` options for showing what a consumer of the recommendation runs.
struct ConsumerOptions: ParsableArguments {
    @Option(help: "Show the exact query this consumer runs for the model (keda or hpa) and, with --prometheus-url, the value it returns now.")
    var consumer: Consumer?

    @Option(name: .customLong("alias"), help: "Another name the gateway reports the model under (repeatable; KEDA's demand trigger).")
    var aliases: [String] = []

    @Option(help: "Extra label matchers on the gateway's series (the chart's prometheus.gatewaySelector).")
    var gatewaySelector: String = ""
}

/// One query a consumer runs, and what it returned.
struct ConsumerQueryReport: Encodable {
    /// The trigger or metric name.
    let name: String
    /// The PromQL, as the chart renders it.
    let query: String
    /// What the consumer does with the value.
    let rule: String
    /// The value now, when exactly one series came back.
    var value: Double?
    /// How many series came back (nil when the query was not run).
    var series: Int?
    /// The query's error, if it failed.
    var error: String?
    /// The consumer's reading of the answer.
    var outcome: String?
}

/// What `explain --consumer` prints.
struct ConsumerReport: Encodable {
    let consumer: String
    let modelID: String
    let namespace: String
    let variantName: String
    let variantSource: String
    var queries: [ConsumerQueryReport]

    enum CodingKeys: String, CodingKey {
        case consumer, namespace, queries
        case modelID = "model_id"
        case variantName = "variant_name"
        case variantSource = "variant_source"
    }

    /// The report as text, one block per query.
    func text() -> String {
        var lines = ["consumer: \(consumer)", "model: \(modelID) in \(namespace), variant \(variantName) (\(variantSource))"]
        for query in queries {
            lines.append("")
            lines.append("\(query.name): \(query.rule)")
            lines.append("  \(query.query)")
            if let error = query.error {
                lines.append("  now: query failed: \(error)")
            } else if let outcome = query.outcome {
                lines.append("  now: \(outcome)")
            } else {
                lines.append("  now: not run (give --prometheus-url)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// Builds the consumer report for a resolved model, running the queries when a client is given.
func consumerReport(
    consumer: Consumer, resolved: ResolvedModelConfig, options: ConsumerOptions, client: PrometheusClient?
) async -> ConsumerReport {
    let variant = resolved.variantName
    let namespace = resolved.model.namespace
    var queries: [ConsumerQueryReport] = []
    switch consumer {
    case .keda:
        queries.append(ConsumerQueryReport(
            name: "trigger recommendation",
            query: ConsumerQueries.kedaRecommendation(variant: variant, namespace: namespace),
            rule: "replicas = ceil(value / 1); active above 0.5; an empty result is an error (ignoreNullValues false)"))
        let demandOptions = ConsumerQueries.DemandOptions(gatewaySelector: options.gatewaySelector)
        if let demand = ConsumerQueries.kedaDemand(names: [resolved.model.modelID] + options.aliases, namespace: namespace, options: demandOptions) {
            queries.append(ConsumerQueryReport(
                name: "trigger gateway-demand", query: demand,
                rule: "activation only: active above 0 (threshold 1000000000: never more than 1 replica)"))
        }
    case .hpa:
        queries.append(ConsumerQueryReport(
            name: "external metric inferno_desired_replicas{variantautoscaling_name=\"\(variant)\"} in namespace \(namespace)",
            query: ConsumerQueries.adapter(variant: variant, namespace: namespace),
            rule: "prometheus-adapter sums the series; AverageValue 1: replicas = ceil(sum / 1)"))
    }
    guard let client else {
        return ConsumerReport(
            consumer: consumer.rawValue, modelID: resolved.model.modelID, namespace: namespace, variantName: variant,
            variantSource: resolved.sources[.variantName]?.description ?? "derived", queries: queries)
    }
    for index in queries.indices {
        do {
            let samples = try await client.query(queries[index].query)
            queries[index].series = samples.count
            queries[index].outcome = outcome(consumer: consumer, name: queries[index].name, samples: samples)
            if samples.count == 1 { queries[index].value = samples[0].value }
        } catch {
            queries[index].error = error.description
        }
    }
    return ConsumerReport(
        consumer: consumer.rawValue, modelID: resolved.model.modelID, namespace: namespace, variantName: variant,
        variantSource: resolved.sources[.variantName]?.description ?? "derived", queries: queries)
}

/// What the consumer makes of an answer (KEDA: pkg/scalers/prometheus_scaler.go; HPA:
/// replica_calculator.go GetExternalPerPodMetricReplicas).
private func outcome(consumer: Consumer, name: String, samples: [Sample]) -> String {
    switch (consumer, samples.count) {
    case (.keda, 0):
        return "no series: the trigger errors; without a fallback KEDA holds the current replicas (is the variant name right?)"
    case (.keda, 1) where name.hasSuffix("gateway-demand"):
        let value = samples[0].value
        return "\(format(value)): \(value > 0 ? "active, wakes the model from zero" : "inactive")"
    case (.keda, 1):
        let value = samples[0].value
        return "\(format(value)): \(Int((value / 1).rounded(.up))) replica(s), \(value > 0.5 ? "active" : "inactive (scaled to zero after cooldownPeriod)")"
    case (.keda, let count):
        return "\(count) series: KEDA's prometheus trigger fails on more than one"
    case (.hpa, 0):
        return "no series: the HPA cannot compute and holds its last scale (is the variant name right?)"
    case (.hpa, _):
        let sum = samples.reduce(0) { $0 + $1.value }
        return "\(format(sum)): \(Int(sum.rounded(.up))) replica(s)\(samples.count > 1 ? " (\(samples.count) series summed)" : "")"
    }
}

private func format(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
}

/// Pretty, key-sorted JSON of `value`.
func jsonText(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
