import Foundation

/// An HTTP response from Prometheus (or Thanos, Mimir, Cortex, VictoriaMetrics).
public struct HTTPResponse: Sendable {
    /// HTTP status code.
    public let status: Int
    /// Response body.
    public let body: [UInt8]

    /// Creates a response.
    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

/// A failure below HTTP: connection refused, timeout, TLS.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as the transport says it.
    public let message: String

    /// Creates the error.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}

/// The seam between the Prometheus client and the network: one form-encoded POST.
public protocol PrometheusTransport: Sendable {
    /// POSTs `form` (URL-encoded) to `path` below the server's base URL.
    func post(path: String, form: [(String, String)]) async throws(TransportError) -> HTTPResponse
}

/// How to reach and authenticate to the Prometheus HTTP API.
public struct PrometheusConnection: Sendable {
    /// Base URL, e.g. `http://prometheus:9090` or `https://mimir/prometheus`.
    public var url: String
    /// File holding a bearer token, re-read when it changes (projected service-account tokens rotate).
    public var bearerTokenFile: String?
    /// CA bundle to verify the server with.
    public var caFile: String?
    /// Client certificate (PEM) for mutual TLS.
    public var clientCertFile: String?
    /// Client key (PEM) for mutual TLS.
    public var clientKeyFile: String?
    /// Skip TLS verification (tests only).
    public var insecureSkipVerify: Bool
    /// Extra headers, e.g. `X-Scope-OrgID: tenant` for Mimir/Cortex.
    public var headers: [(String, String)]
    /// Per-request timeout in seconds.
    public var timeoutSeconds: Double
    /// Extra form parameters sent with every query, after the query's own.
    ///
    /// The default, `nocache=1`, makes VictoriaMetrics evaluate an instant query at the current
    /// time: without it, VictoriaMetrics answers as of `-search.latencyOffset` ago (30 s by default)
    /// so every signal, a wake included, arrives that much late (see `docs/backends.md`).
    /// Prometheus, Thanos, Mimir and Cortex ignore a parameter they do not know.
    public var parameters: [(String, String)]

    /// The parameters sent unless told otherwise: `nocache=1` (VictoriaMetrics answers at now).
    public static let defaultParameters: [(String, String)] = [("nocache", "1")]

    /// Creates connection settings.
    public init(
        url: String, bearerTokenFile: String? = nil, caFile: String? = nil, clientCertFile: String? = nil,
        clientKeyFile: String? = nil, insecureSkipVerify: Bool = false, headers: [(String, String)] = [],
        timeoutSeconds: Double = 10, parameters: [(String, String)] = PrometheusConnection.defaultParameters
    ) {
        self.url = url
        self.bearerTokenFile = bearerTokenFile
        self.caFile = caFile
        self.clientCertFile = clientCertFile
        self.clientKeyFile = clientKeyFile
        self.insecureSkipVerify = insecureSkipVerify
        self.headers = headers
        self.timeoutSeconds = timeoutSeconds
        self.parameters = parameters
    }
}

/// URL form encoding (`application/x-www-form-urlencoded`).
func formEncode(_ form: [(String, String)]) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return form.map { key, value in
        let k = key.addingPercentEncoding(withAllowedCharacters: allowed) ?? key
        let v = value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
        return "\(k)=\(v)"
    }.joined(separator: "&")
}
