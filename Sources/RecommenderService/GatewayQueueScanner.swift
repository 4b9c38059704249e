import Foundation

/// A gateway series' identity: the model name it targets and, when the scrape added one, the
/// namespace label (the gateway pod's namespace, which need not be the model's).
public struct GatewayKey: Sendable, Hashable {
    /// The `namespace` label, nil when the series has none.
    public let namespace: String?
    /// `target_model_name` (or `model_name` when the target is empty).
    public let name: String

    /// Creates a key.
    public init(namespace: String?, name: String) {
        self.namespace = namespace
        self.name = name
    }
}

/// Reads the endpoint picker's queue gauges out of a Prometheus text exposition (`/metrics`), fed
/// in chunks as they arrive, without keeping the body.
///
/// Only the two gauges the `demand` query reads are parsed, `llm_d_epp_flow_control_queue_size`
/// and the older `inference_extension_flow_control_queue_size`; every other line is skipped at its
/// first byte or its name. A series counts under the same identity as in Prometheus
/// (``SignalCollector``'s `byTarget`): `target_model_name`, or `model_name` when that is empty, and
/// the `namespace` label when the series carries one. Per identity, series of one name are summed
/// (`sum by (namespace, target_model_name)`), and the newer name wins over the older one, as the
/// query's `or` does.
public struct GatewayQueueScanner: Sendable {
    /// The gauges, newer name first.
    static let newerName = Array("llm_d_epp_flow_control_queue_size".utf8)
    static let olderName = Array("inference_extension_flow_control_queue_size".utf8)
    /// A longer line is skipped: no queue gauge line comes close.
    static let maxLineLength = 16 * 1024

    private var line: [UInt8] = []
    /// The current line cannot be a queue gauge (or is too long): skip to the next newline.
    private var skipping = false
    private var newer: [GatewayKey: Double] = [:]
    private var older: [GatewayKey: Double] = [:]
    /// Queue gauge lines that could not be read (bad labels, a value that is not a number).
    public private(set) var malformedLines = 0
    /// Bytes seen.
    public private(set) var bytes = 0

    /// Creates an empty scanner.
    public init() {}

    /// Feeds the next chunk of the body.
    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>) {
        bytes += chunk.count
        var start = 0
        for index in 0..<chunk.count where chunk[index] == UInt8(ascii: "\n") {
            consume(UnsafeBufferPointer(rebasing: chunk[start..<index]), endsLine: true)
            start = index + 1
        }
        if start < chunk.count { consume(UnsafeBufferPointer(rebasing: chunk[start...]), endsLine: false) }
    }

    /// Feeds the next chunk of the body.
    public mutating func feed(_ chunk: [UInt8]) {
        chunk.withUnsafeBufferPointer { feed($0) }
    }

    /// Ends the body (a last line without a newline is read) and returns the queue per series
    /// identity.
    public mutating func finish() -> [GatewayKey: Double] {
        if !line.isEmpty && !skipping { parse(line) }
        line.removeAll()
        skipping = false
        var merged = older
        for (key, value) in newer { merged[key] = value }
        return merged
    }

    /// The queue per identity of a whole body.
    public static func scan(_ body: [UInt8]) -> (queued: [GatewayKey: Double], malformed: Int) {
        var scanner = GatewayQueueScanner()
        scanner.feed(body)
        let queued = scanner.finish()
        return (queued, scanner.malformedLines)
    }

    private mutating func consume(_ part: UnsafeBufferPointer<UInt8>, endsLine: Bool) {
        if line.isEmpty && !skipping, let first = part.first {
            // Both names start with `l` or `i`; comments, HELP/TYPE and other families are skipped here.
            skipping = first != UInt8(ascii: "l") && first != UInt8(ascii: "i")
        }
        if !skipping {
            if line.count + part.count > Self.maxLineLength {
                skipping = true
                line.removeAll(keepingCapacity: true)
            } else {
                line.append(contentsOf: part)
            }
        }
        guard endsLine else { return }
        if !skipping && !line.isEmpty { parse(line) }
        line.removeAll(keepingCapacity: true)
        skipping = false
    }

    private mutating func parse(_ text: [UInt8]) {
        let isNewer = text.starts(with: Self.newerName)
        guard isNewer || text.starts(with: Self.olderName) else { return }
        var index = isNewer ? Self.newerName.count : Self.olderName.count
        guard index < text.count, text[index] == UInt8(ascii: "{") || text[index] == UInt8(ascii: " ") || text[index] == UInt8(ascii: "\t") else {
            return  // another family whose name starts the same (`…_queue_size_bytes`)
        }
        var labels: [String: String] = [:]
        if text[index] == UInt8(ascii: "{") {
            guard let parsed = Self.labels(text, from: index + 1) else {
                malformedLines += 1
                return
            }
            labels = parsed.labels
            index = parsed.end
        }
        while index < text.count, text[index] == UInt8(ascii: " ") || text[index] == UInt8(ascii: "\t") { index += 1 }
        var end = index
        while end < text.count, text[end] != UInt8(ascii: " "), text[end] != UInt8(ascii: "\t"), text[end] != UInt8(ascii: "\r") { end += 1 }
        guard end > index, let value = Double(String(decoding: text[index..<end], as: UTF8.self)) else {
            malformedLines += 1
            return
        }
        guard value.isFinite, value >= 0 else { return }
        let target = labels["target_model_name"].flatMap { $0.isEmpty ? nil : $0 } ?? labels["model_name"]
        guard let target, !target.isEmpty else { return }
        let namespace = labels["namespace"].flatMap { $0.isEmpty ? nil : $0 }
        let key = GatewayKey(namespace: namespace, name: target)
        // Summed, and kept finite: two huge values must not add up to +Inf.
        if isNewer {
            newer[key] = min((newer[key] ?? 0) + value, .greatestFiniteMagnitude)
        } else {
            older[key] = min((older[key] ?? 0) + value, .greatestFiniteMagnitude)
        }
    }

    /// Parses `name="value",…}` from `start` (just after `{`): the labels and the index after `}`.
    /// Values may hold `\\`, `\"` and `\n` escapes. Nil when malformed.
    static func labels(_ text: [UInt8], from start: Int) -> (labels: [String: String], end: Int)? {
        var labels: [String: String] = [:]
        var index = start
        func skipSpace() { while index < text.count, text[index] == UInt8(ascii: " ") || text[index] == UInt8(ascii: "\t") { index += 1 } }
        while true {
            skipSpace()
            guard index < text.count else { return nil }
            if text[index] == UInt8(ascii: "}") { return (labels, index + 1) }
            let nameStart = index
            while index < text.count, text[index] != UInt8(ascii: "="), text[index] != UInt8(ascii: " ") { index += 1 }
            let name = String(decoding: text[nameStart..<index], as: UTF8.self)
            skipSpace()
            guard !name.isEmpty, index < text.count, text[index] == UInt8(ascii: "=") else { return nil }
            index += 1
            skipSpace()
            guard index < text.count, text[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            var value: [UInt8] = []
            var closed = false
            while index < text.count {
                let byte = text[index]
                if byte == UInt8(ascii: "\\") {
                    guard index + 1 < text.count else { return nil }
                    let next = text[index + 1]
                    value.append(next == UInt8(ascii: "n") ? UInt8(ascii: "\n") : next)
                    index += 2
                } else if byte == UInt8(ascii: "\"") {
                    index += 1
                    closed = true
                    break
                } else {
                    value.append(byte)
                    index += 1
                }
            }
            guard closed else { return nil }
            labels[name] = String(decoding: value, as: UTF8.self)
            skipSpace()
            guard index < text.count else { return nil }
            if text[index] == UInt8(ascii: ",") { index += 1 } else if text[index] != UInt8(ascii: "}") { return nil }
        }
    }
}
