import Foundation
import ModelConfig

/// The size of an active model (spec §5 step 4) and the arithmetic behind it, shown by `explain`
/// and the recommendations API.
public struct Sizing: Sendable, Hashable {
    /// The size clamped to [max(1, min_replicas), max_replicas].
    public let replicas: Int
    /// How it was reached, in words and numbers.
    public let arithmetic: String
}

/// Sizing rules, one function per way of sizing. Never the ready count echoed back: a surge pod
/// of a rolling update, counted in the ready replicas, would otherwise raise the recommendation,
/// the consumer would add a pod, and the next surge would raise it again (a ratchet).
enum Sizer {
    /// The size of `config`'s model from this tick's signals; nil when a signal it needs is
    /// unknown (the decision then holds). Without `explain` the arithmetic is left empty (the size
    /// is the same).
    static func size(_ config: ResolvedModelConfig, _ s: ModelSignals, previous: Int?, explain: Bool = true) -> Sizing? {
        if let target = config.targetConcurrency { return concurrency(config, s, target: target, explain: explain) }
        return saturation(config, s, previous: previous, explain: explain)
    }

    /// Knative style: requests in flight over the per-replica target.
    static func concurrency(_ config: ResolvedModelConfig, _ s: ModelSignals, target: Double, explain: Bool = true) -> Sizing? {
        guard let load = s.inFlight, load.isFinite else { return nil }
        let raw = (load / target).rounded(.up)
        return clamp(config, raw, explain ? "\(format(load)) in flight / target_concurrency \(format(target)) = \(format(raw))" : nil)
    }

    /// WVA style: the KV-cache in use across the ready replicas (in replica units) against the
    /// target utilisation, and enough replicas for the queue when requests wait beyond the bound.
    /// With no replica reporting there is no load to size to: the previous size is kept (a scrape
    /// outage must not shrink a model; waking from zero gives the floor).
    static func saturation(_ config: ResolvedModelConfig, _ s: ModelSignals, previous: Int?, explain: Bool = true) -> Sizing? {
        guard let ready = s.ready, let kv = s.kvCacheUsage, let running = s.running, let waiting = s.waiting,
              ready.isFinite, kv.isFinite, running.isFinite, waiting.isFinite else { return nil }
        guard ready >= 1 else {
            let kept = Double(previous ?? 0)
            return clamp(config, kept, !explain ? nil : kept > 0 ? "no replica reports: keeping \(format(kept))" : "no replica reports yet")
        }
        let target = config.targetKVCacheUtilization
        let kvLoad = ready * min(max(kv, 0), 1)
        let byKV = (kvLoad / target - 1e-9).rounded(.up)
        var raw = byKV
        var text = explain ? "kv-cache \(format(kvLoad)) replica(s) in use / target \(format(target)) = \(format(byKV))" : ""
        let bound = config.maxWaitingPerReplica * ready
        if waiting > bound {
            // Replicas are full: each serves what it runs now; the queue needs that many more.
            let perReplica = max(running / ready, 1)
            let byQueue = ((running + waiting) / perReplica - 1e-9).rounded(.up)
            raw = max(raw, byQueue)
            if explain { text += "; \(format(waiting)) waiting > \(format(bound)) (max_waiting_per_replica × ready): \(format(running + waiting)) in flight / \(format(perReplica)) per replica = \(format(byQueue))" }
        }
        return clamp(config, raw, explain ? text : nil)
    }

    /// The size within the floor and `max_replicas`; `text` nil: no arithmetic written.
    static func clamp(_ config: ResolvedModelConfig, _ raw: Double, _ text: String?) -> Sizing {
        let floor = config.activeFloor
        let ceiling = max(config.maxReplicas ?? Int.max, floor)
        let size = min(max(Int(min(max(raw, 0), 1e9)), floor), ceiling)
        guard let text else { return Sizing(replicas: size, arithmetic: "") }
        let clamped = Double(size) == raw ? "" : " → \(size) within [\(floor), \(config.maxReplicas.map(String.init) ?? "∞")]"
        return Sizing(replicas: size, arithmetic: text + clamped)
    }

    static func format(_ value: Double) -> String { DecimalText.format(value, decimals: 2) }
}
