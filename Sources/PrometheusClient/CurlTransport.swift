import CCurl
import Synchronization
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The libcurl transport: the only HTTP client here that takes a custom CA file, a client
/// certificate and insecure-skip-verify on Linux (Foundation's URLSession cannot be given a CA file).
///
/// Each request runs `curl_easy_perform` on a dispatch queue so the async caller never blocks a
/// cooperative thread. The bearer token file is re-read when the file it resolves to changes (see
/// ``TokenFile``). The CA, client certificate and key files are given to libcurl by path on every
/// request (a fresh handle each time, no connection or CA-store reuse), so a rotated Secret — a
/// kubelet `..data` swap — is used from the next request on.
public final class CurlTransport: PrometheusTransport {
    private let connection: PrometheusConnection
    private let token: TokenFile?
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// Creates a transport for `connection`.
    public init(connection: PrometheusConnection) {
        _ = Self.globalInit
        self.connection = connection
        self.token = connection.bearerTokenFile.map { TokenFile(path: $0) }
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
                throw TransportError("cannot read bearer token file \(error)")
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

/// A secret (a bearer token) read from a file, re-read when the file the path names changes and
/// at least every ``refreshInterval``.
///
/// Kubernetes mounts Secrets and projected service-account tokens as `token -> ..data/token` and
/// rotates them by pointing `..data` at a new timestamped directory: the link `token` itself never
/// changes, so "changed" is judged on the file it resolves to (``FileStamp`` uses `stat`, which
/// follows links: device, inode, size, modification and status-change times). The periodic re-read
/// covers an edit no stamp shows (same inode, size and times).
public final class TokenFile: Sendable {
    /// The file.
    public let path: String
    /// The longest a read is reused even when the stamp is unchanged.
    public let refreshInterval: Duration
    private let cache = Mutex<(stamp: FileStamp, token: String, readAt: ContinuousClock.Instant)?>(nil)

    /// Creates a reader of `path` (nothing is read until ``current()``).
    public init(path: String, refreshInterval: Duration = .seconds(30)) {
        self.path = path
        self.refreshInterval = refreshInterval
    }

    /// The trimmed contents, re-read when the file the path resolves to changed or the last read
    /// is older than ``refreshInterval``.
    public func current() throws(SecretFileError) -> String {
        let stamp = try FileStamp(path: path)
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0 }), cached.stamp == stamp, now - cached.readAt < refreshInterval {
            return cached.token
        }
        // Read after stat: a swap in between leaves a stamp older than the text, so the next call
        // reads again; the reverse cannot cache a stale text under a new stamp.
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SecretFileError(path: path, reason: "cannot be read")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        cache.withLock { $0 = (stamp, token, now) }
        return token
    }
}

/// What `stat(2)` reports of the file a path resolves to (symbolic links followed): enough to see
/// that a kubelet `..data` swap, a rewrite or a replacement changed it.
public struct FileStamp: Sendable, Hashable {
    /// Device and inode: a different file.
    public let device: UInt64, inode: UInt64
    /// Size in bytes.
    public let size: Int64
    /// Modification and status-change times, in nanoseconds since the epoch.
    public let modified: Int64, changed: Int64

    /// Stats `path`, following links.
    public init(path: String) throws(SecretFileError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw SecretFileError(path: path, reason: String(cString: strerror(errno)))
        }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
    }
}

/// A secret file that cannot be read.
public struct SecretFileError: Error, Sendable, CustomStringConvertible {
    /// The file.
    public let path: String
    /// Why.
    public let reason: String

    /// Creates the error.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// `PATH: REASON`.
    public var description: String { "\(path): \(reason)" }
}
