/// Writes the Prometheus text exposition format (version 0.0.4) into one growing byte buffer.
struct ExpositionWriter {
    private(set) var bytes: [UInt8] = []

    init(reserving capacity: Int = 4096) { bytes.reserveCapacity(capacity) }

    /// The page as text.
    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Appends pre-rendered lines.
    mutating func append(bytes more: [UInt8]) { bytes.append(contentsOf: more) }

    private mutating func append(_ string: String) {
        var string = string
        string.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// `# HELP` and `# TYPE` lines of a metric family.
    mutating func family(_ name: String, _ type: String, _ help: String) {
        append("# HELP \(name) \(help)\n# TYPE \(name) \(type)\n")
    }

    /// One sample; `labels` is already rendered (`a="1",b="2"`), empty for none.
    mutating func sample(_ name: String, _ labels: String = "", _ value: Double) {
        prefix(name, labels)
        append(Self.format(value))
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func prefix(_ name: String, _ labels: String) {
        append(name)
        if !labels.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            append(labels)
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
    }

    /// An integer sample.
    mutating func sample(_ name: String, _ labels: String = "", int value: Int) {
        prefix(name, labels)
        appendDecimal(value)
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func appendDecimal(_ value: Int) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        if magnitude < 10 { bytes.append(UInt8(ascii: "0") + UInt8(magnitude)); return }
        var digits: [UInt8] = []
        while magnitude > 0 {
            digits.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        }
        bytes.append(contentsOf: digits.reversed())
    }

    /// A cumulative histogram from bucket bounds, per-bucket counts, sum and count.
    mutating func histogram(_ name: String, _ histogram: Histogram, labels: String = "") {
        var cumulative = 0
        let prefix = labels.isEmpty ? "" : labels + ","
        for (bound, count) in zip(histogram.bounds, histogram.counts) {
            cumulative += count
            sample(name + "_bucket", prefix + "le=\"\(Self.format(bound))\"", int: cumulative)
        }
        sample(name + "_bucket", prefix + "le=\"+Inf\"", int: histogram.count)
        sample(name + "_sum", labels, histogram.sum)
        sample(name + "_count", labels, int: histogram.count)
    }

    /// A family with one unlabelled sample.
    mutating func single(_ name: String, _ type: String, _ help: String, _ value: Double) {
        family(name, type, help)
        sample(name, "", value)
    }

    /// A family with one sample per value of one label.
    mutating func labelled(_ name: String, _ type: String, _ help: String, label: String, _ values: [(String, Int)]) {
        family(name, type, help)
        for (labelValue, value) in values { sample(name, "\(label)=\"\(labelValue)\"", int: value) }
    }

    /// `name="value"` pairs, values escaped.
    static func labels(_ pairs: KeyValuePairs<String, String>) -> String {
        pairs.map { "\($0.key)=\"\(escape($0.value))\"" }.joined(separator: ",")
    }

    /// Escapes a label value: backslash, double quote and line feed, byte by byte.
    ///
    /// The exposition format is bytes, not characters: a quote or a line feed that is part of a
    /// larger grapheme (`"` followed by a combining accent, `\r\n`) is one `Character` in Swift
    /// but still a raw `"` or `\n` byte on the wire, where it would end the value or the line. The
    /// check and the escaping therefore look at UTF-8 bytes.
    static func escape(_ value: String) -> String {
        let utf8 = value.utf8
        guard utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
            return value
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count + 8)
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// A fixed-bucket histogram.
struct Histogram: Sendable {
    let bounds: [Double]
    private(set) var counts: [Int]
    private(set) var sum: Double = 0
    private(set) var count = 0

    init(bounds: [Double]) {
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count)
    }

    mutating func observe(_ value: Double) {
        if let index = bounds.firstIndex(where: { value <= $0 }) { counts[index] += 1 }
        sum += value
        count += 1
    }
}
