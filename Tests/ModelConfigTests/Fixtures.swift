@testable import ModelConfig

/// Builds a configuration set from `key: text` pairs as a ConfigMap volume would hold them.
func configSet(_ entries: [String: String], previous: ModelConfigSet? = nil) -> ModelConfigSet {
    let raw = entries.sorted { $0.key < $1.key }.map {
        RawEntry(key: $0.key, text: $0.value, location: EntryLocation(file: "cm/\($0.key)"))
    }
    return ModelConfigSet.build(entries: raw, previous: previous)
}

/// Resolves one model.
func resolve(
    _ entries: [String: String], model: String, namespace: String = "default", env: Bool? = nil
) -> ResolvedModelConfig {
    ConfigResolver(config: configSet(entries), environmentScaleToZero: env)
        .resolve(ModelKey(namespace: namespace, modelID: model))
}

/// The seed's first example ConfigMap.
let seedOverview: [String: String] = [
    "default": "enable_scale_to_zero: true\nretention_period: \"15m\"\n",
    "llama-8b": "model_id: meta/llama-3.1-8b\nretention_period: \"5m\"\n",
    "llama-70b": "model_id: meta/llama-3.1-70b\nenable_scale_to_zero: false\n",
    "llama-production": "model_id: meta/llama-3.1-8b\nnamespace: production\nenable_scale_to_zero: true\nretention_period: \"30m\"\n",
]
