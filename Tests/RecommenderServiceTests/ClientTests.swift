import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing
import PrometheusClient

/// The libcurl transport against real servers.
struct ClientTests {
    @Test func realPrometheusAnswersVectorsScalarsNaNAndErrors() async throws {
        let prometheus = try await SharedPrometheus.instance.get()
        let client = PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(url: prometheus.url)))
        #expect(try await client.query("vector(3)").map(\.value) == [3])
        #expect(try await client.query("scalar(vector(2))").map(\.value) == [2])
        #expect(try await client.query("vector(0) / 0").first?.value.isNaN == true)
        #expect(try await client.query("absent_metric_for_test_xyz").isEmpty)
        await #expect {
            try await client.query("sum by (")
        } throws: { error in
            "\(error)".hasPrefix("Prometheus bad_data error (HTTP 400)")
        }
    }

    @Test func connectionRefusedIsATransportError() async {
        let client = PrometheusClient(
            transport: CurlTransport(connection: PrometheusConnection(url: "http://127.0.0.1:\(try! freePort())", timeoutSeconds: 1)),
            retry: RetryPolicy(attempts: 1))
        await #expect(throws: PrometheusError.self) { try await client.query("vector(1)") }
    }

    @Test func headersAndARotatedBearerTokenReachTheServer() async throws {
        let seen = Recorder()
        let router = Router()
        router.post("/prom/api/v1/query") { request, _ -> Response in
            seen.record(request.headers[.authorization] ?? "-", request.headers[HTTPFields.Element.Name("X-Scope-OrgID")!] ?? "-")
            let body = #"{"status":"success","data":{"resultType":"vector","result":[]}}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        var logger = Logger(label: "t")
        logger.logLevel = .critical
        let port = try freePort()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        let server = Task { try await app.runService() }
        defer { server.cancel() }
        try await waitUntil(timeout: 30) { await httpStatus("http://127.0.0.1:\(port)/") != nil }

        let tokenFile = NSTemporaryDirectory() + "rr-bearer-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: tokenFile) }
        try "first\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let client = PrometheusClient(transport: CurlTransport(connection: PrometheusConnection(
            url: "http://127.0.0.1:\(port)/prom", bearerTokenFile: tokenFile, headers: [("X-Scope-OrgID", "tenant-a")])))
        _ = try await client.query("up")
        try await Task.sleep(for: .milliseconds(20))
        try "second-longer\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        _ = try await client.query("up")
        #expect(seen.all == [["Bearer first", "tenant-a"], ["Bearer second-longer", "tenant-a"]])
    }
}

final class Recorder: Sendable {
    private let values = Mutex<[[String]]>([])
    func record(_ fields: String...) { values.withLock { $0.append(fields) } }
    var all: [[String]] { values.withLock { $0 } }
}
