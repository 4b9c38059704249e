/// A single-pass decoder for the Prometheus query API's JSON, from bytes straight to samples.
///
/// `JSONSerialization` builds a Foundation object per value: for 10,000 models (about 60,000
/// samples a tick) that cost ~160 MB of transient memory a tick in `serve`. This decoder builds
/// only what the client returns (the samples with their labels) and skips every other value.
struct ResponseDecoder {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// What a response says.
    struct Response {
        var status: String?
        var errorType: String?
        var error: String?
        var resultType: String?
        var samples: [Sample] = []
        /// A range query's series (`resultType: matrix`).
        var series: [RangeSeries] = []
        var sawResult = false
        /// VictoriaMetrics cluster: `"isPartial": true` when a storage node did not answer.
        var isPartial = false
        /// `warnings` (Prometheus, Thanos): strings.
        var warnings: [String] = []
        /// True when the result was a `[time, "value"]` pair, false for a list of samples.
        var resultIsPair = false
    }

    struct Malformed: Error {}

    mutating func decode() throws(Malformed) -> Response {
        var response = Response()
        try object { key, decoder throws(Malformed) in
            switch key {
            case "status": response.status = try decoder.string()
            case "errorType": response.errorType = try decoder.string()
            case "error": response.error = try decoder.string()
            case "isPartial": response.isPartial = try decoder.boolean()
            case "warnings": response.warnings = try decoder.strings()
            case "data":
                try decoder.object { key, decoder throws(Malformed) in
                    switch key {
                    case "resultType": response.resultType = try decoder.string()
                    case "result" where response.resultType == "matrix":
                        response.sawResult = true
                        response.series = try decoder.matrix()
                    case "result" where response.resultType.map({ $0 != "vector" && $0 != "scalar" }) ?? false:
                        response.sawResult = true
                        try decoder.skip()  // a matrix or string result: rejected by the caller by type
                    case "result":
                        response.sawResult = true
                        (response.samples, response.resultIsPair) = try decoder.result()
                    default: try decoder.skip()
                    }
                }
            default: try decoder.skip()
            }
        }
        whitespace()
        guard index == bytes.count else { throw Malformed() }  // nothing after the response
        // The shape must be the one the type announces (a scalar `[]` is not "no series").
        if response.sawResult, let type = response.resultType, type == "vector" || type == "scalar",
            response.resultIsPair != (type == "scalar")
        {
            throw Malformed()
        }
        return response
    }

    // MARK: - The result: a vector (array of {metric, value}) or a scalar ([time, "value"])

    private mutating func result() throws(Malformed) -> (samples: [Sample], isPair: Bool) {
        whitespace()
        guard peek() == UInt8(ascii: "[") else { throw Malformed() }
        let save = index
        index += 1
        whitespace()
        if peek() == UInt8(ascii: "{") || peek() == UInt8(ascii: "]") {
            index = save
            var samples: [Sample] = []
            try array { decoder throws(Malformed) in samples.append(try decoder.sample()) }
            return (samples, false)
        }
        index = save
        return ([Sample(labels: [:], value: try pair())], true)
    }

    /// A matrix: an array of `{metric, values: [[time, "value"], …]}`.
    private mutating func matrix() throws(Malformed) -> [RangeSeries] {
        var series: [RangeSeries] = []
        try array { decoder throws(Malformed) in
            var labels: [String: String] = [:]
            var times: [Double] = [], values: [Double] = []
            try decoder.object { key, decoder throws(Malformed) in
                switch key {
                case "metric":
                    try decoder.object { name, decoder throws(Malformed) in labels[name] = try decoder.string() }
                case "values":
                    try decoder.array { decoder throws(Malformed) in
                        var position = 0
                        try decoder.array { decoder throws(Malformed) in
                            if position == 0 {
                                times.append(try decoder.numberValue())
                            } else {
                                values.append(PrometheusClient.parseValue(try decoder.string()))
                            }
                            position += 1
                        }
                        guard position == 2 else { throw Malformed() }
                    }
                default: try decoder.skip()
                }
            }
            series.append(RangeSeries(labels: labels, times: times, values: values))
        }
        return series
    }

    /// A JSON number's value (its grammar checked by `number()`).
    private mutating func numberValue() throws(Malformed) -> Double {
        whitespace()
        let start = index
        try number()
        guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else { throw Malformed() }
        return value
    }

    private mutating func sample() throws(Malformed) -> Sample {
        var labels: [String: String] = [:]
        var value: Double?
        try object { key, decoder throws(Malformed) in
            switch key {
            case "metric":
                try decoder.object { name, decoder throws(Malformed) in labels[name] = try decoder.string() }
            case "value": value = try decoder.pair()
            default: try decoder.skip()  // "values" of a matrix, histograms: not an instant vector
            }
        }
        guard let value else { throw Malformed() }
        return Sample(labels: labels, value: value)
    }

    /// `[time, "value"]`: the value, as Prometheus writes it (NaN and ±Inf included).
    private mutating func pair() throws(Malformed) -> Double {
        var value: Double?
        var position = 0
        try array { decoder throws(Malformed) in
            if position == 1 { value = PrometheusClient.parseValue(try decoder.string()) } else { try decoder.skip() }
            position += 1
        }
        guard let value, position == 2 else { throw Malformed() }
        return value
    }

    // MARK: - JSON structure

    private mutating func object(_ member: (String, inout ResponseDecoder) throws(Malformed) -> Void) throws(Malformed) {
        try delimited(open: UInt8(ascii: "{"), close: UInt8(ascii: "}")) { decoder throws(Malformed) in
            let key = try decoder.string()
            try decoder.expect(UInt8(ascii: ":"))
            try member(key, &decoder)
        }
    }

    private mutating func array(_ element: (inout ResponseDecoder) throws(Malformed) -> Void) throws(Malformed) {
        try delimited(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), element)
    }

    /// `open item , item , … close`, possibly empty.
    private mutating func delimited(open: UInt8, close: UInt8, _ item: (inout ResponseDecoder) throws(Malformed) -> Void) throws(Malformed) {
        try expect(open)
        whitespace()
        if index < bytes.count, bytes[index] == close { index += 1; return }
        while true {
            try item(&self)
            whitespace()
            guard index < bytes.count else { throw Malformed() }
            let next = bytes[index]
            index += 1
            if next == close { return }
            guard next == UInt8(ascii: ",") else { throw Malformed() }
        }
    }

    /// A JSON string; escapes decoded (`\uXXXX` with surrogate pairs included). Raw control
    /// characters, unknown escapes, lone surrogates and invalid UTF-8 are malformed (Go's encoder
    /// writes none of them).
    private mutating func string() throws(Malformed) -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 {
            index += 1
        }
        guard index < bytes.count, bytes[index] >= 0x20 else { throw Malformed() }
        if bytes[index] == UInt8(ascii: "\"") {
            defer { index += 1 }
            guard let text = String(validating: bytes[start..<index], as: UTF8.self) else { throw Malformed() }
            return text
        }
        var scalars = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") {
                guard let text = String(validating: scalars, as: UTF8.self) else { throw Malformed() }
                return text
            }
            guard byte >= 0x20 else { throw Malformed() }
            guard byte == UInt8(ascii: "\\") else { scalars.append(byte); continue }
            guard index < bytes.count else { throw Malformed() }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "n"): scalars.append(0x0A)
            case UInt8(ascii: "t"): scalars.append(0x09)
            case UInt8(ascii: "r"): scalars.append(0x0D)
            case UInt8(ascii: "b"): scalars.append(0x08)
            case UInt8(ascii: "f"): scalars.append(0x0C)
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escape)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code) {
                    // A high surrogate must be followed by a low one (Go's encoder never writes a
                    // lone one; JSONSerialization rejects it too).
                    guard index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw Malformed()
                    }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw Malformed() }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw Malformed() }  // a lone low surrogate
                scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: throw Malformed()
            }
        }
        throw Malformed()
    }

    private mutating func hex4() throws(Malformed) -> UInt32 {
        guard index + 4 <= bytes.count else { throw Malformed() }
        var code: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Malformed()
            }
            code = code << 4 | UInt32(digit)
        }
        index += 4
        return code
    }

    /// `true` or `false`; anything else (null included) reads as false.
    private mutating func boolean() throws(Malformed) -> Bool {
        whitespace()
        let isTrue = bytes[index...].starts(with: Array("true".utf8))
        try skip()
        return isTrue
    }

    /// An array of strings (`warnings`); non-string elements are skipped.
    private mutating func strings() throws(Malformed) -> [String] {
        var out: [String] = []
        whitespace()
        guard peek() == UInt8(ascii: "[") else {
            try skip()
            return out
        }
        try array { decoder throws(Malformed) in
            if decoder.peek() == UInt8(ascii: "\"") { out.append(try decoder.string()) } else { try decoder.skip() }
        }
        return out
    }

    /// Skips any JSON value, checking its grammar: a corrupted body is malformed, never read as
    /// an answer with fewer series.
    private mutating func skip() throws(Malformed) {
        whitespace()
        guard index < bytes.count else { throw Malformed() }
        switch bytes[index] {
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "{"): try object { _, decoder throws(Malformed) in try decoder.skip() }
        case UInt8(ascii: "["): try array { decoder throws(Malformed) in try decoder.skip() }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try number()
        }
    }

    private mutating func literal(_ word: String) throws(Malformed) {
        let expected = Array(word.utf8)
        guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected else { throw Malformed() }
        index += expected.count
    }

    /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`
    private mutating func number() throws(Malformed) {
        func digits(_ decoder: inout ResponseDecoder) -> Int {
            let start = decoder.index
            while decoder.index < decoder.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(decoder.bytes[decoder.index]) {
                decoder.index += 1
            }
            return decoder.index - start
        }
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw Malformed() }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            guard digits(&self) > 0 else { throw Malformed() }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw Malformed() }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw Malformed() }
            // A number beyond a Double's range is malformed, as standard JSON parsers have it.
            guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)), value.isFinite else { throw Malformed() }
        } else if index - start > 308 {
            guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)), value.isFinite else { throw Malformed() }
        }
    }

    private mutating func expect(_ byte: UInt8) throws(Malformed) {
        whitespace()
        guard index < bytes.count, bytes[index] == byte else { throw Malformed() }
        index += 1
    }

    private mutating func whitespace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 }
    }

    private func peek() -> UInt8? {
        var position = index
        while position < bytes.count, bytes[position] <= 0x20 { position += 1 }
        return position < bytes.count ? bytes[position] : nil
    }
}
