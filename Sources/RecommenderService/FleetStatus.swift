import Foundation
import ModelConfig
import Recommendation

/// What `GET /` is asked to show: filters, sort and page, read from the query string.
///
/// Parameters: `namespace` (exact), `state` (`active`, `idle`, `zero`, `waking`, `held` or
/// `undecided`), `q` (text the `namespace/model` contains, ASCII letters in any case), `sort` (see ``SortKey``),
/// `order` (`asc` or `desc`), `page` (from 1) and `per` (models a page, 1 to 1000, default 100).
/// A value that cannot be used is named in ``problems`` and its default applies.
public struct FleetQuery: Sendable, Equatable {
    /// The columns the table can be sorted by.
    public enum SortKey: String, Sendable, CaseIterable {
        /// Namespace, then model id (the order of `/metrics`).
        case namespace
        /// Model id, then namespace.
        case model
        /// State, in the order active, waking, idle, held, zero, undecided.
        case state
        /// The recommendation.
        case desired
        /// Ready replicas (unknown last).
        case ready
        /// Last activity (never last).
        case activity
        /// Time left until zero: at zero first, then the nearest countdowns, blocked models last.
        case zero
        /// The last cold start's duration (none last).
        case coldStart = "cold_start"
        /// The retention in force (learned, with adaptive keep-alive).
        case keepAlive = "keep_alive"
    }

    /// Only models of this namespace.
    public var namespace: String?
    /// Only models in this state (a ``Phase`` raw value, or `undecided`).
    public var state: String?
    /// Only models whose `namespace/model` contains this text (ASCII letters in any case).
    public var text: String?
    /// The sort column.
    public var sort: SortKey = .namespace
    /// Descending order.
    public var descending = false
    /// The page, from 1.
    public var page = 1
    /// Models a page.
    public var perPage = FleetQuery.defaultPerPage
    /// Parameters that could not be used, each saying what was expected.
    public var problems: [String] = []

    /// Models a page unless `per` says otherwise.
    public static let defaultPerPage = 100
    /// The most models a page shows.
    public static let maxPerPage = 1000
    /// The values `state` accepts.
    public static let states = Phase.allCases.map(\.rawValue) + ["undecided"]

    /// The defaults: every model, namespace order, first page of 100.
    public init() {}

    /// Reads a query string (`a=1&b=two`, with or without the leading `?`), form-encoded.
    public init(query: String) {
        for (name, value) in Self.parameters(query) {
            let value = value.trimmingCharacters(in: .whitespaces)
            switch name {
            case "namespace": namespace = value.isEmpty ? nil : value
            case "q": text = value.isEmpty ? nil : value
            case "state":
                guard !value.isEmpty else { continue }
                if Self.states.contains(value) {
                    state = value
                } else {
                    problems.append("state=\(value) is not a state: expected one of \(Self.states.joined(separator: ", "))")
                }
            case "sort":
                guard !value.isEmpty else { continue }
                if let key = SortKey(rawValue: value) {
                    sort = key
                } else {
                    problems.append("sort=\(value) is not a column: expected one of \(SortKey.allCases.map(\.rawValue).joined(separator: ", "))")
                }
            case "order":
                switch value {
                case "", "asc": descending = false
                case "desc": descending = true
                default: problems.append("order=\(value): expected asc or desc")
                }
            case "page":
                guard !value.isEmpty else { continue }
                if let number = Int(value), number >= 1 {
                    page = number
                } else {
                    problems.append("page=\(value): expected a page number from 1")
                }
            case "per":
                guard !value.isEmpty else { continue }
                if let number = Int(value), (1...Self.maxPerPage).contains(number) {
                    perPage = number
                } else {
                    problems.append("per=\(value): expected a number of models from 1 to \(Self.maxPerPage)")
                }
            default: continue
            }
        }
    }

    /// The name–value pairs of a form-encoded query string, `+` read as a space.
    static func parameters(_ query: String) -> [(String, String)] {
        let text = query.hasPrefix("?") ? String(query.dropFirst()) : query
        return text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                let spaced = part.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// This query as a query string (defaults left out), with `changes` applied: the links of the
    /// page keep the filters and change one thing.
    func queryString(_ changes: (inout FleetQuery) -> Void = { _ in }) -> String {
        var query = self
        changes(&query)
        var pairs: [(String, String)] = []
        if let namespace = query.namespace { pairs.append(("namespace", namespace)) }
        if let state = query.state { pairs.append(("state", state)) }
        if let text = query.text { pairs.append(("q", text)) }
        if query.sort != .namespace { pairs.append(("sort", query.sort.rawValue)) }
        if query.descending { pairs.append(("order", "desc")) }
        if query.perPage != Self.defaultPerPage { pairs.append(("per", String(query.perPage))) }
        if query.page != 1 { pairs.append(("page", String(query.page))) }
        guard !pairs.isEmpty else { return "/" }
        return "/?" + pairs.map { "\(HTML.queryEncode($0))=\(HTML.queryEncode($1))" }.joined(separator: "&")
    }
}

/// When a model will go to zero, or what keeps it from going.
public struct ZeroOutlook: Sendable, Equatable {
    /// The kinds of answer.
    public enum Kind: String, Sendable {
        /// Recommended 0 already.
        case atZero = "at-zero"
        /// Zero comes at ``ZeroOutlook/at`` (at the latest) if nothing arrives.
        case countdown
        /// Serving: activity now, or a cold start.
        case busy
        /// Something other than activity keeps it up (kill switch, disabled, unknown data, no wake
        /// path, group, no evidence).
        case blocked
        /// No decision yet.
        case undecided
    }

    /// What the answer rests on. Kept as data and put in words only for the rows shown: sorting
    /// 10,000 models by time to zero formats nothing.
    enum Cause: Sendable, Equatable {
        case undecided, atZero, killSwitch, disabled, noWakePath, idleWithoutWakePath, coldStart, serving
        case held(detail: String)
        case countdown(remaining: Double)
        case nextTick
        case group(String)
        case sinceLastRequest(retention: Double)
        case prewarm(detail: String)
        case noEvidence(detail: String)
    }

    let cause: Cause
    /// For a countdown, when zero comes at the latest (Unix seconds).
    public let at: Double?

    /// The kind.
    public var kind: Kind {
        switch cause {
        case .undecided: .undecided
        case .atZero: .atZero
        case .countdown, .nextTick, .sinceLastRequest: .countdown
        case .coldStart, .serving: .busy
        case .killSwitch, .disabled, .noWakePath, .idleWithoutWakePath, .held, .group, .prewarm, .noEvidence: .blocked
        }
    }

    /// The answer in words.
    public var text: String {
        switch cause {
        case .undecided: "not decided yet"
        case .atZero: "at zero"
        case .killSwitch: "kill switch engaged"
        case .disabled: "scale-to-zero disabled"
        case .held(let detail): "held on unknown data (\(detail))"
        case .noWakePath: "no wake path"
        case .idleWithoutWakePath: "no wake path: idle, but will be held at ≥ 1"
        case .countdown(let remaining): "in \(StatusFormat.duration(remaining))"
        case .nextTick: "at the next tick"
        case .group(let group): "group \(group) is not idle"
        case .coldStart: "cold start in progress"
        case .sinceLastRequest(let retention):
            "within \(StatusFormat.duration(retention)) (\(StatusFormat.duration(retention)) after the last request)"
        case .serving: "serving"
        case .prewarm(let detail): detail
        case .noEvidence(let detail): "evidence not building: \(detail)"
        }
    }

    /// Sort value: at zero first, then the nearest countdowns; nil (last) for the others.
    var order: Double? {
        switch kind {
        case .atZero: -1
        case .countdown: at
        case .busy, .blocked, .undecided: nil
        }
    }

    init(_ cause: Cause, at: Double? = nil) {
        self.cause = cause
        self.at = at
    }

    /// Reads the outlook off a decision. The order is the order of what blocks: a model at zero is
    /// at zero; the kill switch and a disabled scale-to-zero keep it up whatever else holds; unknown
    /// data holds it; then the wake path, a countdown (its group may still keep it), a cold start
    /// in progress, a countdown from the last request, activity, and last what the decision says
    /// (no replica reporting, say).
    /// `retention` is the one in force (learned, with adaptive keep-alive).
    static func of(
        _ decision: Decision?, config: ResolvedModelConfig, retention: Double, signals: ModelSignals, killSwitch: Bool,
        zeroNeedsWakePath: Bool, now: Instant
    ) -> ZeroOutlook {
        guard let decision else { return ZeroOutlook(.undecided) }
        if decision.desired == 0 { return ZeroOutlook(.atZero) }
        if killSwitch { return ZeroOutlook(.killSwitch) }
        if !config.enableScaleToZero { return ZeroOutlook(.disabled) }
        switch decision.reason {
        case .hold: return ZeroOutlook(.held(detail: decision.detail))
        case .noWakePath: return ZeroOutlook(.noWakePath)
        case .prewarm: return ZeroOutlook(.prewarm(detail: decision.detail))
        default: break
        }
        if let zeroAt = decision.zeroAt {
            if decision.wakePath == .none && zeroNeedsWakePath { return ZeroOutlook(.idleWithoutWakePath) }
            if zeroAt > now { return ZeroOutlook(.countdown(remaining: zeroAt.since(now)), at: zeroAt.seconds) }
            if let group = config.group { return ZeroOutlook(.group(group)) }
            return ZeroOutlook(.nextTick, at: zeroAt.seconds)
        }
        if decision.phase == .waking { return ZeroOutlook(.coldStart) }
        // Requests completed within the window, nothing in flight: zero comes one retention after
        // the last of them, so within one retention from now at the latest.
        if decision.phase == .idle, (signals.requests ?? 0) > 0 || (signals.gatewayRequests ?? 0) > 0 {
            if decision.wakePath == .none && zeroNeedsWakePath { return ZeroOutlook(.idleWithoutWakePath) }
            return ZeroOutlook(.sinceLastRequest(retention: retention), at: now.seconds + retention)
        }
        if decision.phase == .active { return ZeroOutlook(.serving) }
        return ZeroOutlook(.noEvidence(detail: decision.detail))
    }
}

/// One model's line in the fleet table.
struct ModelRow: Sendable {
    let key: ModelKey
    /// Nil before the first decision.
    let phase: Phase?
    let desired: Int?
    let ready: Double?
    let reason: Reason?
    let detail: String?
    let lastActivity: Double?
    let outlook: ZeroOutlook
    let coldStarts: Int
    let lastColdStart: Double?
    let wakePath: WakePathStatus?
    /// The retention in force: `retention_period`, or the learned one (adaptive keep-alive).
    let retention: Double
    /// Adaptive keep-alive: the retention is learned within [min_retention_period, retention_period].
    let learned: Bool
    let group: String?

    init(_ record: ModelRecord, killSwitch: Bool, zeroNeedsWakePath: Bool, now: Instant) {
        key = record.config.model
        phase = record.decision?.phase
        desired = record.decision?.desired
        ready = record.signals.ready
        reason = record.decision?.reason
        detail = record.decision?.detail
        lastActivity = record.state.lastActivity?.seconds
        retention = Engine.effectiveRetention(record).seconds
        learned = record.config.keepAlive == .adaptive
        outlook = ZeroOutlook.of(
            record.decision, config: record.config, retention: retention, signals: record.signals, killSwitch: killSwitch,
            zeroNeedsWakePath: zeroNeedsWakePath, now: now)
        coldStarts = record.history.coldStarts
        lastColdStart = record.lastColdStartSeconds
        wakePath = record.decision?.wakePath
        group = record.config.group
    }
}

/// The fleet at a glance: counts over every model, and the rows of one page.
struct FleetStatus: Sendable {
    /// The query the page answers (its page clamped to the pages there are).
    var query: FleetQuery
    /// When the snapshot was taken (Unix seconds).
    let now: Double
    /// Every known model.
    var known = 0
    /// Models by state (`undecided` for those not decided yet).
    var byState: [String: Int] = [:]
    /// GPU replicas recommended now: the sum of every recommendation.
    var desiredTotal = 0
    /// Ready replicas reported now, summed over models whose count is known.
    var readyTotal = 0
    /// The kill switch keeps every model at ≥ 1.
    var killSwitch = false
    /// A configuration is in force.
    var configLoaded = false
    /// Configuration errors (their entries' last good versions stay in force).
    var configErrors: [String] = []
    /// The last reload's failure, when it could not be read at all.
    var configReloadFailure: String?
    /// Signals whose last query failed.
    var failingSignals: [String] = []
    /// The last tick that decided (Unix seconds).
    var lastTick: Double?
    /// The last recommendations were read back from Prometheus at start.
    var recovered = false
    /// Other things worth knowing: variant name conflicts, models with no wake path.
    var warnings: [String] = []
    /// Namespaces and their model counts, for the filter.
    var namespaces: [(name: String, models: Int)] = []
    /// Models that match the filters.
    var matching = 0
    /// The rows of the page asked for.
    var rows: [ModelRow] = []

    /// Pages of matching models.
    var pages: Int { max(1, (matching + query.perPage - 1) / query.perPage) }
}

/// One model's page: its configuration with sources, the last tick's signals, its decision and
/// its recent history.
struct ModelStatus: Sendable {
    let row: ModelRow
    let config: ConfigExplanation
    let signals: ModelRecommendation.SignalsView
    let state: ModelState
    let history: [ModelHistory.Point]
    let historyTruncated: Bool
    /// What adaptive keep-alive and pre-warm learned, for models that learn.
    let learning: Learning?
    let failingSignals: [String]
    let lastTick: Double?
    let now: Double
}

/// What adaptive keep-alive and pre-warm have learned of one model, as its page shows it.
struct Learning: Sendable {
    /// `min_retention_period` and `retention_period`: the bounds of a learned retention.
    let lower: Double, upper: Double
    /// Adaptive keep-alive is on (else only pre-warm learns).
    let adaptive: Bool
    /// Idle gaps learned (decayed weight), against the weight needed before they are trusted.
    let gaps: Double, gapsNeeded: Double
    /// The period and spread of periodic arrivals, when the latest bursts came regularly.
    let period: Double?, spread: Double
    /// The measured cold start, smoothed.
    let coldStart: Double?
    /// The pre-warm window `now` is in, if any.
    let prewarm: KeepAlive.PrewarmWindow?

    init?(_ record: ModelRecord, now: Instant) {
        let config = record.config
        guard config.keepAlive == .adaptive || config.prewarm else { return nil }
        let state = record.state.keepAlive
        lower = min(config.minRetention.seconds, config.retention.seconds)
        upper = config.retention.seconds
        adaptive = config.keepAlive == .adaptive
        gaps = state.gaps.weight
        gapsNeeded = KeepAlive.minimumWeight
        period = state.period
        spread = state.spread
        coldStart = state.coldStart
        prewarm = KeepAlive.prewarmWindow(config, state, now: now)
    }
}

extension Engine {
    /// The fleet page's data: a pass over every model for the counts and the filters, a sort of the
    /// matching ones when the column is not the inventory's own order, and rows for one page.
    func fleetStatus(_ query: FleetQuery, now: Instant) -> FleetStatus {
        var status = FleetStatus(query: query, now: now.seconds)
        let all = sortedModelRecords()
        let killSwitch = self.killSwitch
        status.known = all.count
        status.killSwitch = killSwitch
        status.configLoaded = config != nil
        status.configErrors = config?.problems.filter { $0.severity == .error }.map(\.description) ?? []
        if status.configErrors.isEmpty, config != nil { status.configReloadFailure = lastConfigError }
        status.failingSignals = failingSignals.map(\.rawValue).sorted()
        status.lastTick = lastTickAt?.seconds
        status.recovered = recovered
        status.warnings = variantConflicts

        let needle = query.text.map { Array($0.utf8).map(Self.asciiLowercase) }
        var haystack: [UInt8] = []
        var namespaces: [String: Int] = [:]
        var noWakePath = 0
        var matching: [ModelRecord] = []
        for record in all {
            let key = record.config.model
            namespaces[key.namespace, default: 0] += 1
            let state = record.decision?.phase.rawValue ?? "undecided"
            status.byState[state, default: 0] += 1
            status.desiredTotal += record.decision?.desired ?? 0
            if let ready = record.signals.ready, ready.isFinite, ready > 0 { status.readyTotal += Int(ready.rounded()) }
            if record.decision?.reason == .noWakePath { noWakePath += 1 }
            if let namespace = query.namespace, key.namespace != namespace { continue }
            if let wanted = query.state, state != wanted { continue }
            if let needle {
                haystack.removeAll(keepingCapacity: true)
                haystack.append(contentsOf: key.namespace.utf8)
                haystack.append(UInt8(ascii: "/"))
                haystack.append(contentsOf: key.modelID.utf8)
                guard Self.contains(haystack, needle) else { continue }
            }
            matching.append(record)
        }
        if noWakePath > 0 {
            status.warnings.append("\(noWakePath) idle model(s) held at ≥ 1: no wake path (the gateway has not been seen routing them; set wake_path: api if their callers use the wake API)")
        }
        status.namespaces = namespaces.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        status.matching = matching.count

        if query.sort != .namespace || query.descending {
            matching = Self.sorted(
                matching, by: query.sort, descending: query.descending, killSwitch: killSwitch,
                zeroNeedsWakePath: options.zeroRequiresWakePath, now: now)
        }
        status.query.page = min(query.page, status.pages)
        let first = (status.query.page - 1) * query.perPage
        status.rows = matching[min(first, matching.count)..<min(first + query.perPage, matching.count)].map {
            ModelRow($0, killSwitch: killSwitch, zeroNeedsWakePath: options.zeroRequiresWakePath, now: now)
        }
        return status
    }

    static func asciiLowercase(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte }

    /// Whether `haystack` holds `needle` (lower case), ASCII letters compared in any case: the
    /// text filter runs over 10,000 models per request without building a string for each.
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        let first = needle[0]
        for start in 0...(haystack.count - needle.count) where asciiLowercase(haystack[start]) == first {
            var index = 1
            while index < needle.count, asciiLowercase(haystack[start + index]) == needle[index] { index += 1 }
            if index == needle.count { return true }
        }
        return false
    }

    /// Sorts by one column, ties in inventory order (the records come in it), unknown values last
    /// whichever the direction.
    static func sorted(
        _ records: [ModelRecord], by key: FleetQuery.SortKey, descending: Bool, killSwitch: Bool, zeroNeedsWakePath: Bool, now: Instant
    ) -> [ModelRecord] {
        if key == .model {
            let ordered = records.enumerated().sorted { a, b in
                let (x, y) = (a.element.config.model, b.element.config.model)
                if x.modelID != y.modelID { return descending ? x.modelID > y.modelID : x.modelID < y.modelID }
                return a.offset < b.offset
            }
            return ordered.map(\.element)
        }
        if key == .namespace { return descending ? records.reversed() : records }
        let stateOrder: [String: Double] = [
            Phase.active.rawValue: 0, Phase.waking.rawValue: 1, Phase.idle.rawValue: 2, Phase.held.rawValue: 3, Phase.zero.rawValue: 4,
        ]
        let values: [Double?] = records.map { record in
            switch key {
            case .state: return record.decision.map { stateOrder[$0.phase.rawValue] ?? 5 }
            case .desired: return record.decision.map { Double($0.desired) }
            case .ready: return record.signals.ready
            case .activity: return record.state.lastActivity?.seconds
            case .zero:
                return ZeroOutlook.of(
                    record.decision, config: record.config, retention: effectiveRetention(record).seconds, signals: record.signals,
                    killSwitch: killSwitch, zeroNeedsWakePath: zeroNeedsWakePath, now: now
                ).order
            case .coldStart: return record.lastColdStartSeconds
            case .keepAlive: return effectiveRetention(record).seconds
            case .namespace, .model: return nil
            }
        }
        let indices = values.indices.sorted { a, b in
            switch (values[a], values[b]) {
            case let (x?, y?) where x != y: return descending ? x > y : x < y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a < b
            }
        }
        return indices.map { records[$0] }
    }

    /// One model's page data; nil for a model the recommender does not know.
    func modelStatus(_ key: ModelKey, now: Instant) -> ModelStatus? {
        guard let record = records[key] else { return nil }
        return ModelStatus(
            row: ModelRow(record, killSwitch: killSwitch, zeroNeedsWakePath: options.zeroRequiresWakePath, now: now),
            config: ConfigExplanation(resolved: record.config, resolver: resolver, killSwitchFlag: options.killSwitchFlag),
            signals: ModelRecommendation.SignalsView(record.signals), state: record.state,
            history: record.history.ordered, historyTruncated: record.history.truncated,
            learning: Learning(record, now: now),
            failingSignals: failingSignals.map(\.rawValue).sorted(), lastTick: lastTickAt?.seconds, now: now.seconds)
    }

    /// Bytes the chart histories of every model hold (for the memory figure of the benchmark).
    public func historyBytes() -> Int { records.values.reduce(0) { $0 + $1.history.bytes } }

    /// The most changes a model's chart history keeps.
    public static var historyCapacity: Int { ModelHistory.capacity }
}
