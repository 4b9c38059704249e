/// The configuration the spec says is in force, computed from the schedule's edits independently of
/// the product's parser and resolver: per key the current text, and the last good version of
/// every key whose text is broken (lost when the recommender restarts, as the product keeps it in
/// memory only). Resolution as spec §3: per field, scoped override → unscoped override → `default`
/// → system default; duplicates resolve to the more conservative values; a broken key with no good
/// version protects the model it names (every model for `default`).
struct ExpectedConfig {
    /// What the checker needs of a model's configuration.
    struct Resolved {
        var enable: Bool
        var retention: Double
        var minReplicas: Int
        /// `max_replicas` in force, nil for none.
        var maxReplicas: Int?
        var group: String?
        var aliases: [String]
        var wakePathAPI: Bool
        /// A broken key that concerns this model is in force (its last good version, or protection).
        var badInForce: Bool
        /// An entry in force names the model with its namespace (the product adopts such models).
        var namedScoped: Bool
    }

    static let systemRetention = 600.0

    private(set) var current: [String: EntryText] = [:]
    private(set) var lastGood: [String: EntrySpec] = [:]

    init(_ entries: [EntryText]) {
        for entry in entries { set(entry) }
    }

    mutating func set(_ text: EntryText) {
        current[text.spec.key] = text
        if case .good(let spec) = text { lastGood[spec.key] = spec }
    }

    mutating func remove(_ key: String) {
        current[key] = nil
        lastGood[key] = nil
    }

    /// A restart forgets every last good version: only good texts remain.
    mutating func restarted() {
        lastGood = current.compactMapValues { text in
            if case .good(let spec) = text { return spec }
            return nil
        }
    }

    /// The entries in force: good texts, and the last good version of broken ones.
    var inForce: [EntrySpec] {
        current.keys.sorted().compactMap { key in
            switch current[key]! {
            case .good(let spec): spec
            case .bad: lastGood[key]
            }
        }
    }

    /// Broken keys with no good version: what they meant (their model is protected).
    var quarantined: [EntrySpec] {
        current.keys.sorted().compactMap { key in
            if case .bad(_, let spec) = current[key]!, lastGood[key] == nil { return spec }
            return nil
        }
    }

    /// Every key whose text is broken.
    var broken: [EntrySpec] {
        current.values.compactMap { text in
            if case .bad(_, let spec) = text { return spec }
            return nil
        }
    }

    /// `global: scale_to_zero_allowed: false` is in force.
    var killSwitch: Bool { inForce.contains { $0.key == "global" && $0.scaleToZeroAllowed == false } }

    /// The ConfigMap as the product reads it.
    var rawEntries: [(key: String, text: String)] { current.keys.sorted().map { ($0, current[$0]!.yaml) } }

    func names(_ spec: EntrySpec, _ model: SimModel) -> Bool {
        spec.modelID == model.id && (spec.namespace == nil || spec.namespace == model.namespace)
    }

    func resolve(_ model: SimModel) -> Resolved {
        let entries = inForce
        let scoped = entries.filter { $0.key != "default" && $0.key != "global" && $0.modelID == model.id && $0.namespace == model.namespace }
        let unscoped = entries.filter { $0.key != "default" && $0.key != "global" && $0.modelID == model.id && $0.namespace == nil }
        let defaults = entries.filter { $0.key == "default" }
        let levels = [scoped, unscoped, defaults]

        func conservativeBool(_ values: [Bool]) -> Bool? { values.isEmpty ? nil : !values.contains(false) }
        var enable = levels.lazy.compactMap { level in conservativeBool(level.compactMap(\.enable)) }.first ?? false
        let retention = levels.lazy.compactMap { level in level.compactMap(\.retention).max() }.first ?? Self.systemRetention
        let minReplicas = levels.lazy.compactMap { level in level.compactMap(\.minReplicas).max() }.first ?? 1
        let maxReplicas = levels.lazy.compactMap { level in level.compactMap(\.maxReplicas).max() }.first
        let group = levels.lazy.compactMap { level in level.compactMap(\.group).first }.first
        let aliases = levels.lazy.map { level in level.flatMap(\.aliases) }.first { !$0.isEmpty } ?? []
        let wakePathAPI = levels.lazy.compactMap { level in level.contains(where: \.wakePathAPI) ? true : nil }.first ?? false

        let protected = quarantined.contains { $0.key == "default" || names($0, model) }
        if protected { enable = false }
        let badInForce = broken.contains { $0.key == "default" || $0.key == "global" || names($0, model) }
        return Resolved(
            enable: enable, retention: retention, minReplicas: minReplicas, maxReplicas: maxReplicas, group: group, aliases: aliases,
            wakePathAPI: wakePathAPI, badInForce: badInForce, namedScoped: !scoped.isEmpty)
    }
}
