import Foundation
import ModelConfig

/// The model a wake call names, read from its path. Kept apart from the routes (no server types)
/// so that it can be fuzzed on its own.
enum WakeTarget {
    /// Parses `/api/v1/models/{namespace}/{model…}/wake`: the model is everything between the
    /// namespace and `wake`, percent-decoded, so `meta%2Fllama-3.1-8b` and `meta/llama-3.1-8b`
    /// agree. A query string is ignored. Nil when the path is not a wake path or names no model.
    static func parse(_ rawPath: String) -> ModelKey? {
        let path = rawPath.split(separator: "?", maxSplits: 1).first.map(String.init) ?? rawPath
        let prefix = "/api/v1/models/"
        guard path.hasPrefix(prefix), path.hasSuffix("/wake") else { return nil }
        let middle = path.dropFirst(prefix.count).dropLast("/wake".count)
        let parts = middle.split(separator: "/", omittingEmptySubsequences: false).map { String($0).removingPercentEncoding ?? String($0) }
        guard parts.count >= 2, !parts[0].isEmpty else { return nil }
        let model = parts.dropFirst().joined(separator: "/")
        guard !model.isEmpty, !model.hasPrefix("/"), !model.hasSuffix("/") else { return nil }
        return ModelKey(namespace: parts[0], modelID: model)
    }
}
