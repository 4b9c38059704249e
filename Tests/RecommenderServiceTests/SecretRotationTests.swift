import Foundation
import Hummingbird
import Logging
import ModelConfig
import PrometheusClient
import Synchronization
import Testing
@testable import RecommenderService
#if canImport(Glibc)
import Glibc
#endif

/// A Secret volume written the way the kubelet writes it (`pkg/volume/util/atomic_writer.go`,
/// Kubernetes v1.30): the payload in a hidden timestamped directory `..2026_05_01_12_00_00.<random>`,
/// a link `..data -> ..<timestamp>`, and one user-visible link per key, `token -> ..data/token`.
/// An update writes a new timestamped directory, links `..data_tmp` to it, renames `..data_tmp`
/// over `..data` (the atomic step) and removes the old directory: the user-visible links never change.
struct KubeletSecretVolume {
    let directory: String
    private(set) var generation = 0

    init(_ files: [String: String]) throws {
        directory = NSTemporaryDirectory() + "rr-secret-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try update(files)
        for key in files.keys {
            try FileManager.default.createSymbolicLink(atPath: directory + "/" + key, withDestinationPath: "..data/" + key)
        }
    }

    func path(_ key: String) -> String { directory + "/" + key }

    /// Writes `files` as a new payload and swaps `..data` to it. With `keepTimes`, each new file
    /// gets the old file's modification time (a rotation that no date shows).
    mutating func update(_ files: [String: String], keepTimes: Bool = false) throws {
        let manager = FileManager.default
        let old = try? manager.destinationOfSymbolicLink(atPath: directory + "/..data")
        generation += 1
        let stamp = String(format: "..2026_05_01_12_00_%02d.%09d", generation, Int.random(in: 0..<1_000_000_000))
        try manager.createDirectory(atPath: directory + "/" + stamp, withIntermediateDirectories: false)
        for (key, text) in files {
            let target = directory + "/" + stamp + "/" + key
            try text.write(toFile: target, atomically: false, encoding: .utf8)
            if keepTimes, let old {
                var info = stat()
                guard stat(directory + "/" + old + "/" + key, &info) == 0 else { continue }
                var times = [info.st_atim, info.st_mtim]
                _ = utimensat(AT_FDCWD, target, &times, 0)
            }
        }
        try manager.createSymbolicLink(atPath: directory + "/..data_tmp", withDestinationPath: stamp)
        guard rename(directory + "/..data_tmp", directory + "/..data") == 0 else {
            throw HarnessError("rename ..data_tmp over ..data failed: \(String(cString: strerror(errno)))")
        }
        if let old { try manager.removeItem(atPath: directory + "/" + old) }
    }
}

/// What `lstat` says of a link itself: what a reader that does not follow links would compare.
private func linkStamp(_ path: String) -> String {
    var info = stat()
    _ = lstat(path, &info)
    return "\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
}

/// An HTTP proxy in front of a real Prometheus that accepts only the bearer token currently issued
/// (like kube-rbac-proxy or an API gateway after a token rotation) and counts what it saw.
final class BearerAuthProxy: Sendable {
    let port: Int
    private let issued: Mutex<String>
    private let seen = Mutex<(accepted: [String: Int], refused: Int)>(([:], 0))
    private let task = Mutex<Task<Void, any Error>?>(nil)
    var url: String { "http://127.0.0.1:\(port)" }

    init(upstream: String, token: String) async throws {
        port = try freePort()
        issued = Mutex(token)
        let forward = CurlTransport(connection: PrometheusConnection(url: upstream, timeoutSeconds: 5))
        let router = Router()
        router.post("/api/v1/**") { [self] request, _ -> Response in
            let token = self.issued.withLock { $0 }
            guard request.headers[.authorization] == "Bearer \(token)" else {
                self.seen.withLock { $0.refused += 1 }
                return Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"error\",\"error\":\"unauthorized\"}")))
            }
            self.seen.withLock { $0.accepted[token, default: 0] += 1 }
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            let form = body.split(separator: "&").map { pair -> (String, String) in
                let parts = pair.split(separator: "=", maxSplits: 1).map {
                    String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
                }
                return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
            }
            let reply = try await forward.post(path: request.uri.path, form: form)
            return Response(
                status: .init(code: reply.status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
        }
        var logger = Logger(label: "auth-proxy")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        task.withLock { $0 = Task { try await app.runService() } }
        try await waitUntil(timeout: 10) { await httpStatus("http://127.0.0.1:\(self.port)/-/none") != nil }
    }

    /// From now on only `token` is accepted.
    func issue(_ token: String) { issued.withLock { $0 = token } }
    /// Requests accepted with `token`.
    func accepted(_ token: String) -> Int { seen.withLock { $0.accepted[token] ?? 0 } }
    /// Requests refused.
    var refused: Int { seen.withLock { $0.refused } }

    deinit { task.withLock { $0?.cancel() } }
}

/// Every secret the service reads (Prometheus bearer token, CA, client certificate and key, wake
/// token) is rotated through a kubelet `..data` swap while the service runs: it keeps working
/// without a restart, because "changed" is judged on the file the link resolves to.
@Suite(.serialized)
struct SecretRotationTests {
    @Test func aTokenBehindASwappedDataLinkIsReadAgainAtItsNextUse() throws {
        var volume = try KubeletSecretVolume(["token": "token-aaaa"])
        let token = TokenFile(path: volume.path("token"))
        #expect(try token.current() == "token-aaaa")
        let linkBefore = linkStamp(volume.path("token"))
        // Same length, same modification time: only the file the link resolves to differs.
        try volume.update(["token": "token-bbbb"], keepTimes: true)
        #expect(linkStamp(volume.path("token")) == linkBefore, "the link itself must not show the rotation")
        #expect(try token.current() == "token-bbbb")
        try volume.update(["token": "token-cccc\n"], keepTimes: true)
        #expect(try token.current() == "token-cccc")
    }

    @Test func aMissingTokenFileIsAnErrorNamingTheFile() {
        let token = TokenFile(path: "/nonexistent/rr/token")
        #expect(throws: SecretFileError.self) { try token.current() }
        #expect((try? token.current()) == nil)
    }

    @Test func prometheusQueriesKeepSucceedingAcrossABearerTokenRotation() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let proxy = try await BearerAuthProxy(upstream: prometheus.url, token: "first-token-0001")
        var volume = try KubeletSecretVolume(["token": "first-token-0001"])

        let configDirectory = NSTemporaryDirectory() + "rr-rotation-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: configDirectory, withIntermediateDirectories: true)
        try "model_id: org/rotation\nnamespace: rot\nenable_scale_to_zero: true\nretention_period: 1m\n"
            .write(toFile: configDirectory + "/m", atomically: true, encoding: .utf8)
        var configuration = ServerConfiguration(configPath: configDirectory, prometheusURL: proxy.url)
        configuration.host = "127.0.0.1"
        configuration.port = try freePort()
        configuration.interval = .milliseconds(300)
        configuration.prometheus.bearerTokenFile = volume.path("token")
        configuration.prometheus.timeoutSeconds = 3
        configuration.retry = RetryPolicy(attempts: 1)
        let server = startServer(configuration)
        defer { server.cancel() }
        let base = "http://127.0.0.1:\(configuration.port)"
        try await waitUntil(timeout: 20) { await httpStatus(base + "/readyz") == 200 }
        #expect(proxy.accepted("first-token-0001") > 0)
        #expect(proxy.refused == 0)

        // The issuer rotates: only the new token is accepted; queries fail until the volume follows.
        proxy.issue("second-token-002")
        try await waitUntil(timeout: 5) { proxy.refused > 0 }
        try volume.update(["token": "second-token-002"], keepTimes: true)
        // From the next query on the new token is sent, with no restart.
        try await waitUntil(timeout: 5) { proxy.accepted("second-token-002") > 0 }
        let refusedAfterSwap = proxy.refused
        let acceptedAfterSwap = proxy.accepted("second-token-002")
        try await Task.sleep(for: .seconds(2))
        #expect(proxy.refused == refusedAfterSwap, "queries were refused after the swap")
        #expect(proxy.accepted("second-token-002") >= acceptedAfterSwap + 5)
        #expect(await httpStatus(base + "/readyz") == 200)
    }

    @Test func aRotatedCAAndClientCertificateAreUsedWithoutRestart() async throws {
        let first = NSTemporaryDirectory() + "rr-tls-a-\(UUID().uuidString)"
        let second = NSTemporaryDirectory() + "rr-tls-b-\(UUID().uuidString)"
        for directory in [first, second] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try await offPool { try TLSTests.makeCertificates(in: directory) }
        }
        func read(_ directory: String, _ name: String) throws -> String { try String(contentsOfFile: directory + "/" + name, encoding: .utf8) }
        func payload(_ directory: String) throws -> [String: String] {
            ["ca.crt": try read(directory, "ca.crt"), "tls.crt": try read(directory, "client.crt"), "tls.key": try read(directory, "client.key")]
        }
        // The server side: Prometheus re-reads its web config and certificate files for every TLS
        // connection (prometheus/exporter-toolkit web/tls_config.go, GetConfigForClient).
        let serverFiles = NSTemporaryDirectory() + "rr-tls-server-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: serverFiles, withIntermediateDirectories: true)
        func serveWith(_ directory: String) throws {
            for (from, to) in [("server.crt", "server.crt"), ("server.key", "server.key"), ("ca.crt", "client-ca.crt")] {
                let temporary = serverFiles + "/." + to
                try read(directory, from).write(toFile: temporary, atomically: false, encoding: .utf8)
                guard rename(temporary, serverFiles + "/" + to) == 0 else { throw HarnessError("rename failed") }
            }
        }
        try serveWith(first)
        let web = """
            tls_server_config:
              cert_file: \(serverFiles)/server.crt
              key_file: \(serverFiles)/server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: \(serverFiles)/client-ca.crt
            """
        var volume = try KubeletSecretVolume(try payload(first))
        let prometheus = try await PrometheusServer(webConfig: web) { url in
            let probe = PrometheusClient(
                transport: CurlTransport(connection: PrometheusConnection(
                    url: url, caFile: first + "/ca.crt", clientCertFile: first + "/client.crt", clientKeyFile: first + "/client.key",
                    timeoutSeconds: 3)),
                retry: RetryPolicy(attempts: 1))
            return (try? await probe.query("vector(1)")) != nil
        }
        // One client for the whole test, as the service holds one.
        let service = PrometheusClient(
            transport: CurlTransport(connection: PrometheusConnection(
                url: prometheus.url, caFile: volume.path("ca.crt"), clientCertFile: volume.path("tls.crt"),
                clientKeyFile: volume.path("tls.key"), timeoutSeconds: 3)),
            retry: RetryPolicy(attempts: 1))
        #expect(try await service.query("vector(1)").map(\.value) == [1])

        // The server moves to a new CA: the old CA and client certificate no longer work...
        try serveWith(second)
        await #expect(throws: PrometheusError.self) { try await service.query("vector(2)") }
        // ...until the Secret volume is swapped to the new CA, certificate and key.
        try volume.update(try payload(second))
        #expect(try await service.query("vector(3)").map(\.value) == [3])
        for value in 4...6 { #expect(try await service.query("vector(\(value))").map(\.value) == [Double(value)]) }
    }

    @Test func wakeCallsFollowARotatedWakeToken() async throws {
        var volume = try KubeletSecretVolume(["wake-token": "wake-one-0001\n"])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let engine = Engine(options: EngineOptions(), logger: logger)
        let api = RecommenderAPI(engine: engine, clock: SystemTime(), options: APIOptions(wakeTokenFile: volume.path("wake-token")))
        let path = "/api/v1/models/ns/org%2Fm/wake"
        #expect(await api.wake(path: path, authorization: "Bearer wake-one-0001").status == 202)
        #expect(await api.wake(path: path, authorization: "Bearer wake-two-0002").status == 401)
        try volume.update(["wake-token": "wake-two-0002\n"], keepTimes: true)
        #expect(await api.wake(path: path, authorization: "Bearer wake-two-0002").status == 202)
        #expect(await api.wake(path: path, authorization: "Bearer wake-one-0001").status == 401)
    }
}
