import ModelConfig

/// A keep-alive policy to compare with the configured one (`--compare`), applied to every model
/// whose scale-to-zero is enabled (the others are unaffected: they never go to zero).
///
/// Syntax: `fixed:DURATION` (a fixed retention), `adaptive` (learned keep-alive, no pre-warm),
/// `prewarm` (learned keep-alive with pre-warm), the last two with optional `:cost=D`, `:min=D`,
/// `:max=D` overriding `cold_start_cost`, `min_retention_period` and `retention_period`
/// (`adaptive:cost=20m:max=1h`).
public struct Alternative: Sendable, Hashable {
    /// The name as given.
    public let name: String
    /// Fixed or adaptive.
    public let keepAlive: KeepAliveMode
    /// Pre-warm on.
    public let prewarm: Bool
    /// The retention (fixed), or the upper bound (adaptive); nil keeps the configured one.
    public let retention: ConfigDuration?
    /// The lower bound; nil keeps the configured one.
    public let minRetention: ConfigDuration?
    /// The cold start cost; nil keeps the configured one.
    public let coldStartCost: ConfigDuration?

    /// Creates an alternative.
    public init(
        name: String, keepAlive: KeepAliveMode, prewarm: Bool, retention: ConfigDuration? = nil, minRetention: ConfigDuration? = nil,
        coldStartCost: ConfigDuration? = nil
    ) {
        self.name = name
        self.keepAlive = keepAlive
        self.prewarm = prewarm
        self.retention = retention
        self.minRetention = minRetention
        self.coldStartCost = coldStartCost
    }

    /// Parses one alternative.
    public static func parse(_ text: String) throws(AlternativeError) -> Alternative {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let expected = "expected fixed:DURATION, adaptive or prewarm (with optional :cost=D, :min=D, :max=D)"
        func duration(_ value: String, _ what: String) throws(AlternativeError) -> ConfigDuration {
            guard let parsed = ConfigDuration.parse(value), parsed.milliseconds > 0 else {
                throw AlternativeError(description: "--compare \(text): \(what): expected a duration such as 30s, 10m or 1h, found \(value)")
            }
            return parsed
        }
        switch parts[0] {
        case "fixed":
            guard parts.count == 2 else { throw AlternativeError(description: "--compare \(text): \(expected)") }
            return Alternative(name: text, keepAlive: .fixed, prewarm: false, retention: try duration(parts[1], "retention"))
        case "adaptive", "prewarm":
            var retention: ConfigDuration?, minimum: ConfigDuration?, cost: ConfigDuration?
            for part in parts.dropFirst() {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else { throw AlternativeError(description: "--compare \(text): \(part): \(expected)") }
                switch pair[0] {
                case "cost": cost = try duration(pair[1], "cost")
                case "min": minimum = try duration(pair[1], "min")
                case "max": retention = try duration(pair[1], "max")
                default: throw AlternativeError(description: "--compare \(text): \(pair[0]): expected cost, min or max")
                }
            }
            return Alternative(name: text, keepAlive: .adaptive, prewarm: parts[0] == "prewarm", retention: retention, minRetention: minimum, coldStartCost: cost)
        default:
            throw AlternativeError(description: "--compare \(text): \(expected)")
        }
    }

    /// Parses a comma-separated list.
    public static func parseList(_ text: String) throws(AlternativeError) -> [Alternative] {
        var result: [Alternative] = []
        for item in text.split(separator: ",") where !item.trimmingCharacters(in: .whitespaces).isEmpty {
            result.append(try parse(item.trimmingCharacters(in: .whitespaces)))
        }
        return result
    }

    /// `config` with this policy's keep-alive (unchanged when scale-to-zero is off).
    public func apply(to config: ResolvedModelConfig) -> ResolvedModelConfig {
        guard config.enableScaleToZero else { return config }
        let upper = retention ?? config.retention
        return ResolvedModelConfig(
            model: config.model, enableScaleToZero: config.enableScaleToZero, retention: upper, variantName: config.variantName,
            minReplicas: config.minReplicas, maxReplicas: config.maxReplicas, targetConcurrency: config.targetConcurrency, group: config.group,
            aliases: config.aliases, wakePath: config.wakePath, keepAlive: keepAlive, coldStartCost: coldStartCost ?? config.coldStartCost,
            minRetention: min(minRetention ?? config.minRetention, upper), prewarm: prewarm,
            targetKVCacheUtilization: config.targetKVCacheUtilization, maxWaitingPerReplica: config.maxWaitingPerReplica, sources: config.sources)
    }
}

/// A `--compare` value that cannot be used.
public struct AlternativeError: Error, CustomStringConvertible {
    /// What is wrong and what was expected.
    public let description: String
}
