import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The time-series database behind the PromQL API a test runs against.
enum Backend: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Debian's `prometheus`.
    case prometheus
    /// Debian's `victoria-metrics` single-node server, scraping with the same Prometheus scrape
    /// configuration (`-promscrape.config`).
    case victoriaMetrics

    var description: String { rawValue }
}

/// A real Prometheus server (the Debian `prometheus` package), or a VictoriaMetrics single-node
/// server (`victoria-metrics`), on 127.0.0.1, scraping every second the targets tests register
/// through file-based service discovery.
final class PrometheusServer: @unchecked Sendable {
    // @unchecked: `process` is set once in init and only read afterwards; the directory is immutable.
    let port: Int
    let directory: String
    private let process: Process

    let scheme: String
    let backend: Backend
    var url: String { "\(scheme)://127.0.0.1:\(port)" }

    /// Starts the server; `webConfig` (a Prometheus `--web.config.file` YAML, e.g. TLS) is optional;
    /// `backfill` (OpenMetrics text, Prometheus only) is written into its storage with `promtool
    /// tsdb create-blocks-from openmetrics` before it starts: history a test can query.
    init(
        backend: Backend = .prometheus, webConfig: String? = nil, backfill: String? = nil,
        readiness: (@Sendable (String) async -> Bool)? = nil
    ) async throws {
        self.backend = backend
        directory = NSTemporaryDirectory() + "rr-prometheus-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/targets", withIntermediateDirectories: true)
        if let backfill {
            try backfill.write(toFile: directory + "/backfill.om", atomically: true, encoding: .utf8)
            let promtool = Process()
            promtool.executableURL = URL(fileURLWithPath: try which("promtool"))
            promtool.arguments = ["tsdb", "create-blocks-from", "openmetrics", directory + "/backfill.om", directory + "/data"]
            promtool.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            try promtool.run()
            try await offPool { promtool.waitUntilExit() }
            guard promtool.terminationStatus == 0 else { throw HarnessError("promtool could not backfill the history") }
        }
        let config = """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: test
                honor_labels: true
                file_sd_configs:
                  - files: ['\(directory)/targets/*.json']
                    refresh_interval: 1s
            """
        try config.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        port = try freePort()
        scheme = webConfig == nil ? "http" : "https"
        var extra: [String] = []
        if let webConfig {
            try webConfig.write(toFile: directory + "/web.yml", atomically: true, encoding: .utf8)
            extra.append("--web.config.file=\(directory)/web.yml")
        }
        process = Process()
        // A watchdog shell owns Prometheus: it stops it when told to (stop()) and when the test
        // process is gone, so no server outlives a test run, even one that crashed.
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c",
            """
            "$0" "$@" & server=$!
            trap 'kill $server 2>/dev/null; wait $server; exit 0' TERM INT
            while kill -0 \(getpid()) 2>/dev/null && kill -0 $server 2>/dev/null; do sleep 0.5; done
            kill $server 2>/dev/null; wait $server
            """,
        ] + (try Self.command(backend, directory: directory, port: port)) + extra
        let log = FileHandle(forWritingAtPath: "/dev/null")
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let readyPath = backend == .prometheus ? "/-/ready" : "/health"
        let ready = readiness ?? { url in await httpStatus(url + readyPath) == 200 }
        let url = self.url
        // Generous: on a 2-core CI machine running the whole suite in parallel, a server that
        // replays a backfilled block has been seen to need more than 30 s to report ready.
        try await waitUntil(timeout: 90) { await ready(url) }
    }

    /// The server's command line. VictoriaMetrics reads the same scrape configuration; it rejects
    /// Prometheus-only fields unless told not to, and re-reads file-SD files every 5 minutes unless
    /// told otherwise.
    private static func command(_ backend: Backend, directory: String, port: Int) throws -> [String] {
        switch backend {
        case .prometheus:
            [try which("prometheus"),
             "--config.file=\(directory)/prometheus.yml", "--web.listen-address=127.0.0.1:\(port)",
             "--storage.tsdb.path=\(directory)/data", "--log.level=warn"]
        case .victoriaMetrics:
            [try which("victoria-metrics"),
             "-promscrape.config=\(directory)/prometheus.yml", "-promscrape.config.strictParse=false",
             "-promscrape.fileSDCheckInterval=1s", "-httpListenAddr=127.0.0.1:\(port)",
             "-storageDataPath=\(directory)/data", "-loggerLevel=ERROR"]
        }
    }

    /// Registers a scrape target (`127.0.0.1:PORT`); Prometheus picks it up within about a second.
    func addTarget(port targetPort: Int, name: String) throws {
        let json = "[{\"targets\": [\"127.0.0.1:\(targetPort)\"], \"labels\": {\"target\": \"\(name)\"}}]"
        let temporary = directory + "/targets/.\(name).tmp"
        try json.write(toFile: temporary, atomically: true, encoding: .utf8)
        try FileManager.default.moveItem(atPath: temporary, toPath: directory + "/targets/\(name).json")
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// The shared server of each backend for tests that only add series (each test uses its own model
/// names).
actor SharedPrometheus {
    static let instance = SharedPrometheus()
    private var servers: [Backend: PrometheusServer] = [:]

    func get(_ backend: Backend = .prometheus) async throws -> PrometheusServer {
        if let server = servers[backend] { return server }
        let started = try await PrometheusServer(backend: backend)
        servers[backend] = started
        return started
    }
}

/// A free TCP port on 127.0.0.1 (bound then released).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw HarnessError("cannot find a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The path of an executable on PATH.
func which(_ name: String) throws -> String {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        let path = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    throw HarnessError("\(name) is not installed (scripts/setup installs it)")
}

/// Polls `condition` every 100 ms until it holds or `timeout` seconds pass. It is asked once more
/// after the deadline: a test starved of threads past its deadline still sees what happened.
func waitUntil(timeout: Double, _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    if try await condition() { return }
    throw HarnessError("condition not met within \(timeout)s")
}

/// Runs blocking work (a child process to its end) on a thread of its own. Async tests share a pool
/// of one thread per core: on a 2-core machine, two tests waiting on `umoci unpack` or helm hold
/// every other test's timers and polls past their deadlines.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// An HTTP status code of a GET, or nil when the request failed.
func httpStatus(_ url: String) async -> Int? {
    guard let target = URL(string: url) else { return nil }
    let response = try? await URLSession.shared.data(from: target).1 as? HTTPURLResponse
    return response?.statusCode
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
