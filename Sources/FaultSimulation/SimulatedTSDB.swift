import Foundation

/// Which Prometheus the simulated TSDB behaves like: the two differ at range and lookback edges
/// and in the order of `increase`'s extrapolation steps.
public enum PrometheusFlavour: String, Sendable, Hashable, CaseIterable {
    /// Prometheus 2.x (Debian's 2.42): closed windows `[t−R, t]`; the counter's zero point is
    /// applied before the extrapolation threshold.
    case v2
    /// Prometheus 3.x: left-open windows `(t−R, t]`; the threshold first, then the zero point
    /// (prometheus/prometheus PR #13725).
    case v3
}

/// One stored sample; `stale` is Prometheus' staleness marker (a special NaN in its storage).
struct StoredSample: Sendable {
    let time: Double
    let value: Double
    let stale: Bool
}

/// A series' identity: its name and labels (hashing a dictionary does not depend on its order).
struct SeriesID: Hashable, Sendable {
    let metric: String
    let labels: [String: String]
}

/// One series: its name, labels and samples in time order.
struct StoredSeries: Sendable {
    let metric: String
    let labels: [String: String]
    var id: SeriesID { SeriesID(metric: metric, labels: labels) }
    var samples: [StoredSample] = []
}

/// A series' labels and value in a query answer.
public struct ResultSample: Sendable, Hashable {
    /// Labels (without `__name__` after aggregation or a function).
    public let labels: [String: String]
    /// The value, NaN and ±Inf included.
    public let value: Double
}

/// Scraped samples of a simulated fleet and the evaluation of ``QueryExpr`` over them, the way
/// Prometheus does it:
/// - an instant selector takes the newest sample within the 5-minute lookback, and nothing when
///   that sample is a staleness marker;
/// - a range selector takes the samples in the window, staleness markers excluded;
/// - `increase`/`rate` follow `extrapolatedRate` of prometheus/prometheus `promql/functions.go`
///   (counter resets add the value before the reset; extrapolation to the window edges when the
///   first/last sample is within 1.1 average intervals of them, else by half an interval; never
///   below the counter's zero point); a series with fewer than two samples has no result;
/// - aggregations drop `__name__` and keep the grouping labels; `sum`/`avg` propagate NaN, `max`
///   and `min` ignore it unless every value is NaN; `A or B` adds B's samples whose label set A
///   lacks.
/// Staleness: a target that fails a scrape or disappears gets a staleness marker on every series it
/// had, a series missing from a scrape gets one (https://www.robustperception.io/staleness-and-promql);
/// after a TSDB restart the scrape cache is gone, so series that vanished meanwhile get none.
public struct SimulatedTSDB: Sendable {
    /// Lookback of instant selectors, seconds (Prometheus' default 5 minutes).
    public static let lookback = 300.0

    /// Prometheus 2 or 3 semantics.
    public var flavour: PrometheusFlavour
    private var series: [StoredSeries] = []
    private var indexByID: [SeriesID: Int] = [:]
    private var indexByMetric: [String: [Int]] = [:]
    /// Per scrape target, the series of its last successful scrape (for staleness markers).
    private var lastScrape: [String: Set<Int>] = [:]

    /// Samples older than `since` are invisible to evaluation, except those of `exempt` metrics
    /// (a replica that started at `since` with empty storage); nil: everything is visible.
    public var horizon: (since: Double, exempt: Set<String>)?

    /// An empty TSDB.
    public init(flavour: PrometheusFlavour = .v3) { self.flavour = flavour }

    /// The number of samples stored (for statistics).
    public var sampleCount: Int { series.reduce(0) { $0 + $1.samples.count } }

    // MARK: - Ingestion

    /// One scraped sample: metric name, labels, value.
    public struct Scraped: Sendable {
        /// Metric name.
        public let metric: String
        /// Labels, target labels included.
        public let labels: [String: String]
        /// Value.
        public let value: Double

        /// Creates a scraped sample.
        public init(_ metric: String, _ labels: [String: String], _ value: Double) {
            self.metric = metric
            self.labels = labels
            self.value = value
        }
    }

    /// A successful scrape of `target` at `time`: stores `samples` and a staleness marker on every
    /// series the target had last time and no longer has.
    public mutating func scrape(target: String, at time: Double, _ samples: [Scraped]) {
        var indices = Set<Int>()
        indices.reserveCapacity(samples.count)
        for sample in samples {
            let index = seriesIndex(sample.metric, sample.labels)
            append(index, StoredSample(time: time, value: sample.value, stale: false))
            indices.insert(index)
        }
        if let previous = lastScrape[target] {
            for index in previous where !indices.contains(index) { markStale(index, at: time) }
        }
        lastScrape[target] = indices
    }

    /// A failed scrape, or a target that went away: every series of its last scrape goes stale.
    public mutating func scrapeFailed(target: String, at time: Double) {
        guard let previous = lastScrape.removeValue(forKey: target) else { return }
        for index in previous { markStale(index, at: time) }
    }

    /// A restart of the TSDB: the scrape cache is lost (no staleness markers for what vanished
    /// while it was down); stored samples survive (the write-ahead log).
    public mutating func restarted() { lastScrape.removeAll() }

    /// Prometheus writes the markers of a target that went away after its last scrape (at the time
    /// of the next one it would have made): a target removed at the instant of a scrape still gets
    /// them, just after it.
    private mutating func markStale(_ index: Int, at time: Double) {
        guard let last = series[index].samples.last, !last.stale else { return }
        series[index].samples.append(StoredSample(time: Swift.max(time, last.time + 0.001), value: .nan, stale: true))
    }

    private mutating func append(_ index: Int, _ sample: StoredSample) {
        if let last = series[index].samples.last, last.time >= sample.time { return }  // out of order: dropped
        series[index].samples.append(sample)
    }

    private mutating func seriesIndex(_ metric: String, _ labels: [String: String]) -> Int {
        let id = SeriesID(metric: metric, labels: labels)
        if let index = indexByID[id] { return index }
        series.append(StoredSeries(metric: metric, labels: labels))
        let index = series.count - 1
        indexByID[id] = index
        indexByMetric[metric, default: []].append(index)
        return index
    }

    // MARK: - Evaluation

    /// Evaluates `expr` at `time`; `hidden` drops series at selection (a store that did not answer).
    public func evaluate(_ expr: QueryExpr, at time: Double, hidden: (String, [String: String]) -> Bool = { _, _ in false }) -> [ResultSample] {
        switch expr {
        case .selector(let selector):
            return select(selector, hidden).compactMap { index in
                instantValue(series[index], at: time).map { value in
                    var labels = series[index].labels
                    labels["__name__"] = series[index].metric
                    return ResultSample(labels: labels, value: value)
                }
            }
        case .rangeFunction(let function, let selector, let range):
            return select(selector, hidden).compactMap { index in
                let window = rangeSamples(series[index], at: time, range: range)
                guard let value = apply(function, window, at: time, range: range) else { return nil }
                var labels = series[index].labels
                if function == .lastOverTime || function == .maxOverTime { labels["__name__"] = series[index].metric }
                return ResultSample(labels: labels, value: value)
            }
        case .aggregate(let aggregation, let grouping, let without, let inner):
            return aggregate(aggregation, grouping: grouping, without: without, evaluate(inner, at: time, hidden: hidden))
        case .constantLabel(let inner, let label, let value):
            return evaluate(inner, at: time, hidden: hidden).map { sample in
                var labels = sample.labels
                labels[label] = value
                return ResultSample(labels: labels, value: sample.value)
            }
        case .greaterThan(let inner, let threshold):
            return evaluate(inner, at: time, hidden: hidden).filter { $0.value > threshold }
        case .shifted(let inner, let seconds):
            return evaluate(inner, at: time - seconds, hidden: hidden)
        case .and(let lhs, let rhs), .unless(let lhs, let rhs):
            func identity(_ labels: [String: String]) -> [String: String] {
                var labels = labels
                labels["__name__"] = nil
                return labels
            }
            let right = Set(evaluate(rhs, at: time, hidden: hidden).map { identity($0.labels) })
            let keep: Bool
            if case .and = expr { keep = true } else { keep = false }
            return evaluate(lhs, at: time, hidden: hidden).filter { right.contains(identity($0.labels)) == keep }
        case .or(let lhs, let rhs):
            let left = evaluate(lhs, at: time, hidden: hidden)
            let seen = Set(left.map(\.labels))
            return left + evaluate(rhs, at: time, hidden: hidden).filter { !seen.contains($0.labels) }
        }
    }

    private func select(_ selector: VectorSelector, _ hidden: (String, [String: String]) -> Bool) -> [Int] {
        let candidates = selector.metric.isEmpty ? Array(series.indices) : indexByMetric[selector.metric] ?? []
        return candidates.filter { index in
            let s = series[index]
            return selector.matches(name: s.metric, labels: s.labels) && !hidden(s.metric, s.labels)
        }
    }

    /// The newest sample within the lookback, nil when there is none or it is a staleness marker.
    func instantValue(_ s: StoredSeries, at time: Double) -> Double? {
        var i = s.samples.count - 1
        while i >= 0, s.samples[i].time > time { i -= 1 }
        guard i >= 0 else { return nil }
        let sample = s.samples[i]
        if let horizon, sample.time < horizon.since, !horizon.exempt.contains(s.metric) { return nil }
        let inside = flavour == .v3 ? sample.time > time - Self.lookback : sample.time >= time - Self.lookback
        return inside && !sample.stale ? sample.value : nil
    }

    /// Samples in the window ending at `time`, staleness markers excluded.
    func rangeSamples(_ s: StoredSeries, at time: Double, range: Double) -> ArraySlice<StoredSample> {
        var end = s.samples.count
        while end > 0, s.samples[end - 1].time > time { end -= 1 }
        var start = end
        let startTime = time - range
        while start > 0, flavour == .v3 ? s.samples[start - 1].time > startTime : s.samples[start - 1].time >= startTime { start -= 1 }
        var window = s.samples[start..<end]
        if let horizon, !horizon.exempt.contains(s.metric) {
            while let first = window.first, first.time < horizon.since { window = window.dropFirst() }
        }
        guard window.contains(where: \.stale) else { return window }
        return ArraySlice(window.filter { !$0.stale })
    }

    func apply(_ function: RangeFunction, _ window: ArraySlice<StoredSample>, at time: Double, range: Double) -> Double? {
        switch function {
        case .increase: extrapolatedRate(window, rangeStart: time - range, rangeEnd: time, range: range, isRate: false)
        case .rate: extrapolatedRate(window, rangeStart: time - range, rangeEnd: time, range: range, isRate: true)
        case .lastOverTime: window.last?.value
        case .maxOverTime: window.isEmpty ? nil : window.reduce(-Double.infinity) { $1.value.isNaN ? $0 : max($0, $1.value) }
        case .minOverTime: window.isEmpty ? nil : window.reduce(Double.infinity) { $1.value.isNaN ? $0 : min($0, $1.value) }
        case .countOverTime: window.isEmpty ? nil : Double(window.count)
        case .resets: window.isEmpty ? nil : Double(zip(window, window.dropFirst()).filter { $1.value < $0.value }.count)
        }
    }

    /// `extrapolatedRate` of prometheus/prometheus `promql/functions.go` for a float counter.
    func extrapolatedRate(_ samples: ArraySlice<StoredSample>, rangeStart: Double, rangeEnd: Double, range: Double, isRate: Bool) -> Double? {
        guard samples.count >= 2, let first = samples.first, let last = samples.last else { return nil }
        var result = last.value - first.value
        var previous = first.value
        for sample in samples.dropFirst() {
            if sample.value < previous { result += previous }  // counter reset
            previous = sample.value
        }
        var durationToStart = first.time - rangeStart
        var durationToEnd = rangeEnd - last.time
        let sampledInterval = last.time - first.time
        let average = sampledInterval / Double(samples.count - 1)
        let threshold = average * 1.1
        switch flavour {
        case .v2:
            if result > 0 && first.value >= 0 {
                let durationToZero = sampledInterval * (first.value / result)
                if durationToZero < durationToStart { durationToStart = durationToZero }
            }
            var extrapolateTo = sampledInterval
            extrapolateTo += durationToStart < threshold ? durationToStart : average / 2
            extrapolateTo += durationToEnd < threshold ? durationToEnd : average / 2
            result *= extrapolateTo / sampledInterval
        case .v3:
            if durationToStart >= threshold { durationToStart = average / 2 }
            var durationToZero = durationToStart
            if result > 0 && first.value >= 0 { durationToZero = sampledInterval * (first.value / result) }
            if durationToZero < durationToStart { durationToStart = durationToZero }
            if durationToEnd >= threshold { durationToEnd = average / 2 }
            result *= (sampledInterval + durationToStart + durationToEnd) / sampledInterval
        }
        return isRate ? result / range : result
    }

    func aggregate(_ aggregation: Aggregation, grouping: [String]?, without: Bool, _ input: [ResultSample]) -> [ResultSample] {
        var order: [[String: String]] = []
        var groups: [[String: String]: [Double]] = [:]
        for sample in input {
            var labels: [String: String] = [:]
            if without {
                labels = sample.labels
                labels["__name__"] = nil
                for name in grouping ?? [] { labels[name] = nil }
            } else {
                for name in grouping ?? [] { if let value = sample.labels[name], !value.isEmpty { labels[name] = value } }
            }
            if groups[labels] == nil { order.append(labels) }
            groups[labels, default: []].append(sample.value)
        }
        return order.map { labels in
            let values = groups[labels]!
            let value: Double
            switch aggregation {
            case .sum: value = values.reduce(0, +)
            case .count: value = Double(values.count)
            case .avg: value = values.reduce(0, +) / Double(values.count)
            case .max: value = values.filter { !$0.isNaN }.max() ?? .nan
            case .min: value = values.filter { !$0.isNaN }.min() ?? .nan
            case .group: value = 1
            }
            return ResultSample(labels: labels, value: value)
        }
    }

    // MARK: - Ground truth for the invariant checker

    /// Series of `metric` whose labels include `labels`, evaluated as an instant selector at `time`.
    /// The stored series of `metric` whose labels include `labels`.
    func matching(_ metric: String, _ labels: [String: String]) -> some Sequence<StoredSeries> {
        (indexByMetric[metric] ?? []).lazy.map { series[$0] }.filter { s in labels.allSatisfy { s.labels[$0.key] == $0.value } }
    }

    public func freshValues(_ metric: String, matching labels: [String: String], at time: Double) -> [Double] {
        matching(metric, labels).compactMap { instantValue($0, at: time) }
    }

    /// Values of the series of `metric` with `labels` whose last sample, not a staleness marker,
    /// is within `within` seconds before `time` (scraped just now, not a ghost of a TSDB restart).
    public func recentValues(_ metric: String, matching labels: [String: String], at time: Double, within: Double) -> [Double] {
        matching(metric, labels).compactMap { s in
            guard let last = s.samples.last(where: { $0.time <= time }), !last.stale, last.time >= time - within else { return nil }
            if let horizon, last.time < horizon.since, !horizon.exempt.contains(s.metric) { return nil }
            return last.value
        }
    }

    /// Instant values of the series of `metric` with `labels` whose newest sample is older than
    /// `olderThan` seconds: series their target no longer exports that no staleness marker ended
    /// (they vanished while the TSDB was down), answered until the lookback passes.
    public func ghostValues(_ metric: String, matching labels: [String: String], at time: Double, olderThan: Double) -> [Double] {
        matching(metric, labels).compactMap { s in
            guard let value = instantValue(s, at: time), let last = s.samples.last(where: { $0.time <= time }),
                last.time < time - olderThan else { return nil }
            return value
        }
    }

    /// `increase(metric{labels}[range])` per matching series at `time` (series with a result only).
    public func increases(_ metric: String, matching labels: [String: String], at time: Double, range: Double) -> [Double] {
        matching(metric, labels).compactMap { s in
            extrapolatedRate(rangeSamples(s, at: time, range: range), rangeStart: time - range, rangeEnd: time, range: range, isRate: false)
        }
    }

    /// Whether any series of `metric` with `labels` has ever been stored.
    public func hasSeries(_ metric: String, matching labels: [String: String]) -> Bool {
        (indexByMetric[metric] ?? []).contains { index in labels.allSatisfy { series[index].labels[$0.key] == $0.value } }
    }

    /// Non-stale samples (time, value) of the series of `metric` with `labels`, for the checker.
    public func samples(_ metric: String, matching labels: [String: String]) -> [[(time: Double, value: Double)]] {
        (indexByMetric[metric] ?? []).compactMap { index in
            let s = series[index]
            guard labels.allSatisfy({ s.labels[$0.key] == $0.value }) else { return nil }
            return s.samples.filter { !$0.stale }.map { ($0.time, $0.value) }
        }
    }
}
