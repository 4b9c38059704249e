// libFuzzer target: ConfigMap entries (YAML -> validated entry -> set -> resolution).
// Built by scripts/fuzz against ModelConfig and Yams.
import ModelConfig

/// The input is up to three entries separated by NUL bytes, under the keys `default`, `a` and
/// `b` (or `global` for the first when it starts with `#global`): fall-through, duplicates and
/// the kill switch are all reachable.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let parts = UnsafeBufferPointer(start: data, count: size).split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
    var entries: [RawEntry] = []
    for (index, part) in parts.enumerated() {
        let text = String(decoding: part, as: UTF8.self)
        let key = index == 0 ? (text.hasPrefix("#global") ? "global" : "default") : ["a", "b"][index - 1]
        entries.append(RawEntry(key: key, text: text, location: EntryLocation(file: "fuzz/\(key)", firstLine: 3)))
    }
    let set = ModelConfigSet.build(entries: entries, previous: nil)
    // A rebuild on top of itself (a config reload) gives the same problems (checked on one input
    // in eight: parsing dominates the cost of a run).
    if size % 8 == 0 {
        let again = ModelConfigSet.build(entries: entries, previous: set)
        precondition(again.problems == set.problems)
    }
    for problem in set.problems {
        precondition(problem.file.hasPrefix("fuzz/") && !problem.message.isEmpty)
        // One line, no control character: messages are printed and logged as they are.
        precondition(!problem.description.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "\(problem)")
        precondition(problem.line.map { $0 >= 3 } ?? true, "line \(problem.line!) before the entry")
    }
    for environment in [nil, true, false] as [Bool?] {
        let resolver = ConfigResolver(config: set, environmentScaleToZero: environment)
        var models: [(ModelEntry?, ModelKey)] = set.overrides.compactMap { entry in
            entry.modelID.map { (entry, ModelKey(namespace: entry.namespace ?? "ns", modelID: $0)) }
        }
        models.append((nil, ModelKey(namespace: "ns", modelID: "unconfigured")))
        for (entry, key) in models {
            let resolved = resolver.resolve(key)
            precondition(resolved.minRetention <= resolved.retention && resolved.retention.nanoseconds > 0)
            precondition(resolved.targetKVCacheUtilization > 0 && resolved.targetKVCacheUtilization <= 1)
            precondition(resolved.maxWaitingPerReplica >= 0 && resolved.minReplicas >= 0)
            precondition(resolved.activeFloor >= 1 || resolved.maxReplicas == 0)
            for field in ConfigField.allCases { precondition(resolved.sources[field] != nil, "\(field) has no source") }
            // Safety: the most specific entry (namespace-scoped) that says off keeps the model off,
            // whatever else is configured, duplicates included.
            if let entry, entry.namespace != nil, entry.settings.enableScaleToZero == false {
                precondition(!resolved.enableScaleToZero, "\(entry.key) says off, \(key) resolves on")
            }
            if set.defaults?.settings.enableScaleToZero == false, entry == nil { precondition(!resolved.enableScaleToZero) }
        }
        // A broken entry with no good version protects the model it names.
        for quarantine in set.quarantined {
            guard let modelID = quarantine.modelID else { continue }
            let key = ModelKey(namespace: quarantine.namespace ?? "ns", modelID: modelID)
            precondition(!resolver.resolve(key).enableScaleToZero, "broken entry \(quarantine.key) lets \(key) scale to zero")
        }
        if environment == nil {
            _ = ConfigExplanation(resolved: resolver.resolve(ModelKey(namespace: "ns", modelID: "unconfigured")), resolver: resolver).text()
        }
    }
    return 0
}
