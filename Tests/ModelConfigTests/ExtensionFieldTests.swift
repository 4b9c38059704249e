import Testing
@testable import ModelConfig

/// The fields for wake paths, adaptive keep-alive, aliases and saturation sizing: parsed, validated,
/// resolved per field with their sources, and explained.
struct ExtensionFieldTests {
    @Test func unsetFieldsResolveToTheSystemDefaults() {
        let resolved = resolve([:], model: "m")
        #expect(resolved.aliases == [])
        #expect(resolved.wakePath == .gateway)
        #expect(resolved.keepAlive == .fixed)
        #expect(resolved.coldStartCost == ConfigDuration(seconds: 600))
        #expect(resolved.minRetention == ConfigDuration(seconds: 60))
        #expect(resolved.prewarm == false)
        #expect(resolved.targetKVCacheUtilization == 0.8)
        #expect(resolved.maxWaitingPerReplica == 2)
        for field in [ConfigField.aliases, .wakePath, .keepAlive, .coldStartCost, .minRetentionPeriod,
                      .targetKVCacheUtilization, .maxWaitingPerReplica] {
            #expect(resolved.sources[field] == .system, "\(field)")
        }
        #expect(resolved.sources[.prewarm] == .derived)
    }

    @Test func everyFieldFallsThroughOnItsOwn() {
        let entries = [
            "default": """
                wake_path: api
                keep_alive: adaptive
                cold_start_cost: 20m
                min_retention_period: 2m
                target_kv_cache_utilization: 0.7
                max_waiting_per_replica: 0
                """,
            "m": "model_id: m\naliases: [m-lora, m-served]\ncold_start_cost: 90s\nprewarm: false",
            "m-prod": "model_id: m\nnamespace: prod\nwake_path: gateway\ntarget_kv_cache_utilization: 1",
        ]
        let resolved = resolve(entries, model: "m", namespace: "prod")
        #expect(resolved.aliases == ["m-lora", "m-served"])
        #expect(resolved.sources[.aliases] == .override(key: "m"))
        #expect(resolved.wakePath == .gateway)
        #expect(resolved.sources[.wakePath] == .override(key: "m-prod"))
        #expect(resolved.keepAlive == .adaptive)
        #expect(resolved.sources[.keepAlive] == .defaults)
        #expect(resolved.coldStartCost.seconds == 90)
        #expect(resolved.sources[.coldStartCost] == .override(key: "m"))
        #expect(resolved.minRetention.seconds == 120)
        #expect(resolved.sources[.minRetentionPeriod] == .defaults)
        #expect(resolved.prewarm == false)
        #expect(resolved.sources[.prewarm] == .override(key: "m"))
        #expect(resolved.targetKVCacheUtilization == 1)
        #expect(resolved.sources[.targetKVCacheUtilization] == .override(key: "m-prod"))
        #expect(resolved.maxWaitingPerReplica == 0)
        #expect(resolved.sources[.maxWaitingPerReplica] == .defaults)

        let elsewhere = resolve(entries, model: "m", namespace: "dev")
        #expect(elsewhere.wakePath == .api)
        #expect(elsewhere.sources[.wakePath] == .defaults)
        #expect(elsewhere.targetKVCacheUtilization == 0.7)
    }

    @Test(arguments: [
        ("keep_alive: adaptive", true, "derived"),
        ("keep_alive: fixed", false, "derived"),
        ("keep_alive: adaptive\nprewarm: false", false, "default"),
        ("keep_alive: fixed\nprewarm: true", true, "default"),
    ])
    func prewarmFollowsAdaptiveKeepAliveUnlessSet(text: String, prewarm: Bool, source: String) {
        let resolved = resolve(["default": text], model: "m")
        #expect(resolved.prewarm == prewarm)
        #expect(resolved.sources[.prewarm]?.description == source)
    }

    /// Each bad value, with the exact message `check-config` prints.
    @Test(arguments: [
        ("wake_path: sidecar", "cm/x:2: x: wake_path: expected one of `gateway` or `api`, found \"sidecar\""),
        ("wake_path: [api]", "cm/x:2: x: wake_path: expected one of `gateway` or `api`, found a list"),
        ("keep_alive: learned", "cm/x:2: x: keep_alive: expected one of `fixed` or `adaptive`, found \"learned\""),
        ("cold_start_cost: 0s", "cm/x:2: x: cold_start_cost: expected a duration greater than 0, found \"0s\""),
        ("cold_start_cost: 10",
         "cm/x:2: x: cold_start_cost: expected a duration such as 30s, 5m, 1h30m, 1.5h, 2d or 1w, found number 10 (a unit is required, e.g. 10s or 10m)"),
        ("min_retention_period: soon",
         "cm/x:2: x: min_retention_period: expected a duration such as 30s, 5m, 1h30m, 1.5h, 2d or 1w, found \"soon\""),
        ("min_retention_period: 10m\nretention_period: 5m",
         "cm/x:2: x: min_retention_period: min_retention_period (10m) is longer than retention_period (5m); expected min_retention_period ≤ retention_period"),
        ("prewarm: maybe", "cm/x:2: x: prewarm: expected a boolean (true or false), found \"maybe\""),
        ("target_kv_cache_utilization: 0",
         "cm/x:2: x: target_kv_cache_utilization: expected a number greater than 0 and at most 1 (a fraction such as 0.8), found number 0"),
        ("target_kv_cache_utilization: 80",
         "cm/x:2: x: target_kv_cache_utilization: expected a number greater than 0 and at most 1 (a fraction such as 0.8), found number 80 (a fraction, not a percentage: write 0.8)"),
        ("target_kv_cache_utilization: \"0.8\"",
         "cm/x:2: x: target_kv_cache_utilization: expected a number greater than 0 and at most 1 (a fraction such as 0.8), found string \"0.8\""),
        ("max_waiting_per_replica: -1", "cm/x:2: x: max_waiting_per_replica: expected a number ≥ 0, found number -1"),
        ("max_waiting_per_replica: .inf", "cm/x:2: x: max_waiting_per_replica: expected a number ≥ 0, found \".inf\""),
        ("aliases: m-lora",
         "cm/x:2: x: aliases: expected a list of names (like `[llama-8b, llama-8b-lora]`), found \"m-lora\" (write `[m-lora]` for a single name)"),
        ("aliases: [a, \"\"]", "cm/x:2: x: aliases: expected every item to be a non-empty name, found an empty value"),
        ("aliases: [a, {b: c}]", "cm/x:2: x: aliases: expected every item to be a name, found a mapping"),
        ("aliases:\n  - a\n  - ~", "cm/x:4: x: aliases: expected every item to be a non-empty name, found an empty value"),
    ])
    func badValuesAreErrorsNamingFieldLineAndExpectation(text: String, message: String) {
        let set = configSet(["x": "model_id: m\n" + text])
        #expect(set.problems.map(\.description) == [message])
        #expect(set.errorCount == 1)
        #expect(set.overrides.isEmpty)
    }

    @Test func minimumRetentionEqualToRetentionIsAccepted() {
        let set = configSet(["x": "model_id: m\nmin_retention_period: 5m\nretention_period: 300s"])
        #expect(set.problems.isEmpty)
    }

    @Test func minimumRetentionAboveAnInheritedRetentionIsBoundedAndExplained() {
        let entries = ["default": "min_retention_period: 20m", "x": "model_id: m\nretention_period: 5m"]
        let resolved = resolve(entries, model: "m")
        #expect(configSet(entries).problems.isEmpty)
        #expect(resolved.minRetention.seconds == 300)
        let resolver = ConfigResolver(config: configSet(entries), environmentScaleToZero: nil)
        let explanation = ConfigExplanation(resolved: resolved, resolver: resolver)
        #expect(explanation.notes.contains("min_retention_period 20m is longer than retention_period 5m: bounded to 5m"))
    }

    @Test func aliasesInDefaultAreIgnoredWithAWarningAndRepeatsAreWarned() {
        let set = configSet([
            "default": "aliases: [shared]",
            "x": "model_id: m\naliases: [a, a, m]",
        ])
        #expect(set.errorCount == 0)
        #expect(set.problems.map(\.description) == [
            "cm/default:1: warning: default: aliases: ignored in the default entry (every model would answer to the same names)",
            "cm/x:2: warning: x: aliases: `a` is listed twice",
            "cm/x:2: warning: x: aliases: `m` is the model_id itself; an alias names another name",
        ])
        #expect(set.defaults?.settings.aliases == nil)
        #expect(resolve(["x": "model_id: m\naliases: [a, a, m]"], model: "m").aliases == ["a", "m"])
    }

    @Test func anEmptyAliasListClearsNothingAndIsValid() {
        let resolved = resolve(["x": "model_id: m\naliases: []"], model: "m")
        #expect(resolved.aliases == [])
        #expect(resolved.sources[.aliases] == .override(key: "x"))
    }

    @Test func explanationShowsEveryNewFieldWithItsSource() throws {
        let entries = ["default": "keep_alive: adaptive", "x": "model_id: m\naliases: [m-lora]\nwake_path: api"]
        let resolver = ConfigResolver(config: configSet(entries), environmentScaleToZero: nil)
        let explanation = ConfigExplanation(resolved: resolver.resolve(ModelKey(namespace: "ns", modelID: "m")), resolver: resolver)
        #expect(explanation.sources["aliases"] == "override:x")
        #expect(explanation.sources["wake_path"] == "override:x")
        #expect(explanation.sources["keep_alive"] == "default")
        #expect(explanation.sources["prewarm"] == "derived")
        #expect(explanation.sources["cold_start_cost"] == "system")
        let json = explanation.json()
        for fragment in [
            "\"aliases\" : [\n    \"m-lora\"\n  ]", "\"wake_path\" : \"api\"", "\"keep_alive\" : \"adaptive\"",
            "\"cold_start_cost_seconds\" : 600", "\"min_retention_seconds\" : 60", "\"prewarm\" : true",
            "\"target_kv_cache_utilization\" : 0.8", "\"max_waiting_per_replica\" : 2",
        ] {
            #expect(json.contains(fragment), "\(fragment)")
        }
        let text = explanation.text()
        #expect(text.contains("wake_path                    api"))
        #expect(text.contains("prewarm                      true"))
        #expect(text.contains("note: prewarm follows keep_alive (adaptive): true"))
    }

    @Test func aResolvedConfigurationCanBeBuiltWithDefaultsForEveryNewField() {
        let built = ResolvedModelConfig(model: ModelKey(namespace: "ns", modelID: "org/m-1"), keepAlive: .adaptive)
        #expect(built.variantName == "m-1")
        #expect(built.prewarm)
        #expect(built.retention == ConfigResolver.systemRetention)
        #expect(built.minRetention.seconds == 60)
        #expect(built.wakePath == .gateway)
    }
}
