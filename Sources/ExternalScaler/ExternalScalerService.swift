import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import ModelConfig
import RecommenderService
import ServiceLifecycle

/// KEDA's external scaler (`externalscaler.proto` of KEDA v2.20.1), answered from the engine: the
/// consumer reads the recommendation straight from the recommender, without Prometheus in between.
///
/// A ScaledObject names its model in the trigger's metadata: `model` (the model id, required) and
/// `namespace` (the model's namespace; the ScaledObject's own when absent).
///
/// - `IsActive`: the recommendation is ≥ 1.
/// - `StreamIsActive` (trigger type `external-push`): the current activity when the stream opens,
///   then a message the moment it changes — a tick, a wake call or polled gateway demand taking
///   the recommendation from 0 to ≥ 1 (or back). KEDA scales a ScaledObject at once on each
///   message (`pkg/scaling/scale_handler.go`, `startPushScalers` → `RequestScale`).
/// - `GetMetricSpec`: one metric, ``metricName``, target 1 (AverageValue): replicas = the value.
/// - `GetMetrics`: the recommendation itself.
///
/// A model the recommender does not know, or has not decided yet, is an error (`NOT_FOUND`,
/// `UNAVAILABLE`), never 0: KEDA treats a scaler error as a failing trigger and, without a
/// `fallback`, leaves the replicas as they are (`pkg/scaling/executor/scale_scaledobjects.go`) —
/// the model is held, not scaled to zero.
public struct ExternalScalerService: Externalscaler_ExternalScaler.SimpleServiceProtocol {
    let engine: Engine

    /// The metric name `GetMetricSpec` announces (KEDA prefixes it with the trigger index).
    public static let metricName = "inferno_desired_replicas"

    /// Creates the service over `engine`.
    public init(engine: Engine) {
        self.engine = engine
    }

    /// The model a ScaledObject's trigger names.
    static func model(_ reference: Externalscaler_ScaledObjectRef) throws(RPCError) -> ModelKey {
        let model = reference.scalerMetadata["model"]?.trimmingCharacters(in: .whitespaces) ?? ""
        guard !model.isEmpty else {
            throw RPCError(
                code: .invalidArgument,
                message: "ScaledObject \(reference.namespace)/\(reference.name): trigger metadata 'model' (the model id, e.g. meta/llama-3.1-8b) is missing or empty")
        }
        let given = reference.scalerMetadata["namespace"]?.trimmingCharacters(in: .whitespaces) ?? ""
        let namespace = given.isEmpty ? reference.namespace : given
        guard !namespace.isEmpty else {
            throw RPCError(
                code: .invalidArgument,
                message: "ScaledObject \(reference.name): no namespace for model \(model) (trigger metadata 'namespace', or the ScaledObject's own)")
        }
        return ModelKey(namespace: namespace, modelID: model)
    }

    /// The recommendation of `key`, or the error that holds the consumer where it is.
    func desired(_ key: ModelKey) async throws(RPCError) -> Int {
        guard await engine.knows(key) else {
            throw RPCError(
                code: .notFound,
                message: "model \(key.modelID) in namespace \(key.namespace) is not known to the recommender (not in the model ConfigMap, not seen in vLLM or gateway series): check the trigger's 'model' and 'namespace'; KEDA keeps the replicas as they are")
        }
        guard let desired = await engine.decision(for: key)?.desired else {
            throw RPCError(
                code: .unavailable,
                message: "model \(key.modelID) in namespace \(key.namespace) has no recommendation yet (configuration, restart recovery or the first tick pending)")
        }
        return desired
    }

    /// `IsActive`: whether the model is recommended at least one replica.
    public func isActive(request: Externalscaler_ScaledObjectRef, context: ServerContext) async throws -> Externalscaler_IsActiveResponse {
        let desired = try await desired(try Self.model(request))
        return .with { $0.result = desired > 0 }
    }

    /// `StreamIsActive`: the current activity, then every change of it, until the stream ends.
    public func streamIsActive(
        request: Externalscaler_ScaledObjectRef, response: RPCWriter<Externalscaler_IsActiveResponse>, context: ServerContext
    ) async throws {
        let key = try Self.model(request)
        guard await engine.knows(key) else { _ = try await desired(key); return }
        var sent: Bool?
        for await desired in await engine.recommendations(of: key) {
            let active = desired > 0
            guard active != sent else { continue }
            try await response.write(.with { $0.result = active })
            sent = active
        }
    }

    /// `GetMetricSpec`: ``metricName`` with target 1.
    public func getMetricSpec(request: Externalscaler_ScaledObjectRef, context: ServerContext) async throws -> Externalscaler_GetMetricSpecResponse {
        _ = try Self.model(request)
        return .with {
            $0.metricSpecs = [.with {
                $0.metricName = Self.metricName
                $0.targetSize = 1
                $0.targetSizeFloat = 1
            }]
        }
    }

    /// `GetMetrics`: the recommendation, under the metric name KEDA asks for.
    public func getMetrics(request: Externalscaler_GetMetricsRequest, context: ServerContext) async throws -> Externalscaler_GetMetricsResponse {
        let desired = try await desired(try Self.model(request.scaledObjectRef))
        return .with {
            $0.metricValues = [.with {
                $0.metricName = request.metricName.isEmpty ? Self.metricName : request.metricName
                // KEDA reads metricValueFloat when it is > 0, metricValue otherwise (external_scaler.go).
                $0.metricValue = Int64(desired)
                $0.metricValueFloat = Double(desired)
            }]
        }
    }
}

/// The external scaler's gRPC server (HTTP/2, plaintext) as a service of the recommender's group:
/// it stops on graceful shutdown, ending open streams (KEDA reconnects, to another replica through
/// the Service).
public struct ExternalScalerServer: Service {
    let engine: Engine
    let host: String
    let port: Int
    let logger: Logger
    let onListening: @Sendable (Int) async -> Void

    /// Creates the server; `onListening` receives the bound port (0 picks a free one).
    public init(engine: Engine, host: String, port: Int, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) {
        self.engine = engine
        self.host = host
        self.port = port
        self.logger = logger
        self.onListening = onListening
    }

    /// Serves until graceful shutdown.
    public func run() async throws {
        let server = GRPCServer(
            transport: .http2NIOPosix(address: .ipv4(host: host, port: port), transportSecurity: .plaintext),
            services: [ExternalScalerService(engine: engine)])
        let engine = self.engine
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                if let address = try await server.listeningAddress?.ipv4 {
                    logger.info("KEDA external scaler listening", metadata: ["address": "\(address.host):\(address.port)"])
                    await onListening(address.port)
                }
            }
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
            Task { await engine.endSubscriptions() }
        }
    }
}
