import Foundation
import Testing
import ModelConfig
import Recommendation
@testable import RecommenderService

struct ConfigReloadTests {
    @Test func badConfigMapEditKeepsTheLastGoodConfiguration() async throws {
        // No Prometheus needed: the configuration path only.
        let rig = try await Rig(
            prometheusURL: "http://127.0.0.1:1",
            config: ["default": enabled("5m"), "m": "model_id: org/m\nnamespace: prod\nenable_scale_to_zero: false\n"])
        try rig.write(["default": enabled("5m"), "m": "model_id: org/m\nnamespace: prod\nenable_scale_to_zero: nope\n"])
        await rig.watcher.load()

        let config = try #require(await rig.engine.config)
        #expect(config.retainedKeys == ["m"])
        let resolved = ConfigResolver(config: config, environmentScaleToZero: nil).resolve(ModelKey(namespace: "prod", modelID: "org/m"))
        #expect(resolved.enableScaleToZero == false)
        #expect(resolved.sources[.enableScaleToZero] == .override(key: "m"))
        let metrics = await rig.engine.renderMetrics()
        #expect(metrics.contains("recommender_config_errors 1\n"))
        #expect(metrics.contains("recommender_config_reloads_total{result=\"failure\"} 1\n"))
        let detail = await rig.engine.readiness().detail.joined(separator: "\n")
        #expect(detail.contains("config: 1 error(s), last good versions in force: \(rig.configDirectory)/m:3: m: enable_scale_to_zero: expected a boolean (true or false), found \"nope\""))
    }

    @Test func unreadableConfigMapKeepsTheConfigurationInForce() async throws {
        let rig = try await Rig(prometheusURL: "http://127.0.0.1:1", config: ["default": enabled("5m")])
        try FileManager.default.removeItem(atPath: rig.configDirectory)
        await rig.watcher.load()
        #expect(await rig.engine.config?.defaults?.settings.retentionPeriod?.seconds == 300)
        #expect(await rig.engine.renderMetrics().contains("recommender_config_reloads_total{result=\"failure\"} 1\n"))
    }

    @Test func configWatcherPicksUpAnEditWithoutRestart() async throws {
        let rig = try await Rig(prometheusURL: "http://127.0.0.1:1", config: ["default": enabled("5m")])
        let task = Task { try await rig.watcher.run() }
        defer { task.cancel() }
        try await Task.sleep(for: .milliseconds(300))
        try rig.write(["default": enabled("7m")])
        // Picked up, not how fast: the watcher polls every 100 ms; a loaded machine may hold it longer.
        try await waitUntil(timeout: 30) { await rig.engine.config?.defaults?.settings.retentionPeriod?.seconds == 420 }
    }
}
