import ExternalScaler
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import ModelConfig
import Recommendation
import RecommenderService
import Synchronization
import Testing

/// The external scaler spoken to as KEDA does (`pkg/scalers/external_scaler.go` of KEDA v2.20.1):
/// a gRPC client over HTTP/2 calling `StreamIsActive`, `IsActive`, `GetMetricSpec` and
/// `GetMetrics` with the ScaledObject's reference and its trigger metadata.
@Suite struct ExternalScalerTests {
    static let model = ModelKey(namespace: "llm", modelID: "meta/llama-3.1-8b")

    /// An engine where `model` is configured and recommended 0: recovered at zero, then a tick
    /// where every signal is known and quiet and no replica runs.
    static func engineAtZero() async -> Engine {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let engine = Engine(options: EngineOptions(), logger: logger)
        let entry = "model_id: \(model.modelID)\nnamespace: \(model.namespace)\nenable_scale_to_zero: true\nretention_period: 5m\n"
        await engine.loadConfig([RawEntry(key: "m", text: entry, location: EntryLocation(file: "m"))], now: Instant(seconds: 0))
        await engine.recover(.success([model: 0]), now: Instant(seconds: 0))
        var fleet = FleetSignals(running: .success([:]), waiting: .success([:]), ready: .success([:]), kvCache: .success([:]), demand: .success([:]))
        for retention in await engine.retentionsInUse { fleet.requests[retention] = .success([:]) }
        await engine.tick(fleet, outcomes: [], duration: 0, now: Instant(seconds: 1))
        return engine
    }

    /// The ScaledObject reference KEDA sends: its own name and namespace, the trigger's metadata.
    static func reference(_ metadata: [String: String], namespace: String = "llm") -> Externalscaler_ScaledObjectRef {
        .with {
            $0.name = "llama-8b"
            $0.namespace = namespace
            $0.scalerMetadata = metadata.merging(["scalerAddress": "replica-recommender.monitoring:9090"]) { a, _ in a }
        }
    }

    /// Starts the scaler on a free port, runs `body` with a connected client, stops both.
    static func withScaler(
        _ engine: Engine, _ body: @Sendable @escaping (Externalscaler_ExternalScaler.Client<HTTP2ClientTransport.Posix>) async throws -> Void
    ) async throws {
        var logger = Logger(label: "scaler")
        logger.logLevel = .critical
        let port = Mutex<Int?>(nil)
        let server = ExternalScalerServer(engine: engine, host: "127.0.0.1", port: 0, logger: logger) { bound in port.withLock { $0 = bound } }
        let serving = Task { try await server.run() }
        defer { serving.cancel() }
        // Generous: the whole suite runs in parallel on two cores, and tests that wait on processes
        // can hold the cooperative threads for seconds.
        let deadline = ContinuousClock.now + .seconds(120)
        while port.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let bound = try #require(port.withLock { $0 })
        try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: bound), transportSecurity: .plaintext)) { client in
            try await body(Externalscaler_ExternalScaler.Client(wrapping: client))
            client.beginGracefulShutdown()
        }
    }

    @Test func streamIsActivePushesTheMomentAWakeTakesTheModelFromZero() async throws {
        let engine = await Self.engineAtZero()
        #expect(await engine.decision(for: Self.model)?.desired == 0)
        try await Self.withScaler(engine) { scaler in
            let received = Mutex<[(Bool, ContinuousClock.Instant)]>([])
            let reference = Self.reference(["model": Self.model.modelID, "namespace": Self.model.namespace])
            let stream = Task {
                try await scaler.streamIsActive(reference) { response in
                    for try await message in response.messages {
                        received.withLock { $0.append((message.result, .now)) }
                    }
                }
            }
            defer { stream.cancel() }
            // The current state first: inactive.
            try await waitFor { received.withLock { $0.count } == 1 }
            #expect(received.withLock { $0.map(\.0) } == [false])

            let woken = ContinuousClock.now
            _ = await engine.wake(Self.model, now: Instant(seconds: 2))
            try await waitFor { received.withLock { $0.count } == 2 }
            let (active, at) = received.withLock { $0[1] }
            #expect(active)
            // Not a poll away (KEDA's is 15 s): pushed at once (well under 50 ms on an idle machine,
            // measured by rr-bench; the bound only tells a push from a poll, on a 2-core machine
            // running the whole suite in parallel, where 2.3 s was seen).
            #expect(at - woken < .seconds(10), "pushed after \(at - woken)")

            // Polled by KEDA's scale loop too: the same answer, and the recommendation as the metric.
            #expect(try await scaler.isActive(reference).result)
            let metrics = try await scaler.getMetrics(.with {
                $0.scaledObjectRef = reference
                $0.metricName = ExternalScalerService.metricName
            })
            #expect(metrics.metricValues.map(\.metricValue) == [1])
            #expect(metrics.metricValues.map(\.metricValueFloat) == [1])
            #expect(metrics.metricValues.map(\.metricName) == [ExternalScalerService.metricName])
        }
    }

    @Test func polledGatewayDemandIsPushedWithoutATick() async throws {
        let engine = await Self.engineAtZero()
        try await Self.withScaler(engine) { scaler in
            let received = Mutex<[Bool]>([])
            let reference = Self.reference(["model": Self.model.modelID, "namespace": Self.model.namespace])
            let stream = Task {
                try await scaler.streamIsActive(reference) { response in
                    for try await message in response.messages { received.withLock { $0.append(message.result) } }
                }
            }
            defer { stream.cancel() }
            try await waitFor { received.withLock { $0 } == [false] }
            // What the gateway poller hands the engine: requests queued under the model id, no namespace label.
            let queued = GatewayPollOutcome(queued: [GatewayKey(namespace: nil, name: Self.model.modelID): 3], targets: 1, failures: [])
            #expect(await engine.gatewayPolled(queued, now: Instant(seconds: 2)) == [Self.model])
            try await waitFor { received.withLock { $0 } == [false, true] }
            #expect(await engine.decision(for: Self.model)?.reason == .wake)
            // Polled again while up: nothing new is decided, nothing new is pushed.
            #expect(await engine.gatewayPolled(queued, now: Instant(seconds: 3)).isEmpty)
            try await Task.sleep(for: .milliseconds(200))
            #expect(received.withLock { $0 } == [false, true])
        }
    }

    @Test func metricSpecIsOneReplicaPerUnitOfTheRecommendation() async throws {
        let engine = await Self.engineAtZero()
        try await Self.withScaler(engine) { scaler in
            // The namespace comes from the ScaledObject when the metadata does not say.
            let reference = Self.reference(["model": Self.model.modelID])
            let spec = try await scaler.getMetricSpec(reference)
            #expect(spec.metricSpecs.map(\.metricName) == [ExternalScalerService.metricName])
            #expect(spec.metricSpecs.map(\.targetSize) == [1])
            #expect(spec.metricSpecs.map(\.targetSizeFloat) == [1])
            #expect(try await scaler.isActive(reference).result == false)
            let metrics = try await scaler.getMetrics(.with { $0.scaledObjectRef = reference; $0.metricName = "s0-inferno_desired_replicas" })
            #expect(metrics.metricValues.map(\.metricValue) == [0])
            #expect(metrics.metricValues.map(\.metricName) == ["s0-inferno_desired_replicas"])
        }
    }

    @Test func unknownModelIsAnErrorThatHoldsTheConsumerNeverAZero() async throws {
        let engine = await Self.engineAtZero()
        try await Self.withScaler(engine) { scaler in
            let unknown = Self.reference(["model": "org/typo", "namespace": "llm"])
            for call in [
                { _ = try await scaler.isActive(unknown) },
                { _ = try await scaler.getMetrics(.with { $0.scaledObjectRef = unknown }) },
                { try await scaler.streamIsActive(unknown) { response in for try await _ in response.messages {} } },
            ] as [@Sendable () async throws -> Void] {
                let error = await #expect(throws: RPCError.self) { try await call() }
                #expect(error?.code == .notFound)
                #expect(error?.message.contains("org/typo in namespace llm is not known") == true)
            }
            let missing = await #expect(throws: RPCError.self) { _ = try await scaler.getMetricSpec(Self.reference([:])) }
            #expect(missing?.code == .invalidArgument)
            #expect(missing?.message.contains("trigger metadata 'model'") == true)
        }
    }

    @Test func modelKnownButNotYetDecidedIsUnavailable() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let engine = Engine(options: EngineOptions(), logger: logger)
        let entry = "model_id: \(Self.model.modelID)\nnamespace: \(Self.model.namespace)\n"
        await engine.loadConfig([RawEntry(key: "m", text: entry, location: EntryLocation(file: "m"))], now: Instant(seconds: 0))
        try await Self.withScaler(engine) { scaler in
            let error = await #expect(throws: RPCError.self) {
                _ = try await scaler.isActive(Self.reference(["model": Self.model.modelID]))
            }
            #expect(error?.code == .unavailable)
        }
    }
}

/// Polls `condition` every 10 ms for at most 60 s.
func waitFor(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(60)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw ScalerTestError() }
        try await Task.sleep(for: .milliseconds(10))
    }
}

struct ScalerTestError: Error {}
