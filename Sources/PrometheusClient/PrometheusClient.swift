import Foundation

/// One sample of an instant vector: its labels and value (NaN and ±Inf are kept; callers treat
/// them as unknown, never as zero).
public struct Sample: Sendable, Hashable {
    /// The series' labels.
    public let labels: [String: String]
    /// The value.
    public let value: Double

    /// Creates a sample.
    public init(labels: [String: String], value: Double) {
        self.labels = labels
        self.value = value
    }
}

/// One series of a range query: its labels and its points.
public struct RangeSeries: Sendable, Hashable {
    /// The series' labels.
    public let labels: [String: String]
    /// The points' times (Unix seconds), ascending.
    public let times: [Double]
    /// The points' values.
    public let values: [Double]

    /// Creates a series.
    public init(labels: [String: String], times: [Double], values: [Double]) {
        self.labels = labels
        self.times = times
        self.values = values
    }
}

/// Why a query has no answer. Every case means "unknown", never "zero".
public struct PrometheusError: Error, Sendable, CustomStringConvertible {
    enum Code: Sendable, Equatable {
        case transport
        case http(Int)
        case api(String)
        case decoding
        case unexpectedResultType(String)
        case partial
    }

    let code: Code
    /// A human-readable explanation.
    public let message: String

    /// Whether trying again may help (network trouble, 5xx, 429, timeouts).
    public var isRetryable: Bool {
        switch code {
        case .transport: true
        case .http(let status): status >= 500 || status == 429
        case .api(let type): type == "timeout" || type == "unavailable" || type == "internal"
        case .decoding, .unexpectedResultType: false
        // A store or replica was missing: asking again at once rarely helps, the next tick may.
        case .partial: false
        }
    }

    /// An error that did not come from a server's answer (no connection, a timeout): what a
    /// transport, a simulation or a test reports.
    public static func unreachable(_ message: String) -> PrometheusError {
        PrometheusError(code: .transport, message: message)
    }

    /// The answer was partial (a store, replica or remote-read source did not answer): every value
    /// of it is unknown, never "no series".
    public var isPartial: Bool { code == .partial }

    /// The HTTP status, when the server answered.
    public var httpStatus: Int? {
        if case .http(let status) = code { return status }
        return nil
    }

    /// `errorType: error` from the API, the HTTP status, or the transport's message.
    public var description: String { message }
}

/// Bounded retries with exponential backoff.
public struct RetryPolicy: Sendable {
    /// Attempts in all (1 = no retry).
    public var attempts: Int
    /// Delay before the first retry; doubles after each.
    public var initialBackoff: Duration

    /// Creates a policy.
    public init(attempts: Int = 3, initialBackoff: Duration = .milliseconds(200)) {
        self.attempts = max(1, attempts)
        self.initialBackoff = initialBackoff
    }
}

/// A client of the Prometheus HTTP query API (`/api/v1/query`), as served by Prometheus, Thanos,
/// Mimir, Cortex and VictoriaMetrics.
public struct PrometheusClient: Sendable {
    private let transport: any PrometheusTransport
    private let retry: RetryPolicy

    /// Creates a client on `transport`.
    public init(transport: any PrometheusTransport, retry: RetryPolicy = RetryPolicy()) {
        self.transport = transport
        self.retry = retry
    }

    /// The same client, one attempt per query (for a query whose text pins a moment computed
    /// before sending: a retry would be evaluated later than meant).
    public func withoutRetries() -> PrometheusClient { PrometheusClient(transport: transport, retry: RetryPolicy(attempts: 1)) }

    /// Evaluates `promql` as an instant query at the server's current time (or at `time`).
    /// A scalar result is returned as one sample without labels.
    public func query(_ promql: String, time: Date? = nil) async throws(PrometheusError) -> [Sample] {
        // Thanos answers partially by default when a store is down; ask it not to (Prometheus,
        // Mimir and VictoriaMetrics ignore the parameter).
        var form = [("query", promql), ("partial_response", "false")]
        if let time { form.append(("time", String(format: "%.3f", time.timeIntervalSince1970))) }
        var backoff = retry.initialBackoff
        var attempt = 1
        while true {
            do {
                return try await once(form)
            } catch {
                guard error.isRetryable, attempt < retry.attempts else { throw error }
                try? await Task.sleep(for: backoff)
                backoff = backoff * 2
                attempt += 1
            }
        }
    }

    /// Evaluates `promql` as a range query from `start` to `end` every `step` seconds
    /// (`/api/v1/query_range`). A server answers at most about 11,000 points per series: callers
    /// split longer ranges.
    public func queryRange(_ promql: String, start: Date, end: Date, step: Double) async throws(PrometheusError) -> [RangeSeries] {
        let form = [
            ("query", promql), ("partial_response", "false"), ("start", String(format: "%.3f", start.timeIntervalSince1970)),
            ("end", String(format: "%.3f", end.timeIntervalSince1970)), ("step", String(format: "%.3f", step)),
        ]
        var backoff = retry.initialBackoff
        var attempt = 1
        while true {
            do throws(PrometheusError) {
                let response: HTTPResponse
                do {
                    response = try await transport.post(path: "/api/v1/query_range", form: form)
                } catch {
                    throw PrometheusError(code: .transport, message: error.message)
                }
                return try Self.decodeRange(response)
            } catch {
                guard error.isRetryable, attempt < retry.attempts else { throw error }
                try? await Task.sleep(for: backoff)
                backoff = backoff * 2
                attempt += 1
            }
        }
    }

    private func once(_ form: [(String, String)]) async throws(PrometheusError) -> [Sample] {
        let response: HTTPResponse
        do {
            response = try await transport.post(path: "/api/v1/query", form: form)
        } catch {
            throw PrometheusError(code: .transport, message: error.message)
        }
        return try Self.decode(response)
    }

    /// Decodes a query API response: samples on success, a typed error otherwise.
    static func decode(_ response: HTTPResponse) throws(PrometheusError) -> [Sample] {
        let decoded = try checked(response)
        guard let type = decoded.resultType, type == "vector" || type == "scalar" else {
            throw PrometheusError(
                code: .unexpectedResultType(decoded.resultType ?? "none"), message: "expected an instant vector or scalar, got a \(decoded.resultType ?? "none")")
        }
        return decoded.samples
    }

    /// Decodes a range query's response: its series on success, a typed error otherwise.
    static func decodeRange(_ response: HTTPResponse) throws(PrometheusError) -> [RangeSeries] {
        let decoded = try checked(response)
        guard decoded.resultType == "matrix" else {
            throw PrometheusError(code: .unexpectedResultType(decoded.resultType ?? "none"), message: "expected a matrix, got a \(decoded.resultType ?? "none")")
        }
        return decoded.series
    }

    /// A successful, complete answer, or the error it says.
    private static func checked(_ response: HTTPResponse) throws(PrometheusError) -> ResponseDecoder.Response {
        var decoder = ResponseDecoder(response.body)
        let decoded = try? decoder.decode()
        if let decoded, decoded.status == "error" {
            let type = decoded.errorType ?? "unknown"
            throw PrometheusError(code: .api(type), message: "Prometheus \(type) error (HTTP \(response.status)): \(decoded.error ?? "")")
        }
        guard (200..<300).contains(response.status) else {
            let snippet = String(decoding: response.body.prefix(200), as: UTF8.self)
            throw PrometheusError(code: .http(response.status), message: "HTTP \(response.status) from Prometheus: \(snippet)")
        }
        guard let decoded, decoded.status == "success", let type = decoded.resultType, decoded.sawResult else {
            throw PrometheusError(code: .decoding, message: "not a Prometheus query API response")
        }
        if decoded.isPartial {
            throw PrometheusError(code: .partial, message: "partial answer (isPartial: true): a storage node did not answer")
        }
        if let warning = decoded.warnings.first(where: Self.meansPartial) {
            throw PrometheusError(code: .partial, message: "partial answer: \(warning)")
        }
        _ = type
        return decoded
    }

    /// A warning that says data is missing (Thanos' partial-response and store warnings, remote-read
    /// or federation errors). PromQL's own annotations (`PromQL info: …`, `PromQL warning: …`, such
    /// as "metric might not be a counter") are harmless and do not.
    static func meansPartial(_ warning: String) -> Bool {
        !(warning.hasPrefix("PromQL info:") || warning.hasPrefix("PromQL warning:"))
    }

    /// Prometheus writes `NaN`, `+Inf`, `-Inf` as strings; anything unparsable is NaN (unknown).
    static func parseValue(_ text: String) -> Double {
        switch text {
        case "+Inf", "Inf": .infinity
        case "-Inf": -.infinity
        default: Double(text) ?? .nan
        }
    }
}
