/// A validated model ConfigMap: the entries in force, and every problem found on the way.
///
/// Built from the raw keys and the previous set, so that a bad edit keeps the last good version of
/// the entry in force; with no good version, the model the broken entry names is protected
/// (resolved as `enable_scale_to_zero: false`), a broken `default` protects every model, and a
/// broken `global` engages the kill switch. A bad edit never makes scale-to-zero more aggressive.
public struct ModelConfigSet: Sendable {
    /// A model protected from scale-to-zero because its entry is broken and has no good version.
    public struct Quarantine: Sendable, Hashable {
        /// The broken key.
        public let key: String
        /// The model it names; nil when the broken key is `default` (every model is protected).
        public let modelID: String?
        /// The namespace it names, if any.
        public let namespace: String?
        /// Its `min_replicas`, when it could still be read: honoured if higher than the floor resolved
        /// without it.
        public var minReplicas: Int? = nil
    }

    /// The `default` entry in force, if any.
    public let defaults: ModelEntry?
    /// The override entries in force, sorted by key (duplicates of one model and namespace included:
    /// they resolve together, field by field, to the more conservative value).
    public let overrides: [ModelEntry]
    /// The `global` entry in force.
    public let global: GlobalEntry
    /// True when a broken `global` entry with no good version engaged the kill switch.
    public let globalQuarantined: Bool
    /// Models protected because their entry is broken and never had a good version.
    public let quarantined: [Quarantine]
    /// Keys whose current text is broken and whose last good version is still in force.
    public let retainedKeys: [String]
    /// Every error and warning of the current text.
    public let problems: [ConfigProblem]

    /// The last good parse of each key, carried into the next build.
    let lastGood: [String: ParsedEntry]
    private let overridesByModel: [String: [ModelEntry]]

    /// The number of errors (warnings excluded).
    public var errorCount: Int { problems.count { $0.severity == .error } }

    /// An empty configuration: every model resolves to the environment and system defaults.
    public static let empty = ModelConfigSet.build(entries: [], previous: nil)

    /// Validates `entries`; `previous` supplies the last good version of keys that are now broken.
    public static func build(entries: [RawEntry], previous: ModelConfigSet?) -> ModelConfigSet {
        var problems: [ConfigProblem] = []
        var good: [String: ParsedEntry] = [:]
        var retained: [String] = []
        var quarantined: [Quarantine] = []
        var globalQuarantined = false
        var locations: [String: EntryLocation] = [:]

        for raw in entries {
            locations[raw.key] = raw.location
            let parsed = EntryParser.parse(key: raw.key, text: raw.text, location: raw.location, problems: &problems)
            guard case .invalid(let key, let modelID, let namespace, let minReplicas) = parsed else {
                good[raw.key] = parsed
                continue
            }
            if let last = previous?.lastGood[key] {
                good[key] = last
                retained.append(key)
            } else if key == EntryParser.globalKey {
                globalQuarantined = true
            } else if key == EntryParser.defaultKey {
                quarantined.append(Quarantine(key: key, modelID: nil, namespace: nil, minReplicas: minReplicas))
            } else if let modelID {
                quarantined.append(Quarantine(key: key, modelID: modelID, namespace: namespace, minReplicas: minReplicas))
            }
        }

        var defaults: ModelEntry?
        var global = GlobalEntry()
        var candidates: [ModelEntry] = []
        for (key, parsed) in good {
            switch parsed {
            case .model(let entry) where key == EntryParser.defaultKey: defaults = entry
            case .model(let entry): candidates.append(entry)
            case .global(let entry): global = entry
            case .invalid: break
            }
        }

        // Duplicate model_id + namespace: an error on every key after the first; all of them stay in
        // force and the model resolves to the more conservative value of each field (ConfigResolver).
        var overrides: [ModelEntry] = []
        var owners: [String: String] = [:]
        for entry in candidates.sorted(by: { $0.key < $1.key }) {
            let identity = "\(entry.namespace ?? "")\u{0}\(entry.modelID ?? "")"
            if let owner = owners[identity] {
                let scope = entry.namespace.map { " in namespace \($0)" } ?? " (all namespaces)"
                problems.append(ConfigProblem(
                    .error, file: locations[entry.key]?.file ?? entry.key, key: entry.key, field: "model_id", line: locations[entry.key]?.firstLine,
                    message: "duplicate: model \(entry.modelID ?? "")\(scope) is also configured by key `\(owner)`; expected one entry per model_id and namespace. Until fixed, the model takes the more conservative value of each field (scale-to-zero off if either says off, the longer retention, the higher floor)"))
            } else {
                owners[identity] = entry.key
            }
            overrides.append(entry)
        }

        let byModel = Dictionary(grouping: overrides) { $0.modelID ?? "" }
        return ModelConfigSet(
            defaults: defaults, overrides: overrides, global: global, globalQuarantined: globalQuarantined,
            quarantined: quarantined.sorted { $0.key < $1.key }, retainedKeys: retained.sorted(),
            problems: problems.sorted(by: ModelConfigSet.problemOrder), lastGood: good, overridesByModel: byModel)
    }

    private static func problemOrder(_ a: ConfigProblem, _ b: ConfigProblem) -> Bool {
        (a.file, a.line ?? 0, a.key, a.field ?? "") < (b.file, b.line ?? 0, b.key, b.field ?? "")
    }

    /// The overrides for `modelID` limited to `namespace`, and those for every namespace, in key
    /// order (more than one of a kind only when the ConfigMap has duplicates).
    func overrides(for modelID: String, namespace: String) -> (scoped: [ModelEntry], unscoped: [ModelEntry]) {
        guard let entries = overridesByModel[modelID] else { return ([], []) }
        return (entries.filter { $0.namespace == namespace }, entries.filter { $0.namespace == nil })
    }

    /// The broken entries (never good) that protect the model: its own first, then a broken `default`.
    func quarantines(for modelID: String, namespace: String) -> [Quarantine] {
        let matching = quarantined.filter { q in
            q.modelID == nil || (q.modelID == modelID && (q.namespace == nil || q.namespace == namespace))
        }
        return matching.filter { $0.modelID != nil } + matching.filter { $0.modelID == nil }
    }
}
