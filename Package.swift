// swift-tools-version:6.2
// replica-recommender: desired replica counts (zero included) for vLLM models, from Prometheus
// signals and a per-model ConfigMap, exported for HPA or KEDA.

import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "replica-recommender",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "replica-recommender", targets: ["replica-recommender"]),
        .executable(name: "vllm-sim", targets: ["vllm-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Traits off: no swift-configuration, no FullFoundation; we need the router and server only.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        // The KEDA external scaler (gRPC). Its Swift code is generated once and committed
        // (Sources/ExternalScaler/Generated): no protoc plugin runs in a build.
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        // ConfigMap → validated entries → resolved per-model settings. Pure, no I/O but file reading.
        .target(
            name: "ModelConfig",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // Signals + settings + state + now → decision. Pure core.
        .target(
            name: "Recommendation",
            dependencies: ["ModelConfig"],
            swiftSettings: strict
        ),
        // The few libcurl entry points Swift cannot call directly (variadic curl_easy_setopt).
        .target(
            name: "CCurl",
            linkerSettings: [.linkedLibrary("curl")]
        ),
        // PromQL over HTTP (libcurl transport), typed results and errors.
        .target(
            name: "PrometheusClient",
            dependencies: ["CCurl"],
            swiftSettings: strict
        ),
        // HTML escaping and the style sheet shared by the status pages and the backtest report.
        .target(name: "HTMLPage", swiftSettings: strict),
        // Tick loop, inventory, wake API, exposition, routes, config watch.
        .target(
            name: "RecommenderService",
            dependencies: [
                "ModelConfig", "Recommendation", "PrometheusClient", "CCurl", "HTMLPage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // KEDA's external scaler (externalscaler.proto, gRPC) answered from the engine; in its own
        // target so that only the executable and its tests build gRPC.
        .target(
            name: "ExternalScaler",
            dependencies: [
                "ModelConfig", "RecommenderService",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Proto"],
            swiftSettings: strict
        ),
        // The command line: wiring only.
        .executableTarget(
            name: "replica-recommender",
            dependencies: [
                "ModelConfig", "Recommendation", "PrometheusClient", "RecommenderService", "Backtest", "ExternalScaler",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // zlib, for gzip-compressed traces.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Request history replayed through the decision core in virtual time: the world (replicas,
        // cold starts, the gateway queue), Prometheus' view of it, reports; traces and fleets.
        .target(
            name: "Backtest",
            dependencies: ["ModelConfig", "Recommendation", "PrometheusClient", "CZlib", "HTMLPage", "VLLMSimulator"],
            swiftSettings: strict
        ),
        // The vLLM traffic simulator: scenario, replicas, gateway queue, statistics (no I/O).
        .target(
            name: "VLLMSimulator",
            dependencies: ["ModelConfig", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // The simulator's executable: serves /metrics like vLLM pods and the gateway, follows the
        // recommendation from Prometheus like KEDA would.
        .executableTarget(
            name: "vllm-sim",
            dependencies: [
                "VLLMSimulator", "PrometheusClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Deterministic fault simulation in virtual time: the real engine, core, signal collection and
        // config handling against a simulated TSDB (behind the transport seam), fleet and autoscaler;
        // randomized schedules of faults, edits and restarts; invariants at every step; shrinking.
        .target(
            name: "FaultSimulation",
            dependencies: [
                "ModelConfig", "Recommendation", "PrometheusClient", "RecommenderService", "VLLMSimulator",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Quality bars of the spec as measured figures: `swift run -c release rr-bench`.
        .executableTarget(
            name: "rr-bench",
            dependencies: [
                "ModelConfig", "Recommendation", "RecommenderService", "PrometheusClient", "FaultSimulation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/rr-bench",
            swiftSettings: strict
        ),
        // The keep-alive measurements: the synthetic fleet under fixed and adaptive keep-alive.
        .executableTarget(
            name: "backtest-bench",
            dependencies: ["Backtest", "ModelConfig", "Recommendation"],
            path: "Benchmarks/backtest-bench",
            swiftSettings: strict
        ),
        .testTarget(name: "ModelConfigTests", dependencies: ["ModelConfig"], swiftSettings: strict),
        .testTarget(name: "RecommendationTests", dependencies: ["Recommendation", "ModelConfig"], swiftSettings: strict),
        .testTarget(name: "PrometheusClientTests", dependencies: ["PrometheusClient"], swiftSettings: strict),
        .testTarget(name: "VLLMSimulatorTests", dependencies: ["VLLMSimulator"], swiftSettings: strict),
        .testTarget(name: "BacktestTests", dependencies: ["Backtest", "Recommendation", "ModelConfig", "VLLMSimulator"], swiftSettings: strict),
        .testTarget(
            name: "FaultSimulationTests",
            dependencies: ["FaultSimulation", "RecommenderService", "PrometheusClient", "ModelConfig", "Recommendation"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ExternalScalerTests",
            dependencies: [
                "ExternalScaler", "RecommenderService", "ModelConfig", "Recommendation", "PrometheusClient",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ChartTests",
            dependencies: ["ModelConfig", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RecommenderServiceTests",
            dependencies: [
                "RecommenderService", "PrometheusClient", "Recommendation", "ModelConfig", "Backtest",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ]
)
