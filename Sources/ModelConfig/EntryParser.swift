import Foundation
import Yams

/// The outcome of parsing one ConfigMap entry.
public enum ParsedEntry: Sendable, Hashable {
    /// The `default` entry or an override, valid.
    case model(ModelEntry)
    /// The reserved `global` entry, valid.
    case global(GlobalEntry)
    /// Rejected. `modelID`/`namespace` are what could still be read of it, so the model it names
    /// can be protected (treated as `enable_scale_to_zero: false`) when no good version exists.
    /// `minReplicas`: the entry's `min_replicas` when it could still be read, honoured while the
    /// entry protects its model (a broken entry is never less conservative than what it says).
    case invalid(key: String, modelID: String?, namespace: String?, minReplicas: Int? = nil)
}

/// Where an entry's text came from, for error messages.
public struct EntryLocation: Sendable, Hashable {
    /// File path shown in messages.
    public let file: String
    /// The file line holding the entry's first line of text (1 for a ConfigMap volume file).
    public let firstLine: Int

    /// Creates a location.
    public init(file: String, firstLine: Int = 1) {
        self.file = file
        self.firstLine = firstLine
    }
}

/// Parses and validates a single entry's YAML text (the value of one ConfigMap key).
public enum EntryParser {
    /// The reserved key of the kill-switch entry.
    public static let globalKey = "global"
    /// The key of the defaults entry.
    public static let defaultKey = "default"

    static let modelFields: Set<String> = [
        "model_id", "namespace", "enable_scale_to_zero", "retention_period", "variant_name",
        "min_replicas", "max_replicas", "target_concurrency", "group", "aliases", "wake_path", "keep_alive",
        "cold_start_cost", "min_retention_period", "prewarm", "target_kv_cache_utilization",
        "max_waiting_per_replica",
    ]
    static let globalFields: Set<String> = ["scale_to_zero_allowed"]
    /// Retention above this is allowed but reported.
    static let longRetention = ConfigDuration(seconds: 86_400)

    /// Parses `text`, the value of ConfigMap key `key`; appends every problem found to `problems`.
    public static func parse(
        key: String, text: String, location: EntryLocation, problems: inout [ConfigProblem]
    ) -> ParsedEntry {
        var report = Reporter(key: key, location: location)
        defer { problems += report.problems }

        let root: Node?
        do {
            // No implicit tag resolution: the fields are read from the scalar text and style, and the
            // default resolver runs a regular expression per scalar (most of the cost of a parse).
            root = try Yams.compose(yaml: text, .basic)
        } catch {
            let (line, detail) = describe(yamlError: error)
            // libyaml often points past the end of the text; keep the line inside the entry.
            // Line breaks as YAML counts them: `\n`, `\r` and `\r\n` (one `Character` in Swift).
            let breaks = text.count { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
            let endsWithBreak = text.last.map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" } ?? false
            let lastLine = max(1, breaks + 1 - (endsWithBreak ? 1 : 0))
            report.error(field: nil, line: line.map { min($0, lastLine) }, "invalid YAML: \(detail)")
            let salvaged = salvage(text)
            return .invalid(key: key, modelID: salvaged.modelID, namespace: salvaged.namespace, minReplicas: salvaged.minReplicas)
        }
        guard let root else {
            if key == globalKey { return .global(GlobalEntry()) }
            if key == defaultKey {
                return .model(ModelEntry(key: key, modelID: nil, namespace: nil, settings: ModelSettings()))
            }
            report.error(field: "model_id", line: 1, "empty entry: an override needs at least model_id")
            return .invalid(key: key, modelID: nil, namespace: nil)
        }
        guard let mapping = root.mapping else {
            report.error(
                field: nil, line: root.mark?.line,
                "expected a mapping of fields (like `model_id: meta/llama-3.1-8b`), found \(kind(of: root))")
            return .invalid(key: key, modelID: nil, namespace: nil)
        }
        return key == globalKey
            ? parseGlobal(mapping, report: &report)
            : parseModel(key: key, mapping, report: &report)
    }

    private static func parseGlobal(_ mapping: Node.Mapping, report: inout Reporter) -> ParsedEntry {
        var entry = GlobalEntry()
        var valid = true
        for (keyNode, value) in mapping {
            let name = keyNode.string ?? "\(keyNode)"
            if globalFields.contains(name), unset(value, field: name, report: &report) { continue }
            switch name {
            case "scale_to_zero_allowed":
                if let flag = boolean(value, field: name, report: &report) {
                    entry.scaleToZeroAllowed = flag
                } else {
                    valid = false
                }
            default:
                report.error(
                    field: name, line: keyNode.mark?.line,
                    "unknown field in the global entry; expected one of: \(globalFields.sorted().joined(separator: ", "))")
                valid = false
            }
        }
        return valid ? .global(entry) : .invalid(key: report.key, modelID: nil, namespace: nil)
    }

    private static func parseModel(key: String, _ mapping: Node.Mapping, report: inout Reporter) -> ParsedEntry {
        let isDefault = key == defaultKey
        var settings = ModelSettings()
        var modelID: String?
        var namespace: String?
        var valid = true
        var seen = Set<String>()
        var lines: [String: Int] = [:]
        var modelIDRejected = false

        for (keyNode, value) in mapping {
            let name = keyNode.string ?? "\(keyNode)"
            let line = value.mark?.line ?? keyNode.mark?.line
            lines[name] = line
            if !seen.insert(name).inserted {
                report.error(field: name, line: keyNode.mark?.line, "field given twice")
                valid = false
                continue
            }
            if modelFields.contains(name), unset(value, field: name, report: &report) { continue }
            switch name {
            case "model_id":
                guard let id = nonEmptyString(value, field: name, report: &report) else {
                    valid = false
                    modelIDRejected = true
                    continue
                }
                if isDefault {
                    report.warning(field: name, line: line, "ignored in the default entry (it applies to every model)")
                } else {
                    modelID = id
                }
            case "namespace":
                guard let ns = nonEmptyString(value, field: name, report: &report) else { valid = false; continue }
                if isDefault {
                    report.warning(field: name, line: line, "ignored in the default entry (it applies to every namespace)")
                } else {
                    namespace = ns
                }
            case "enable_scale_to_zero":
                guard let flag = boolean(value, field: name, report: &report) else { valid = false; continue }
                settings.enableScaleToZero = flag
            case "retention_period":
                guard let duration = duration(value, field: name, warnAbove: longRetention, report: &report) else { valid = false; continue }
                settings.retentionPeriod = duration
            case "variant_name":
                guard let variant = nonEmptyString(value, field: name, report: &report) else { valid = false; continue }
                if isDefault {
                    report.warning(field: name, line: line, "ignored in the default entry (every model would share one scale target)")
                } else {
                    settings.variantName = variant
                }
            case "min_replicas":
                guard let count = integer(value, field: name, minimum: 0, report: &report) else { valid = false; continue }
                settings.minReplicas = count
            case "max_replicas":
                guard let count = integer(value, field: name, minimum: 1, report: &report) else { valid = false; continue }
                settings.maxReplicas = count
            case "target_concurrency":
                guard let target = positiveNumber(value, field: name, report: &report) else { valid = false; continue }
                settings.targetConcurrency = target
            case "group":
                guard let group = nonEmptyString(value, field: name, report: &report) else { valid = false; continue }
                if isDefault {
                    report.warning(field: name, line: line, "ignored in the default entry (every model would be one group)")
                } else {
                    settings.group = group
                }
            case "aliases":
                guard let aliases = stringList(value, field: name, report: &report) else { valid = false; continue }
                if isDefault {
                    report.warning(field: name, line: line, "ignored in the default entry (every model would answer to the same names)")
                } else {
                    settings.aliases = aliases
                }
            case "wake_path":
                guard let path = choice(value, field: name, as: WakePath.self, report: &report) else { valid = false; continue }
                settings.wakePath = path
            case "keep_alive":
                guard let mode = choice(value, field: name, as: KeepAliveMode.self, report: &report) else { valid = false; continue }
                settings.keepAlive = mode
            case "cold_start_cost":
                guard let duration = duration(value, field: name, report: &report) else { valid = false; continue }
                settings.coldStartCost = duration
            case "min_retention_period":
                guard let duration = duration(value, field: name, report: &report) else { valid = false; continue }
                settings.minRetentionPeriod = duration
            case "prewarm":
                guard let flag = boolean(value, field: name, report: &report) else { valid = false; continue }
                settings.prewarm = flag
            case "target_kv_cache_utilization":
                guard let fraction = number(value, field: name, in: .fraction, report: &report) else { valid = false; continue }
                settings.targetKVCacheUtilization = fraction
            case "max_waiting_per_replica":
                guard let count = number(value, field: name, in: .nonNegative, report: &report) else { valid = false; continue }
                settings.maxWaitingPerReplica = count
            default:
                let hint = closest(to: name, in: modelFields).map { " (did you mean `\($0)`?)" } ?? ""
                report.error(
                    field: name, line: keyNode.mark?.line,
                    "unknown field\(hint); expected one of: \(modelFields.sorted().joined(separator: ", "))")
                valid = false
            }
        }

        if !isDefault, modelID == nil, !modelIDRejected {
            report.error(field: "model_id", line: mapping.mark?.line ?? 1, "missing: an override entry must name its model_id")
            valid = false
        }
        if let min = settings.minReplicas, let max = settings.maxReplicas, min > max {
            report.error(
                field: "min_replicas", line: lines["min_replicas"],
                "min_replicas (\(min)) is greater than max_replicas (\(max)); expected min_replicas ≤ max_replicas")
            valid = false
        }
        if let floor = settings.minRetentionPeriod, let retention = settings.retentionPeriod, floor > retention {
            report.error(
                field: "min_retention_period", line: lines["min_retention_period"],
                "min_retention_period (\(floor)) is longer than retention_period (\(retention)); expected min_retention_period ≤ retention_period")
            valid = false
        }
        if let aliases = settings.aliases, let modelID, aliases.contains(modelID) {
            report.warning(field: "aliases", line: lines["aliases"], "`\(modelID)` is the model_id itself; an alias names another name")
        }
        // The min_replicas it states is kept for the protection, unless it is the value rejected.
        let statedMin = settings.minReplicas.flatMap { min in settings.maxReplicas.map { min <= $0 } ?? true ? min : nil }
        guard valid else { return .invalid(key: key, modelID: modelID, namespace: namespace, minReplicas: statedMin) }
        return .model(ModelEntry(key: key, modelID: modelID, namespace: namespace, settings: settings))
    }

    // MARK: - Typed field readers

    private static func scalar(_ node: Node, field: String, expected: String, report: inout Reporter) -> Node.Scalar? {
        guard let scalar = node.scalar else {
            report.error(field: field, line: node.mark?.line, "expected \(expected), found \(kind(of: node))")
            return nil
        }
        return scalar
    }

    private static func isQuoted(_ scalar: Node.Scalar) -> Bool {
        scalar.style == .singleQuoted || scalar.style == .doubleQuoted
    }

    /// YAML 1.1 booleans Go's yaml.v3 reads into a `bool` field (`decode.go`), besides true/false.
    static let yaml11Booleans: [String: Bool] = [
        "y": true, "yes": true, "on": true, "n": false, "no": false, "off": false,
    ]

    private static func boolean(_ node: Node, field: String, report: inout Reporter) -> Bool? {
        let expected = "a boolean (true or false)"
        guard let scalar = scalar(node, field: field, expected: expected, report: &report) else { return nil }
        let word = scalar.string.lowercased()
        if !isQuoted(scalar), word == "true" || word == "false" { return word == "true" }
        // yaml.v3 reads these into a bool field quoted or not (and in three spellings each: `yes`,
        // `Yes`, `YES`); the spec takes them in any case.
        if let flag = yaml11Booleans[word] {
            report.warning(
                field: field, line: scalar.mark?.line,
                "WVA compatibility: \(describe(scalar)) read as \(flag) (a YAML 1.1 boolean); write \(flag)")
            return flag
        }
        let quoted = isQuoted(scalar) && ["true", "false"].contains(word)
        let hint = quoted ? " (remove the quotes)" : ""
        report.error(field: field, line: scalar.mark?.line, "expected \(expected), found \(describe(scalar))\(hint)")
        return nil
    }

    /// The values yaml.v3 resolves to null (`resolve.go`), plus the empty quoted string: such a
    /// field is unset and falls through, as in WVA.
    static let nullWords: Set<String> = ["", "~", "null", "Null", "NULL"]

    /// True (with a warning) when `node` leaves the field unset: `null`, `~`, nothing, or `""`.
    private static func unset(_ node: Node, field: String, report: inout Reporter) -> Bool {
        guard let scalar = node.scalar else { return false }
        let isNull = isQuoted(scalar) ? scalar.string.isEmpty : nullWords.contains(scalar.string)
        guard isNull else { return false }
        let shown = isQuoted(scalar) ? "an empty string" : scalar.string.isEmpty ? "no value" : "`\(scalar.string)`"
        report.warning(
            field: field, line: scalar.mark?.line,
            "WVA compatibility: \(shown) leaves the field unset; it falls through to the next level (remove the line)")
        return true
    }

    private static func nonEmptyString(_ node: Node, field: String, report: inout Reporter) -> String? {
        guard let scalar = scalar(node, field: field, expected: "a string", report: &report) else { return nil }
        let text = scalar.string.trimmingCharacters(in: .whitespaces)
        if text.isEmpty || (!isQuoted(scalar) && ["null", "~"].contains(text)) {
            report.error(field: field, line: scalar.mark?.line, "expected a non-empty string, found an empty value")
            return nil
        }
        return text
    }

    private static func duration(
        _ node: Node, field: String, warnAbove: ConfigDuration? = nil, report: inout Reporter
    ) -> ConfigDuration? {
        let expected = "a duration such as 30s, 5m, 1h30m, 1.5h, 2d or 1w"
        guard let scalar = scalar(node, field: field, expected: expected, report: &report) else { return nil }
        let text = scalar.string
        guard let duration = ConfigDuration.parse(text) else {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            let hint =
                Double(trimmed) != nil ? " (a unit is required, e.g. \(trimmed)s or \(trimmed)m)"
                : trimmed != text && ConfigDuration.parse(trimmed) != nil ? " (remove the spaces)"
                : ""
            report.error(field: field, line: scalar.mark?.line, "expected \(expected), found \(describe(scalar))\(hint)")
            return nil
        }
        guard duration.isPositive else {
            report.error(field: field, line: scalar.mark?.line, "expected a duration greater than 0, found \(describe(scalar))")
            return nil
        }
        if text.hasPrefix("+") {
            report.warning(field: field, line: scalar.mark?.line, "WVA compatibility: the leading + of \"\(text)\" is ignored; write \(text.dropFirst())")
        }
        if duration.nanoseconds % 1_000_000 != 0 {
            report.warning(
                field: field, line: scalar.mark?.line,
                "\(text) has a sub-millisecond part: kept exactly for the decision, queried as the PromQL range \(duration.prometheusRange) (Prometheus ranges stop at milliseconds)")
        }
        if let warnAbove, duration > warnAbove {
            report.warning(
                field: field, line: scalar.mark?.line,
                "\(text) is longer than 24h: the model waits that long idle before scaling to zero, and every tick queries that range")
        }
        return duration
    }

    private static func integer(_ node: Node, field: String, minimum: Int, report: inout Reporter) -> Int? {
        let expected = "a whole number ≥ \(minimum)"
        guard let scalar = scalar(node, field: field, expected: expected, report: &report) else { return nil }
        guard !isQuoted(scalar), let value = Int(scalar.string), value >= minimum else {
            report.error(field: field, line: scalar.mark?.line, "expected \(expected), found \(describe(scalar))")
            return nil
        }
        return value
    }

    /// The ranges a bounded number field accepts.
    enum NumberRange {
        /// 0 < x ≤ 1.
        case fraction
        /// x ≥ 0.
        case nonNegative

        var expected: String {
            switch self {
            case .fraction: "a number greater than 0 and at most 1 (a fraction such as 0.8)"
            case .nonNegative: "a number ≥ 0"
            }
        }

        func contains(_ value: Double) -> Bool {
            switch self {
            case .fraction: value > 0 && value <= 1
            case .nonNegative: value >= 0
            }
        }
    }

    private static func number(_ node: Node, field: String, in range: NumberRange, report: inout Reporter) -> Double? {
        guard let scalar = scalar(node, field: field, expected: range.expected, report: &report) else { return nil }
        guard !isQuoted(scalar), let value = Double(scalar.string), value.isFinite, range.contains(value) else {
            let percent = range == .fraction && !isQuoted(scalar) && (Double(scalar.string).map { $0 > 1 && $0 <= 100 } ?? false)
            let hint = percent ? " (a fraction, not a percentage: write \(Double(scalar.string)! / 100))" : ""
            report.error(field: field, line: scalar.mark?.line, "expected \(range.expected), found \(describe(scalar))\(hint)")
            return nil
        }
        return value
    }

    private static func choice<Choice: RawRepresentable & CaseIterable>(
        _ node: Node, field: String, as _: Choice.Type, report: inout Reporter
    ) -> Choice? where Choice.RawValue == String {
        let names = Choice.allCases.map { "`\($0.rawValue)`" }.joined(separator: " or ")
        let expected = "one of \(names)"
        guard let scalar = scalar(node, field: field, expected: expected, report: &report) else { return nil }
        let text = scalar.string.trimmingCharacters(in: .whitespaces)
        guard let value = Choice(rawValue: text) ?? Choice(rawValue: text.lowercased()) else {
            report.error(field: field, line: scalar.mark?.line, "expected \(expected), found \(describe(scalar))")
            return nil
        }
        return value
    }

    private static func stringList(_ node: Node, field: String, report: inout Reporter) -> [String]? {
        let expected = "a list of names (like `[llama-8b, llama-8b-lora]`)"
        guard let sequence = node.sequence else {
            let found = node.scalar.map { " (write `[\($0.string)]` for a single name)" } ?? ""
            report.error(field: field, line: node.mark?.line, "expected \(expected), found \(kind(of: node))\(found)")
            return nil
        }
        var names: [String] = []
        var ok = true
        for item in sequence {
            guard let scalar = item.scalar else {
                report.error(field: field, line: item.mark?.line, "expected every item to be a name, found \(kind(of: item))")
                ok = false
                continue
            }
            let text = scalar.string.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || (!isQuoted(scalar) && ["null", "~"].contains(text)) {
                report.error(field: field, line: scalar.mark?.line, "expected every item to be a non-empty name, found an empty value")
                ok = false
                continue
            }
            if names.contains(text) {
                report.warning(field: field, line: scalar.mark?.line, "`\(text)` is listed twice")
                continue
            }
            names.append(text)
        }
        return ok ? names : nil
    }

    private static func positiveNumber(_ node: Node, field: String, report: inout Reporter) -> Double? {
        let expected = "a number greater than 0"
        guard let scalar = scalar(node, field: field, expected: expected, report: &report) else { return nil }
        guard !isQuoted(scalar), let value = Double(scalar.string), value.isFinite, value > 0 else {
            report.error(field: field, line: scalar.mark?.line, "expected \(expected), found \(describe(scalar))")
            return nil
        }
        return value
    }

    // MARK: - Helpers

    private static func describe(_ scalar: Node.Scalar) -> String {
        if isQuoted(scalar) { return "string \"\(scalar.string)\"" }
        if Double(scalar.string) != nil { return "number \(scalar.string)" }
        if scalar.string.isEmpty { return "an empty value" }
        return "\"\(scalar.string)\""
    }

    private static func kind(of node: Node) -> String {
        switch node {
        case .scalar(let scalar): return describe(scalar)
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// The line (1-based, when known) and a one-line, deterministic description of a YAML error.
    static func describe(yamlError error: any Error) -> (line: Int?, detail: String) {
        guard let yamlError = error as? YamlError else { return (nil, oneLine("\(error)")) }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let contextText = context.map { "\($0.text) " } ?? ""
            return (mark.line, oneLine("\(contextText)\(problem) (column \(mark.column))"))
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams orders the keys by comparing nodes, which is not a total order once a key is a
            // mapping or a list: sort the names, and give a line only when every key is a scalar
            // (found by fuzzing: the message and line changed from one reload to the next).
            let names = duplicates.map { $0 == "<uncovertable>" ? "(a non-scalar key)" : "`\($0)`" }.sorted()
            let line = duplicates.contains("<uncovertable>") ? nil : context.mark.line
            return (line, oneLine("duplicate field(s) \(names.joined(separator: ", "))"))
        case .reader(let problem, let offset, let value, let yaml):
            // A character YAML does not allow (a control character, invalid UTF-8): say which,
            // on the line it is on (found by fuzzing: the message held the raw character).
            var line: Int?
            if let offset, let index = yaml.index(yaml.startIndex, offsetBy: offset, limitedBy: yaml.endIndex) {
                line = yaml[..<index].count { $0 == "\n" || $0 == "\r" || $0 == "\r\n" } + 1
            }
            let character = value >= 0 ? " (U+\(String(value, radix: 16, uppercase: true)))" : ""
            return (line, oneLine("\(problem)\(character)"))
        default:
            return (nil, oneLine("\(yamlError)"))
        }
    }

    /// The first line of `text`, control characters shown as `\u{…}`: messages are one line.
    static func oneLine(_ text: String) -> String {
        let first = text.split(omittingEmptySubsequences: false, whereSeparator: { $0.isNewline }).first.map(String.init) ?? ""
        var out = ""
        for scalar in first.unicodeScalars {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Best-effort `model_id`/`namespace`/`min_replicas` of an entry that is not valid YAML: a line scan.
    static func salvage(_ text: String) -> (modelID: String?, namespace: String?, minReplicas: Int?) {
        // Bounds are read from top-level lines only (not a nested mapping or a block scalar's text).
        func value(of field: String, topLevel: Bool = false) -> String? {
            for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0.isNewline }) {  // \r\n too
                let line = rawLine.trimmingCharacters(in: .whitespaces)
                guard line.hasPrefix(field + ":"), !topLevel || rawLine.hasPrefix(field + ":") else { continue }
                var value = line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces)
                if let hash = value.range(of: " #") { value = String(value[..<hash.lowerBound]) }
                value = value.trimmingCharacters(in: CharacterSet(charactersIn: "\"' "))
                return value.isEmpty ? nil : value
            }
            return nil
        }
        func bound(_ field: String) -> Int? { value(of: field, topLevel: true).flatMap(Int.init).flatMap { $0 >= 0 ? $0 : nil } }
        // A minimum only when it does not exceed the entry's own maximum.
        var minReplicas = bound("min_replicas")
        if let min = minReplicas, let max = bound("max_replicas"), min > max { minReplicas = nil }
        return (value(of: "model_id"), value(of: "namespace"), minReplicas)
    }

    /// The known field closest to a misspelt one, for "did you mean" hints.
    static func closest(to name: String, in candidates: Set<String>) -> String? {
        let best = candidates.map { ($0, editDistance(name, $0)) }.min { ($0.1, $0.0) < ($1.1, $1.0) }
        guard let best, best.1 <= max(2, name.count / 4) else { return nil }
        return best.0
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// Collects problems for one entry, translating entry lines into file lines.
private struct Reporter {
    let key: String
    let location: EntryLocation
    var problems: [ConfigProblem] = []

    mutating func error(field: String?, line: Int?, _ message: String) {
        problems.append(ConfigProblem(.error, file: location.file, key: key, field: field, line: fileLine(line), message: message))
    }

    mutating func warning(field: String?, line: Int?, _ message: String) {
        problems.append(ConfigProblem(.warning, file: location.file, key: key, field: field, line: fileLine(line), message: message))
    }

    private func fileLine(_ entryLine: Int?) -> Int? {
        entryLine.map { $0 + location.firstLine - 1 }
    }
}
