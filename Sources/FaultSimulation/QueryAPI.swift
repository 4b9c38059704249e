import Foundation

/// Bodies of the Prometheus HTTP query API (`/api/v1/query`), byte for byte the shapes Prometheus,
/// Thanos and VictoriaMetrics send, so that the real client's decoder reads them.
enum QueryAPI {
    /// How an answer is flagged as partial.
    enum PartialFlag: Sendable, Hashable {
        /// VictoriaMetrics cluster: `"isPartial": true`.
        case isPartial
        /// Thanos: a warning naming the store that did not answer.
        case thanosWarning
    }

    /// `{"status":"success","data":{"resultType":"vector","result":[…]}}` with optional flags.
    static func success(_ samples: [ResultSample], at time: Double, partial: PartialFlag?, infos: [String]) -> [UInt8] {
        var out = "{\"status\":\"success\""
        if partial == .isPartial { out += ",\"isPartial\":true" }
        out += ",\"data\":{\"resultType\":\"vector\",\"result\":["
        let millis = Int64((time * 1000).rounded())
        let fraction = String(millis % 1000)
        let stamp = "\(millis / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
        for (i, sample) in samples.enumerated() {
            if i > 0 { out += "," }
            out += "{\"metric\":{"
            for (j, name) in sample.labels.keys.sorted().enumerated() {
                if j > 0 { out += "," }
                out += quote(name) + ":" + quote(sample.labels[name]!)
            }
            out += "},\"value\":[" + stamp + "," + quote(format(sample.value)) + "]}"
        }
        out += "]}"
        if partial == .thanosWarning {
            out += ",\"warnings\":[" + quote("partial response: receive series from Addr: 10.0.3.7:10901 LabelSets: {replica=\"store-b\"}: rpc error: code = Unavailable desc = connection refused") + "]"
        }
        if !infos.isEmpty { out += ",\"infos\":[" + infos.map(quote).joined(separator: ",") + "]" }
        out += "}"
        return Array(out.utf8)
    }

    /// `{"status":"error","errorType":…,"error":…}`.
    static func error(type: String, message: String) -> [UInt8] {
        Array("{\"status\":\"error\",\"errorType\":\(quote(type)),\"error\":\(quote(message))}".utf8)
    }

    /// A float the way Prometheus writes it (`strconv.FormatFloat(f, 'f', -1, 64)`, `NaN`, `+Inf`).
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func quote(_ text: String) -> String {
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) { return "\"" + text + "\"" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}
