import CZlib
import Foundation
import ModelConfig

/// Request history: per model, the arrival times of its requests in seconds from the trace start.
public struct Trace: Sendable {
    /// The models, sorted by namespace then id.
    public let models: [ModelKey]
    /// Arrival times per model (same order as `models`), ascending.
    public let arrivals: [[Double]]
    /// Whether the source named namespaces (a `namespace` column, or Prometheus history).
    public let hasNamespaces: Bool
    /// The traffic class of each model (same order as `models`) when the source named classes (a
    /// `class` column, or the fleet generator); nil otherwise. A model may have an empty class.
    public let classes: [String]?

    /// Creates a trace; arrivals are sorted and models ordered. `classes` names a traffic class per
    /// model (models it does not name get an empty class).
    public init(arrivals byModel: [ModelKey: [Double]], hasNamespaces: Bool = true, classes byClass: [ModelKey: String]? = nil) {
        let keys = byModel.keys.sorted()
        models = keys
        arrivals = keys.map { byModel[$0]!.sorted() }
        self.hasNamespaces = hasNamespaces
        classes = byClass.map { names in keys.map { names[$0] ?? "" } }
    }

    /// All requests.
    public var requestCount: Int { arrivals.reduce(0) { $0 + $1.count } }

    /// The last arrival, 0 for an empty trace.
    public var lastArrival: Double { arrivals.compactMap(\.last).max() ?? 0 }
}

/// A trace file that cannot be used: where and why.
public struct TraceError: Error, CustomStringConvertible, Equatable {
    /// The message, naming the file, the line and the field.
    public let description: String
}

extension Trace {
    /// Reads a CSV trace (`.csv` or gzip-compressed `.csv.gz`): a header naming the columns
    /// `model` and `timestamp_s`, optionally `namespace` (default `default`) and `class` (the
    /// model's traffic class, for the report: the same on every line of a model), in any order; one
    /// request per line, lines in any order.
    public static func read(path: String) throws(TraceError) -> Trace {
        guard let file = gzopen(path, "rb") else {
            throw TraceError(description: "\(path): cannot open the trace file (\(String(cString: strerror(errno))))")
        }
        defer { gzclose(file) }
        var parser = CSVTraceParser(file: path)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if count < 0 {
                var code: Int32 = 0
                let message = String(cString: gzerror(file, &code))
                throw TraceError(description: "\(path): cannot read the trace: \(message) (a damaged .gz file?)")
            }
            if count == 0 { break }
            try parser.feed(buffer[0..<Int(count)])
        }
        return try parser.finish()
    }

    /// Parses CSV trace text (see ``read(path:)``).
    public static func parse(_ text: String, file: String = "trace") throws(TraceError) -> Trace {
        var parser = CSVTraceParser(file: file)
        try parser.feed(Array(text.utf8)[...])
        return try parser.finish()
    }

    /// Writes the trace as CSV (`model,timestamp_s,namespace`, and `class` when the trace has
    /// classes), gzip-compressed when `path` ends in `.gz`.
    public func write(path: String) throws(TraceError) {
        let compressed = path.hasSuffix(".gz")
        guard let file = gzopen(path, compressed ? "wb6" : "wbT") else {
            throw TraceError(description: "\(path): cannot create the trace file (\(String(cString: strerror(errno))))")
        }
        var ok = true
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        func flush() {
            guard !out.isEmpty else { return }
            let written = out.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
            if written != Int32(out.count) { ok = false }
            out.removeAll(keepingCapacity: true)
        }
        out.append(contentsOf: Array((classes == nil ? "model,timestamp_s,namespace\n" : "model,timestamp_s,namespace,class\n").utf8))
        var merged: [(time: Double, model: Int)] = []
        merged.reserveCapacity(requestCount)
        for (index, times) in arrivals.enumerated() { for time in times { merged.append((time, index)) } }
        merged.sort { $0.time < $1.time || ($0.time == $1.time && $0.model < $1.model) }
        let names = models.map { (CSV.field($0.modelID), CSV.field($0.namespace)) }
        let classFields = classes.map { $0.map { Array(("," + CSV.field($0)).utf8) } }
        for (time, model) in merged {
            out.append(contentsOf: Array(names[model].0.utf8))
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: Array(CSV.seconds(time).utf8))
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: Array(names[model].1.utf8))
            if let classFields { out.append(contentsOf: classFields[model]) }
            out.append(UInt8(ascii: "\n"))
            if out.count > 1 << 20 { flush() }
        }
        flush()
        if gzclose(file) != Z_OK || !ok { throw TraceError(description: "\(path): cannot write the trace file") }
    }
}

/// CSV helpers shared by the trace and decision writers.
enum CSV {
    /// A field, quoted when it holds a comma, a quote or a line break.
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Seconds with millisecond precision and no trailing zeros.
    static func seconds(_ value: Double) -> String {
        let millis = Int64((value * 1000).rounded())
        let whole = millis / 1000, fraction = millis % 1000
        guard fraction != 0 else { return String(whole) }
        var digits = String(fraction)
        while digits.count < 3 { digits = "0" + digits }
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }
}

/// An incremental CSV parser for traces: bytes in, arrivals per model out. Lines are split on
/// `\n` (a trailing `\r` is dropped); fields may be quoted RFC 4180 style.
struct CSVTraceParser {
    let file: String
    private var pending: [UInt8] = []
    private var line = 0
    private var columns: (model: Int, time: Int, namespace: Int?, trafficClass: Int?, count: Int)?
    private var index: [String: Int] = [:]
    private var keys: [ModelKey] = []
    private var arrivals: [[Double]] = []
    /// Per model: its class and the line that first named it.
    private var classes: [(name: String, line: Int)] = []

    init(file: String) { self.file = file }

    mutating func feed(_ bytes: ArraySlice<UInt8>) throws(TraceError) {
        var start = bytes.startIndex
        for i in bytes.indices where bytes[i] == UInt8(ascii: "\n") {
            if pending.isEmpty {
                try handle(bytes[start..<i])
            } else {
                pending.append(contentsOf: bytes[start..<i])
                let line = pending
                pending.removeAll(keepingCapacity: true)
                try handle(line[...])
            }
            start = i + 1
        }
        pending.append(contentsOf: bytes[start..<bytes.endIndex])
    }

    mutating func finish() throws(TraceError) -> Trace {
        if !pending.isEmpty {
            let line = pending
            pending.removeAll()
            try handle(line[...])
        }
        guard let columns else { throw TraceError(description: "\(file): empty trace: expected a header line `model,timestamp_s[,namespace][,class]`") }
        var byModel: [ModelKey: [Double]] = [:]
        for (key, times) in zip(keys, arrivals) { byModel[key] = times }
        var byClass: [ModelKey: String]?
        if columns.trafficClass != nil {
            byClass = [:]
            for (key, trafficClass) in zip(keys, classes) { byClass?[key] = trafficClass.name }
        }
        return Trace(arrivals: byModel, hasNamespaces: columns.namespace != nil, classes: byClass)
    }

    private mutating func handle(_ raw: ArraySlice<UInt8>) throws(TraceError) {
        line += 1
        var bytes = raw
        if let last = bytes.last, last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        if bytes.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { return }
        guard let columns else {
            try header(bytes)
            return
        }
        let values = try split(bytes)
        guard values.count == columns.count else {
            throw TraceError(description: "\(file):\(line): expected \(columns.count) fields as in the header, found \(values.count)")
        }
        let model = values[columns.model]
        guard !model.isEmpty else { throw TraceError(description: "\(file):\(line): model: expected a model id, found an empty field") }
        let namespace = columns.namespace.map { values[$0] } ?? ""
        let text = values[columns.time]
        guard let time = Self.number(text), time.isFinite, time >= 0 else {
            throw TraceError(description: "\(file):\(line): timestamp_s: expected seconds from the trace start (a number ≥ 0), found \"\(text)\"")
        }
        let name = namespace.isEmpty ? model : namespace + "\u{0}" + model
        let trafficClass = columns.trafficClass.map { values[$0] } ?? ""
        if let slot = index[name] {
            arrivals[slot].append(time)
            if trafficClass != classes[slot].name {
                throw TraceError(
                    description: "\(file):\(line): class: expected \"\(classes[slot].name)\" as on line \(classes[slot].line) for model \(model) (one class per model), found \"\(trafficClass)\"")
            }
        } else {
            index[name] = keys.count
            keys.append(ModelKey(namespace: namespace.isEmpty ? "default" : namespace, modelID: model))
            arrivals.append([time])
            classes.append((trafficClass, line))
        }
    }

    private mutating func header(_ bytes: ArraySlice<UInt8>) throws(TraceError) {
        let names = try split(bytes).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let model = names.firstIndex(of: "model"), time = names.firstIndex(of: "timestamp_s")
        guard let model, let time else {
            throw TraceError(description: "\(file):\(line): header: expected columns model and timestamp_s (and optionally namespace, class), found \(names.joined(separator: ","))")
        }
        columns = (model, time, names.firstIndex(of: "namespace"), names.firstIndex(of: "class"), names.count)
    }

    /// Splits one line into fields (quoted fields unquoted).
    private func split(_ bytes: ArraySlice<UInt8>) throws(TraceError) -> [String] {
        var result: [String] = []
        var i = bytes.startIndex
        let n = bytes.endIndex
        while true {
            if i < n, bytes[i] == UInt8(ascii: "\"") {
                var value: [UInt8] = []
                i += 1
                var closed = false
                while i < n {
                    if bytes[i] == UInt8(ascii: "\"") {
                        if i + 1 < n, bytes[i + 1] == UInt8(ascii: "\"") {
                            value.append(UInt8(ascii: "\""))
                            i += 2
                            continue
                        }
                        closed = true
                        i += 1
                        break
                    }
                    value.append(bytes[i])
                    i += 1
                }
                guard closed, i == n || bytes[i] == UInt8(ascii: ",") else {
                    throw TraceError(description: "\(file):\(line): a quoted field is not closed properly")
                }
                result.append(String(decoding: value, as: UTF8.self))
            } else {
                var end = i
                while end < n, bytes[end] != UInt8(ascii: ",") { end += 1 }
                result.append(String(decoding: bytes[i..<end], as: UTF8.self))
                i = end
            }
            if i >= n { break }
            i += 1  // the comma
            if i == n {
                result.append("")
                break
            }
        }
        return result
    }

    /// A plain decimal (`123`, `12.5`) parsed directly; anything else through `Double(_:)`.
    static func number(_ text: String) -> Double? {
        var whole = 0.0, fraction = 0.0, scale = 1.0, digits = 0, afterPoint = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits += 1
                if afterPoint {
                    scale /= 10
                    fraction += Double(byte - UInt8(ascii: "0")) * scale
                } else {
                    whole = whole * 10 + Double(byte - UInt8(ascii: "0"))
                }
            case UInt8(ascii: ".") where !afterPoint: afterPoint = true
            default: return Double(text.trimmingCharacters(in: .whitespaces))
            }
        }
        return digits > 0 && digits <= 15 ? whole + fraction : Double(text)
    }
}
