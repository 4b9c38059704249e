// Measures the quality bars of the spec (§10) and prints a table: min / median / max.
//   swift run -c release rr-bench [--models 10000] [--runs 30]
//   swift run -c release rr-bench faults [--schedules N] [--seed S]   (the fault simulation, Faults.swift)
import Foundation
import Hummingbird
import Logging
import ModelConfig
import PrometheusClient
import Recommendation
import RecommenderService
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

let arguments = CommandLine.arguments
if arguments.count > 1, arguments[1] == "faults" { exit(await runFaultsCommand(Array(arguments.dropFirst(2)))) }
func argument(_ name: String, _ fallback: Int) -> Int {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let value = Int(arguments[index + 1]) else { return fallback }
    return value
}
let modelCount = argument("--models", 10_000)
let runs = argument("--runs", 30)

@_silgen_name("malloc_trim") func malloc_trim(_ pad: Int) -> Int32

/// Resident set size after returning freed heap pages to the system (so garbage is not counted).
func residentBytes() -> Int {
    _ = malloc_trim(0)
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
        let pages = Int(text.split(separator: " ")[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func measure(_ runs: Int, _ body: () async throws -> Void) async rethrows -> [Double] {
    var samples: [Double] = []
    for _ in 0..<runs {
        let start = ContinuousClock.now
        try await body()
        let elapsed = ContinuousClock.now - start
        samples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
    }
    return samples.sorted()
}

func percentile(_ sorted: [Double], _ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))] }
func row(_ name: String, _ samples: [Double], unit: String = "ms", target: String) {
    let f = { (v: Double) in String(format: "%.3f", v) }
    print("| \(name) | \(f(samples.first!)) | \(f(percentile(samples, 0.5))) | \(f(samples.last!)) | \(unit) | \(target) |")
}

var logger = Logger(label: "bench")
logger.logLevel = .critical

print("replica-recommender benchmarks: \(modelCount) models, \(runs) runs, \(ProcessInfo.processInfo.activeProcessorCount) cores")
print("| measure | min | median | max | unit | target |")
print("|---|---|---|---|---|---|")

// 1. Parsing a ConfigMap with one override entry per model.
let entries = (0..<modelCount).map { i in
    RawEntry(key: "m\(i)", text: "model_id: org/model-\(i)\nnamespace: ns\(i % 20)\nenable_scale_to_zero: true\nretention_period: \(1 + i % 3)m\n", location: EntryLocation(file: "m\(i)"))
} + [RawEntry(key: "default", text: "enable_scale_to_zero: true\nretention_period: 15m\n", location: EntryLocation(file: "default"))]
let rssBeforeParse = residentBytes()
var parsed: ModelConfigSet?
let parseSamples = await measure(max(3, runs / 10)) { parsed = ModelConfigSet.build(entries: entries, previous: nil) }
row("parse ConfigMap, \(modelCount) overrides", parseSamples, target: "—")
print("| parse ConfigMap: resident memory growth | \(String(format: "%.1f", Double(residentBytes() - rssBeforeParse) / 1_048_576)) | | | MB | — |")

// 2. The pure decision pass.
let resolver = ConfigResolver(config: parsed!, environmentScaleToZero: true)
let keys = (0..<modelCount).map { ModelKey(namespace: "ns\($0 % 20)", modelID: "org/model-\($0)") }
let inputs = keys.enumerated().map { i, key in
    DecisionInput(
        config: resolver.resolve(key),
        signals: ModelSignals(requests: Double(i % 3), running: Double(i % 5 == 0 ? 1 : 0), waiting: 0, ready: 1, kvCacheUsage: 0.2, demand: 0, gatewayRequests: 0, gatewaySeen: true),
        state: ModelState(desired: 1, observedSince: Instant(seconds: 0)))
}
let decisionSamples = await measure(runs) { _ = Recommender.recommend(inputs, policy: Policy(), now: Instant(seconds: 100)) }
row("decision pass, \(modelCount) models", decisionSamples, target: "< 5 ms median")

// 3. The engine: tick application and /metrics rendering.
let baseline = residentBytes()
// The wake rows below adopt 4,000 unknown models: no adoption bound here.
let engine = Engine(options: EngineOptions(environmentScaleToZero: true, wakeMaxAdopted: 1_000_000), logger: logger)
await engine.loadConfig(entries, now: Instant(seconds: 0))
await engine.recover(.success([:]), now: Instant(seconds: 0))
var values: [ModelKey: Double] = [:]
for key in keys { values[key] = 1 }
let retentions = Set((1...3).map { ConfigDuration(seconds: Int64($0 * 60)) }).union([ConfigDuration(seconds: 900)])
var requests: [ConfigDuration: Result<[ModelKey: Double], PrometheusError>] = [:]
for retention in retentions { requests[retention] = .success([:]) }
let fleet = FleetSignals(
    requests: requests, running: .success([:]), waiting: .success([:]), ready: .success(values), kvCache: .success([:]),
    demand: .success([:]))
var now = 1.0
let tickSamples = await measure(runs) {
    now += 1
    await engine.tick(fleet, outcomes: [], duration: 0, now: Instant(seconds: now))
}
row("engine tick (inventory + decisions + state), \(modelCount) models", tickSamples, target: "—")
var page = ""
let afterTicks = residentBytes()
let renderSamples = await measure(runs) { page = await engine.renderMetrics() }
row("render /metrics, \(modelCount) models (\(page.utf8.count / 1024) KiB)", renderSamples, target: "< 10 ms median")
print("| resident memory above baseline, \(modelCount) known models (engine state) | \(String(format: "%.1f", Double(afterTicks - baseline) / 1_048_576)) | | | MB | < 32 MB |")
print("| resident memory above baseline, with the last rendered page held | \(String(format: "%.1f", Double(residentBytes() - baseline) / 1_048_576)) | | | MB | < 32 MB |")
print("| queries per tick (\(retentions.count) distinct retention periods) | \(retentions.count + 5) | | | queries | ≤ retentions + 6 |")

// 3b. The status pages, at the engine's own time.
struct EngineClock: TimeSource {
    let seconds: Double
    func now() -> Instant { Instant(seconds: seconds) }
}
let statusAPI = RecommenderAPI(engine: engine, clock: EngineClock(seconds: now), options: APIOptions())
var statusPage = ""
let fleetSamples = await measure(runs) { statusPage = await statusAPI.fleetPage(query: "").body }
row("render status page GET / (summary + first 100 of \(modelCount) models, \(statusPage.utf8.count / 1024) KiB)", fleetSamples, target: "< 50 ms median")
let sortedSamples = await measure(runs) { statusPage = await statusAPI.fleetPage(query: "sort=zero&order=desc").body }
row("render status page sorted by time to zero (all \(modelCount) sorted)", sortedSamples, target: "< 50 ms median")
let searchSamples = await measure(runs) { statusPage = await statusAPI.fleetPage(query: "q=MODEL-99&per=1000").body }
row("render status page filtered by text, up to 1000 a page (\(statusPage.utf8.count / 1024) KiB)", searchSamples, target: "< 50 ms median")
let modelSamples = await measure(runs) { statusPage = await statusAPI.modelPage(path: "/models/ns7/org%2Fmodel-4567").body }
guard statusPage.contains("<svg") else { fatalError("model page without chart") }
row("render a model's page (configuration, signals, chart)", modelSamples, target: "< 5 ms median")
// Chart memory: every model's recommendation flapping at every tick fills every ring.
let beforeHistory = residentBytes()
let flapping = (1...2).map { replicas in
    FleetSignals(
        requests: requests, running: .success([:]), waiting: .success([:]), ready: .success(values.mapValues { _ in Double(replicas) }),
        kvCache: .success([:]), demand: .success([:]))
}
let flappingTicks = Engine.historyCapacity + 2
for tick in 0..<flappingTicks {
    now += 1
    await engine.tick(flapping[tick % 2], outcomes: [], duration: 0, now: Instant(seconds: now))
}
print("| chart history, every model's ring full (\(modelCount) models × \(Engine.historyCapacity) changes): bytes held | \(String(format: "%.1f", Double(await engine.historyBytes()) / 1_048_576)) | | | MB | — |")
print("| resident memory growth filling every ring (\(flappingTicks) ticks) | \(String(format: "%.1f", Double(residentBytes() - beforeHistory) / 1_048_576)) | | | MB | — |")

// 4. Wake call → new value on /metrics, over HTTP on loopback.
let api = RecommenderAPI(engine: engine, clock: SystemTime(), options: APIOptions(wakeRatePerSecond: 1e9, wakeBurst: 1e9))
let port = 18_000 + Int.random(in: 0..<2000)
let app = Application(router: api.router(), configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
let server = Task { try await app.runService() }
try await Task.sleep(for: .milliseconds(500))
let session = URLSession(configuration: .ephemeral)
func post(_ url: String) async throws -> Int {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = "POST"
    return (try await session.data(for: request).1 as! HTTPURLResponse).statusCode
}
// Fresh models at zero, each woken once.
let wakeCount = 1000
var wakeSamples: [Double] = []
for i in 0..<wakeCount {
    let id = "org/sleeper-\(i)"
    let start = ContinuousClock.now
    let status = try await post("http://127.0.0.1:\(port)/api/v1/models/wake/\(id.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)/wake")
    let metrics = await api.metrics().body  // what the next scrape returns
    let elapsed = ContinuousClock.now - start
    guard status == 202, metrics.contains("model_name=\"\(id)\"") else { fatalError("wake \(i) not visible (status \(status))") }
    wakeSamples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
}
wakeSamples.sort()
let f = { (v: Double) in String(format: "%.3f", v) }
print("| wake call (HTTP) → value on /metrics, \(wakeCount) calls, \(modelCount)+ models | \(f(wakeSamples.first!)) | p50 \(f(percentile(wakeSamples, 0.5))) | p99 \(f(percentile(wakeSamples, 0.99))) | ms | p99 < 5 ms (spec: < 50 ms) |")
var handlerSamples: [Double] = []
for i in 0..<wakeCount {
    let start = ContinuousClock.now
    _ = await api.wake(path: "/api/v1/models/wake2/org%2Fm\(i)/wake", authorization: nil)
    let elapsed = ContinuousClock.now - start
    handlerSamples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
}
handlerSamples.sort()
print("| wake handler alone (value set in the engine), \(wakeCount) calls | \(f(handlerSamples.first!)) | p50 \(f(percentile(handlerSamples, 0.5))) | p99 \(f(percentile(handlerSamples, 0.99))) | ms | — |")

/// A minimal blocking HTTP/1.1 client on a POSIX socket: one request per connection, reads the
/// whole response. It keeps the client's own overhead out of the latency measured.
func rawRequest(port: Int, _ method: String, _ path: String) -> (status: Int, body: [UInt8]) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return (0, []) }
    let request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = recv(fd, &buffer, buffer.count, 0)
        if count <= 0 { break }
        response.append(contentsOf: buffer[0..<count])
    }
    let text = String(decoding: response.prefix(16), as: UTF8.self)
    let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
    guard let end = response.firstRange(of: Array("\r\n\r\n".utf8)) else { return (status, []) }
    return (status, Array(response[end.upperBound...]))
}

var rawSamples: [Double] = []
for i in 0..<wakeCount {
    let id = "org/raw-\(i)"
    let start = ContinuousClock.now
    let status = rawRequest(port: port, "POST", "/api/v1/models/wake3/org%2Fraw-\(i)/wake").status
    let page = rawRequest(port: port, "GET", "/metrics").body
    let elapsed = ContinuousClock.now - start
    guard status == 202, page.firstRange(of: Array("model_name=\"\(id)\"".utf8)) != nil else { fatalError("raw wake \(i) not visible") }
    rawSamples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
}
rawSamples.sort()
print("| wake POST + GET of the whole 2.5 MB /metrics page, raw socket client, 1000 calls | \(f(rawSamples.first!)) | p50 \(f(percentile(rawSamples, 0.5))) | p99 \(f(percentile(rawSamples, 0.99))) | ms | p99 < 5 ms |")
var postSamples: [Double] = []
for i in 0..<wakeCount {
    let start = ContinuousClock.now
    let status = rawRequest(port: port, "POST", "/api/v1/models/wake4/org%2Fpost-\(i)/wake").status
    let elapsed = ContinuousClock.now - start
    guard status == 202 else { fatalError("wake \(i): \(status)") }
    postSamples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
}
postSamples.sort()
// The value is set before the 202 is written: any scrape that starts after the reply sees it.
print("| wake POST round trip, raw socket client (value visible to any later scrape), 1000 calls | \(f(postSamples.first!)) | p50 \(f(percentile(postSamples, 0.5))) | p99 \(f(percentile(postSamples, 0.99))) | ms | p99 < 5 ms |")
server.cancel()
