/// The PromQL the simulated TSDB answers: the shapes of `QueryTemplates` and their obvious
/// relatives, nothing more. A query outside them is a loud ``UnsupportedQuery``, never an empty
/// result: a template the simulation cannot answer must fail the run, not pass it silently.
///
/// Grammar (whitespace free):
/// ```
/// expr      := compared (("or" | "and" | "unless") compared)*
/// compared  := unary [">" number]
/// unary     := AGG [("by"|"without") "(" labels ")"] "(" expr ")" [("by"|"without") "(" labels ")"]
///            | RANGEFN "(" selector "[" duration "]" ["offset" duration] ")"
///            | selector
/// selector  := metric ["{" [matcher ("," matcher)*] "}"] | "{" matcher ("," matcher)* "}"
/// matcher   := label ("=" | "!=" | "=~" | "!~") string
/// ```
/// Adding a function or an aggregation is one line in ``rangeFunctions`` or ``aggregations``.
public indirect enum QueryExpr: Sendable, Hashable {
    /// An instant vector selector (5-minute lookback, staleness respected).
    case selector(VectorSelector)
    /// A function over a range vector, e.g. `increase(m{…}[5m])`.
    case rangeFunction(RangeFunction, VectorSelector, rangeSeconds: Double)
    /// `sum by (a, b) (…)` and friends; `labels` nil means no grouping clause.
    case aggregate(Aggregation, labels: [String]?, without: Bool, QueryExpr)
    /// `A or B`: every sample of A, plus the samples of B whose label set A does not have.
    case or(QueryExpr, QueryExpr)
    /// `A and B`: the samples of A whose label set, the metric name aside, B has too (Prometheus
    /// matches set operators without `__name__`).
    case and(QueryExpr, QueryExpr)
    /// `A unless B`: the samples of A whose label set, the metric name aside, B does not have.
    case unless(QueryExpr, QueryExpr)
    /// `A > x`: the samples of A whose value is greater than the number `x`, unchanged.
    case greaterThan(QueryExpr, Double)
    /// `label_replace(expr, "dst", "value", "", "")`: a constant label added to every sample (the
    /// only form the service's templates use).
    case constantLabel(QueryExpr, label: String, value: String)
    /// `f(m[r] offset o)`: the inner expression evaluated `seconds` earlier.
    case shifted(QueryExpr, seconds: Double)

    /// Every metric name the expression reads.
    public var metrics: [String] {
        switch self {
        case .selector(let s), .rangeFunction(_, let s, _): [s.metric]
        case .aggregate(_, _, _, let inner): inner.metrics
        case .or(let a, let b), .and(let a, let b), .unless(let a, let b): a.metrics + b.metrics
        case .constantLabel(let inner, _, _), .greaterThan(let inner, _), .shifted(let inner, _): inner.metrics
        }
    }

    /// The outermost aggregation, if any (`count by` reads ready replicas, `sum by` values).
    public var outerAggregation: Aggregation? {
        switch self {
        case .aggregate(let a, _, _, _): a
        case .or(let a, _), .and(let a, _), .unless(let a, _): a.outerAggregation
        case .constantLabel(let inner, _, _), .greaterThan(let inner, _), .shifted(let inner, _): inner.outerAggregation
        default: nil
        }
    }
}

/// `metric{label="value", …}`.
public struct VectorSelector: Sendable, Hashable {
    /// The metric name ("" when the selector has only matchers).
    public let metric: String
    /// Label matchers besides the name.
    public let matchers: [LabelMatcher]

    /// Whether `labels` of a series named `name` match.
    func matches(name: String, labels: [String: String]) -> Bool {
        if !metric.isEmpty && metric != name { return false }
        return matchers.allSatisfy { $0.matches(labels[$0.name] ?? "") }
    }
}

/// One label matcher; regular expressions are fully anchored, as in PromQL.
public struct LabelMatcher: Sendable, Hashable {
    /// The operator.
    public enum Operator: String, Sendable, Hashable { case equal = "=", notEqual = "!=", regex = "=~", notRegex = "!~" }
    /// Label name.
    public let name: String
    /// Operator.
    public let op: Operator
    /// Value or pattern.
    public let value: String

    func matches(_ actual: String) -> Bool {
        switch op {
        case .equal: return actual == value
        case .notEqual: return actual != value
        case .regex, .notRegex:
            let whole = (try? Regex("^(?:" + value + ")$")).map { actual.wholeMatch(of: $0) != nil } ?? false
            return op == .regex ? whole : !whole
        }
    }
}

/// Functions over a range vector.
public enum RangeFunction: String, Sendable, Hashable {
    /// Counter increase with Prometheus' extrapolation.
    case increase
    /// Per-second counter rate with Prometheus' extrapolation.
    case rate
    /// The last sample in the range.
    case lastOverTime = "last_over_time"
    /// The largest sample in the range.
    case maxOverTime = "max_over_time"
    /// `min_over_time`.
    case minOverTime = "min_over_time"
    /// The number of samples in the range.
    case countOverTime = "count_over_time"
    /// The number of counter resets (a sample below the one before) in the range.
    case resets
}

/// Aggregation operators.
public enum Aggregation: String, Sendable, Hashable {
    /// Sum (NaN propagates).
    case sum
    /// Number of series.
    case count
    /// Mean (NaN propagates).
    case avg
    /// Largest (NaN only when all are NaN).
    case max
    /// Smallest (NaN only when all are NaN).
    case min
    /// 1 per group.
    case group
}

/// A query the simulated TSDB cannot answer: the run stops with this message.
public struct UnsupportedQuery: Error, Sendable, CustomStringConvertible {
    /// The query text.
    public let query: String
    /// What was expected where.
    public let reason: String

    /// `unsupported query shape (…): query`.
    public var description: String { "the simulated TSDB cannot answer this query (\(reason)): \(query)" }
}

/// Parses the supported shapes.
public enum QueryParser {
    /// Range functions by name: add one line here to support another.
    public static let rangeFunctions: [String: RangeFunction] = [
        "increase": .increase, "rate": .rate, "last_over_time": .lastOverTime, "max_over_time": .maxOverTime, "min_over_time": .minOverTime, "resets": .resets,
        "count_over_time": .countOverTime,
    ]
    /// Aggregations by name: add one line here to support another.
    public static let aggregations: [String: Aggregation] = ["sum": .sum, "count": .count, "avg": .avg, "max": .max, "min": .min, "group": .group]

    /// Parses `query` or throws ``UnsupportedQuery``.
    public static func parse(_ query: String) throws(UnsupportedQuery) -> QueryExpr {
        var parser = Parser(text: Array(query.unicodeScalars), query: query)
        let expr = try parser.expression()
        parser.skipSpace()
        guard parser.atEnd else { throw parser.fail("end of query") }
        return expr
    }

    /// A Prometheus duration (`5m`, `1h30m`, `500ms`, `1d`, `1w`, `1y`) in seconds.
    public static func duration(_ text: String) -> Double? {
        let units: [String: Double] = ["ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800, "y": 31_536_000]
        var total = 0.0
        var scalars = Substring(text)
        guard !scalars.isEmpty else { return nil }
        while !scalars.isEmpty {
            let digits = scalars.prefix { $0.isNumber }
            guard !digits.isEmpty, let value = Double(digits) else { return nil }
            scalars = scalars.dropFirst(digits.count)
            let unit = scalars.prefix { $0.isLetter }
            guard let size = units[String(unit)] else { return nil }
            scalars = scalars.dropFirst(unit.count)
            total += value * size
        }
        return total
    }

    private struct Parser {
        let text: [Unicode.Scalar]
        let query: String
        var index = 0

        var atEnd: Bool { index >= text.count }

        func fail(_ expected: String) -> UnsupportedQuery {
            let rest = index < text.count ? String(String.UnicodeScalarView(text[index...])).prefix(30) : "end"
            return UnsupportedQuery(query: query, reason: "expected \(expected) at offset \(index), found `\(rest)`")
        }

        mutating func skipSpace() {
            while index < text.count, text[index].properties.isWhitespace { index += 1 }
        }

        mutating func peek(_ literal: String) -> Bool {
            skipSpace()
            let scalars = Array(literal.unicodeScalars)
            guard index + scalars.count <= text.count else { return false }
            return Array(text[index..<index + scalars.count]) == scalars
        }

        mutating func expect(_ literal: String) throws(UnsupportedQuery) {
            guard peek(literal) else { throw fail("`\(literal)`") }
            index += literal.unicodeScalars.count
        }

        mutating func identifier() -> String? {
            skipSpace()
            let start = index
            while index < text.count {
                let c = text[index]
                let ok = c == "_" || c == ":" || (c.isASCII && (c.properties.isAlphabetic || (index > start && ("0"..."9").contains(c))))
                guard ok else { break }
                index += 1
            }
            return index > start ? String(String.UnicodeScalarView(text[start..<index])) : nil
        }

        mutating func compared() throws(UnsupportedQuery) -> QueryExpr {
            let expr = try unary()
            guard peek(">") else { return expr }
            index += 1
            skipSpace()
            let start = index
            while index < text.count, ("0"..."9").contains(text[index]) || text[index] == "." { index += 1 }
            guard let value = Double(String(String.UnicodeScalarView(text[start..<index]))) else { throw fail("a number after `>`") }
            return .greaterThan(expr, value)
        }

        mutating func expression() throws(UnsupportedQuery) -> QueryExpr {
            var expr = try compared()
            while true {
                let save = index
                let word = identifier()
                if word == "or" {
                    expr = .or(expr, try compared())
                } else if word == "and" {
                    expr = .and(expr, try compared())
                } else if word == "unless" {
                    expr = .unless(expr, try compared())
                } else {
                    index = save
                    return expr
                }
            }
        }

        mutating func unary() throws(UnsupportedQuery) -> QueryExpr {
            skipSpace()
            if peek("{") { return .selector(try selector(name: "")) }
            let save = index
            guard let name = identifier() else { throw fail("an aggregation, a function or a metric name") }
            if let aggregation = QueryParser.aggregations[name] {
                var grouping = try groupingClause()
                try expect("(")
                let inner = try expression()
                try expect(")")
                if grouping == nil { grouping = try groupingClause() }
                return .aggregate(aggregation, labels: grouping?.labels, without: grouping?.without ?? false, inner)
            }
            if name == "label_replace" {
                try expect("(")
                let inner = try expression()
                var arguments: [String] = []
                for _ in 0..<4 {
                    try expect(",")
                    skipSpace()
                    guard peek("\"") else { throw fail("a string argument of label_replace") }
                    arguments.append(try string())
                }
                try expect(")")
                guard arguments[2].isEmpty, arguments[3].isEmpty else { throw fail("label_replace with an empty source label and regex") }
                return .constantLabel(inner, label: arguments[0], value: arguments[1])
            }
            if let function = QueryParser.rangeFunctions[name] {
                try expect("(")
                guard let metric = identifier() else { throw fail("a metric name inside \(name)(…)") }
                let vector = try selector(name: metric)
                try expect("[")
                let start = index
                while index < text.count, text[index] != "]" { index += 1 }
                let rangeText = String(String.UnicodeScalarView(text[start..<index])).trimmingCharacters(in: .whitespaces)
                guard let seconds = QueryParser.duration(rangeText) else { throw fail("a duration") }
                try expect("]")
                let save = index
                var shift: Double?
                if identifier() == "offset" {
                    skipSpace()
                    let start = index
                    while index < text.count, text[index].properties.isAlphabetic || ("0"..."9").contains(text[index]) { index += 1 }
                    guard let o = QueryParser.duration(String(String.UnicodeScalarView(text[start..<index]))) else { throw fail("a duration after `offset`") }
                    shift = o
                } else {
                    index = save
                }
                try expect(")")
                let expr = QueryExpr.rangeFunction(function, vector, rangeSeconds: seconds)
                return shift.map { .shifted(expr, seconds: $0) } ?? expr
            }
            if peek("(") {
                index = save
                throw fail("a supported function or aggregation (add `\(name)` to QueryParser's tables)")
            }
            return .selector(try selector(name: name))
        }

        mutating func groupingClause() throws(UnsupportedQuery) -> (labels: [String], without: Bool)? {
            let save = index
            let word = identifier()
            guard word == "by" || word == "without" else {
                index = save
                return nil
            }
            try expect("(")
            var labels: [String] = []
            while !peek(")") {
                guard let label = identifier() else { throw fail("a label name") }
                labels.append(label)
                if peek(",") { index += 1 }
            }
            try expect(")")
            return (labels, word == "without")
        }

        mutating func selector(name: String) throws(UnsupportedQuery) -> VectorSelector {
            var matchers: [LabelMatcher] = []
            if peek("{") {
                index += 1
                while !peek("}") {
                    guard let label = identifier() else { throw fail("a label name") }
                    skipSpace()
                    let op: LabelMatcher.Operator
                    if peek("=~") { op = .regex } else if peek("!~") { op = .notRegex } else if peek("!=") { op = .notEqual } else if peek("=") { op = .equal } else {
                        throw fail("a matcher operator")
                    }
                    index += op.rawValue.unicodeScalars.count
                    matchers.append(LabelMatcher(name: label, op: op, value: try string()))
                    if peek(",") { index += 1 }
                }
                index += 1
            }
            guard !name.isEmpty || !matchers.isEmpty else { throw fail("a metric name or matchers") }
            var metric = name
            if let nameMatcher = matchers.first(where: { $0.name == "__name__" && $0.op == .equal }) {
                metric = nameMatcher.value
                matchers.removeAll { $0 == nameMatcher }
            }
            return VectorSelector(metric: metric, matchers: matchers)
        }

        mutating func string() throws(UnsupportedQuery) -> String {
            skipSpace()
            guard index < text.count, ["\"", "'", "`"].contains(text[index]) else { throw fail("a quoted string") }
            let quote = text[index]
            index += 1
            var value = String.UnicodeScalarView()
            while index < text.count, text[index] != quote {
                if text[index] == "\\", quote != "`", index + 1 < text.count {
                    index += 1
                    switch text[index] {
                    case "n": value.append("\n")
                    case "t": value.append("\t")
                    default: value.append(text[index])
                    }
                } else {
                    value.append(text[index])
                }
                index += 1
            }
            guard index < text.count else { throw fail("a closing quote") }
            index += 1
            return String(value)
        }
    }
}
