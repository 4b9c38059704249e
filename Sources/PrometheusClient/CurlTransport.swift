import CCurl
import Synchronization
import Foundation

/// The libcurl transport: the only HTTP client here that takes a custom CA file, a client
/// certificate and insecure-skip-verify on Linux (Foundation's URLSession cannot be given a CA file).
///
/// Each request runs `curl_easy_perform` on a dispatch queue so the async caller never blocks a
/// cooperative thread. The bearer token file is re-read when its modification date or size changes.
public final class CurlTransport: PrometheusTransport {
    private let connection: PrometheusConnection
    private let token: TokenFile?
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// Creates a transport for `connection`.
    public init(connection: PrometheusConnection) {
        _ = Self.globalInit
        self.connection = connection
        self.token = connection.bearerTokenFile.map(TokenFile.init(path:))
    }

    public func post(path: String, form: [(String, String)]) async throws(TransportError) -> HTTPResponse {
        let url = connection.url.hasSuffix("/") ? String(connection.url.dropLast()) + path : connection.url + path
        let body = formEncode(form + connection.parameters)
        var headers = connection.headers.map { "\($0.0): \($0.1)" }
        headers.append("Content-Type: application/x-www-form-urlencoded")
        headers.append("Accept: application/json")
        if let token {
            do {
                headers.append("Authorization: Bearer \(try token.current())")
            } catch {
                throw TransportError("cannot read bearer token file \(token.path): \(error)")
            }
        }
        let request = CurlRequest(url: url, body: body, headers: headers, connection: connection)
        let result: Result<HTTPResponse, TransportError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: request.perform()) }
        }
        return try result.get()
    }
}

/// One synchronous libcurl request.
private struct CurlRequest: Sendable {
    let url: String
    let body: String
    let headers: [String]
    let connection: PrometheusConnection

    /// Receives the body; libcurl calls it with the address of this box as context.
    final class Sink { var bytes: [UInt8] = [] }

    func perform() -> Result<HTTPResponse, TransportError> {
        guard let handle = curl_easy_init() else { return .failure(TransportError("curl_easy_init failed")) }
        defer { curl_easy_cleanup(handle) }
        var headerList: UnsafeMutablePointer<curl_slist>?
        for header in headers { headerList = curl_slist_append(headerList, header) }
        defer { curl_slist_free_all(headerList) }
        let sink = Sink()
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }

        let code: CURLcode = withExtendedLifetime(sink) {
            rr_curl_setopt_string(handle, CURLOPT_URL, url)
            rr_curl_setopt_long(handle, CURLOPT_POST, 1)
            rr_curl_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, body)
            rr_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, headerList)
            rr_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            rr_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(connection.timeoutSeconds * 1000))
            rr_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(min(connection.timeoutSeconds, 5) * 1000))
            rr_curl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, "")  // any encoding libcurl supports
            rr_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
            if let ca = connection.caFile { rr_curl_setopt_string(handle, CURLOPT_CAINFO, ca) }
            if let cert = connection.clientCertFile { rr_curl_setopt_string(handle, CURLOPT_SSLCERT, cert) }
            if let key = connection.clientKeyFile { rr_curl_setopt_string(handle, CURLOPT_SSLKEY, key) }
            if connection.insecureSkipVerify {
                rr_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 0)
                rr_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 0)
            }
            rr_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
            rr_curl_setopt_write_function(handle) { data, size, count, context in
                guard let data, let context else { return 0 }
                let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
                let length = size * count
                data.withMemoryRebound(to: UInt8.self, capacity: length) {
                    sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
                }
                return length
            }
            return curl_easy_perform(handle)
        }
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            return .failure(TransportError("\(url): \(text)"))
        }
        var status = 0
        rr_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, body: sink.bytes))
    }
}

/// A secret (bearer token) read from a file and re-read whenever the file changes.
public final class TokenFile: Sendable {
    /// The file.
    public let path: String
    private let cache = Mutex<(stamp: String, token: String)?>(nil)

    /// Creates a reader of `path` (nothing is read until ``current()``).
    public init(path: String) { self.path = path }

    /// The trimmed contents, re-read when the file's date or size changed.
    public func current() throws -> String {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let stamp = "\((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0):\((attributes[.size] as? NSNumber)?.intValue ?? 0)"
        if let cached = cache.withLock({ $0 }), cached.stamp == stamp { return cached.token }
        let token = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        cache.withLock { $0 = (stamp, token) }
        return token
    }
}
